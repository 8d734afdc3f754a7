// _core.mcmc: Markov chains, driven in C++ for closed-form targets or phase by phase for
// targets that Python evaluates.
#include "common.hpp"
#include "gensample/gmm.hpp"
#include "gensample/mcmc.hpp"

namespace gensample::bindings {
namespace {

using mcmc::Chains;
using mcmc::Draws;
using mcmc::Settings;

// gensample/mcmc.py's settings dict: method, n_leapfrog, warmup, thin, n_kept,
// target_accept, and the warm-up schedule adapt (uint8) and da_iter (int32), (warmup,).
Settings settings_of(const py::dict& d) {
    const Named in(d, "settings");
    Settings s;
    s.method = in.value<mcmc::Method>("method");
    s.n_leapfrog = in.value<int>("n_leapfrog");
    s.warmup = in.value<int64_t>("warmup");
    s.thin = in.value<int64_t>("thin");
    s.n_kept = in.value<int64_t>("n_kept");
    s.target_accept = in.value<double>("target_accept");
    s.adapt = in.array<uint8_t>("adapt", {s.warmup});
    s.da_iter = in.array<int32_t>("da_iter", {s.warmup});
    return s;
}

// The chains' state (mcmc.hpp's Chains), arrays of the positions' dtype T and float64.
template <class T>
Chains<T> chains_of(const py::dict& d) {
    const Named in(d, "chains");
    Chains<T> c;
    c.n = -1, c.dim = -1;
    c.x = in.writable<T>("x", {&c.n, &c.dim});
    c.grad = in.writable<T>("grad", {&c.n, &c.dim});
    c.logp = in.writable<T>("logp", {&c.n});
    c.x_new = in.writable<T>("x_new", {&c.n, &c.dim});
    c.grad_new = in.writable<T>("grad_new", {&c.n, &c.dim});
    c.logp_new = in.writable<T>("logp_new", {&c.n});
    c.momentum = in.writable<T>("momentum", {&c.n, &c.dim});
    c.inv_mass = in.writable<T>("inv_mass", {&c.n, &c.dim});
    c.step = in.writable<T>("step", {&c.n});
    c.uniform = in.writable<double>("uniform", {&c.n});
    c.energy = in.writable<double>("energy", {&c.n});
    c.log_step = in.writable<double>("log_step", {&c.n});
    c.log_step_bar = in.writable<double>("log_step_bar", {&c.n});
    c.h_bar = in.writable<double>("h_bar", {&c.n});
    c.mu = in.writable<double>("mu", {&c.n});
    c.mass_mean = in.writable<double>("mass_mean", {&c.n, &c.dim});
    c.mass_m2 = in.writable<double>("mass_m2", {&c.n, &c.dim});
    c.mass_count = in.writable<int64_t>("mass_count", {&c.n});
    c.accept_sum = in.writable<double>("accept_sum", {&c.n});
    c.divergent = in.writable<int64_t>("divergent", {&c.n});
    return c;
}

// The kept draws: "x" (n, n_kept, dim) and "logp" (n, n_kept), each may be None.
template <class T>
Draws<T> draws_of(const py::dict& d, const Settings& s, const Chains<T>& c) {
    const Named in(d, "draws");
    Draws<T> out;
    if (in.has("x")) out.x = in.writable<T>("x", {c.n, s.n_kept, c.dim});
    if (in.has("logp")) out.logp = in.writable<T>("logp", {c.n, s.n_kept});
    return out;
}

// f(tag, settings, chains) with T the dtype of chains["x"].
template <class F>
void with_chains(const py::dict& settings, const py::dict& chains, F&& f) {
    if (!chains.contains("x")) throw std::invalid_argument("chains[x]: missing");
    dispatch_float(chains["x"], "chains[x]", [&](auto tag) {
        using T = typename decltype(tag)::type;
        f(tag, settings_of(settings), chains_of<T>(chains));
    });
}

}  // namespace

void register_mcmc(py::module_& m) {
    py::native_enum<mcmc::Method>(m, "Method", "enum.Enum", "The samplers (mcmc.hpp).")
        .value("ula", mcmc::Method::ula)
        .value("mala", mcmc::Method::mala)
        .value("hmc", mcmc::Method::hmc)
        .finalize();
    m.def(
        "run_gmm",
        [](const py::dict& settings, const py::dict& chains, const py::dict& draws, const py::dict& mixture,
           uint64_t key, int64_t step0, int64_t step1, int n_threads) {
            with_chains(settings, chains, [&](auto tag, const Settings& s, const auto& c) {
                using T = typename decltype(tag)::type;
                const gmm::Mixture<T> g = mixture_of<T>(mixture);
                if (g.dim != c.dim) throw std::invalid_argument("mixture: dimension does not match the chains");
                const Draws<T> out = draws_of<T>(draws, s, c);
                py::gil_scoped_release release;
                const gmm::Scorer<T> scorer(g);
                const mcmc::Target<T> target = [&](const T* x, int64_t n, T* logp, T* grad) {
                    scorer(x, n, logp, grad);
                };
                mcmc::run(s, c, out, target, key, step0, step1, n_threads);
            });
        },
        py::arg("settings"), py::arg("chains"), py::arg("draws"), py::arg("mixture"), py::arg("key"), py::arg("step0"),
        py::arg("step1"), py::arg("n_threads"),
        "Steps [step0, step1) of every chain on a Gaussian mixture's log-density.");
    m.def(
        "begin",
        [](const py::dict& settings, const py::dict& chains, uint64_t key, int64_t step, int n_threads) {
            with_chains(settings, chains, [&](auto, const Settings& s, const auto& c) {
                py::gil_scoped_release release;
                mcmc::begin_all(s, c, key, step, n_threads);
            });
        },
        py::arg("settings"), py::arg("chains"), py::arg("key"), py::arg("step"), py::arg("n_threads"),
        "A step's first phase: the proposal into chains[x_new] (HMC: the first leapfrog step).");
    m.def(
        "leapfrog",
        [](const py::dict& settings, const py::dict& chains, int n_threads) {
            with_chains(settings, chains, [&](auto, const Settings& s, const auto& c) {
                py::gil_scoped_release release;
                mcmc::leapfrog_all(s, c, n_threads);
            });
        },
        py::arg("settings"), py::arg("chains"), py::arg("n_threads"), "One more leapfrog step (HMC).");
    m.def(
        "finish",
        [](const py::dict& settings, const py::dict& chains, const py::dict& draws, int64_t step, int n_threads) {
            with_chains(settings, chains, [&](auto tag, const Settings& s, const auto& c) {
                using T = typename decltype(tag)::type;
                const Draws<T> out = draws_of<T>(draws, s, c);
                py::gil_scoped_release release;
                mcmc::finish_all(s, c, out, step, n_threads);
            });
        },
        py::arg("settings"), py::arg("chains"), py::arg("draws"), py::arg("step"), py::arg("n_threads"),
        "A step's last phase: accept or reject, adapt, keep the draw.");
    m.def(
        "normal_quantile",
        [](const CArray<double>& p) {
            if (p.ndim() != 1) throw std::invalid_argument("p: expected a 1-D float64 array");
            CArray<double> out(p.shape(0));
            const double* in = p.data();
            double* z = out.mutable_data();
            py::gil_scoped_release release;
            for (py::ssize_t i = 0; i < p.shape(0); ++i) z[i] = mcmc::normal_quantile(in[i]);
            return out;
        },
        py::arg("p"), "The standard normal quantile of each p, (n,).");
}

}  // namespace gensample::bindings
