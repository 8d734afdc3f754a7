// gensample.flow: the Gaussian mixture field on the linear path and the fixed-step solvers.
#include "common.hpp"
#include "gensample/flow.hpp"

namespace gensample::bindings {
namespace {

using flow::MixtureField;

// (weights (k,), means (k, d), covariances (k, d, d) or None for an empirical field, bandwidth)
MixtureField field_of(const py::tuple& field) {
    if (field.size() != 4) throw std::invalid_argument("field: expected (weights, means, covariances, bandwidth)");
    const auto weights = field[0].cast<CArray<double>>();
    const auto means = field[1].cast<CArray<double>>();
    if (means.ndim() != 2 || weights.ndim() != 1 || weights.shape(0) != means.shape(0)) {
        throw std::invalid_argument("field: weights (k,) and means (k, d) expected");
    }
    MixtureField f{weights.data(), means.data(), nullptr, means.shape(0), means.shape(1)};
    if (field[2].is_none()) {
        f.empirical = true;
        f.bandwidth = field[3].cast<double>();
        return f;
    }
    const auto covariances = field[2].cast<CArray<double>>();
    if (covariances.ndim() != 3 || covariances.shape(0) != means.shape(0) || covariances.shape(1) != means.shape(1) ||
        covariances.shape(2) != means.shape(1)) {
        throw std::invalid_argument("field: covariances (k, d, d) expected");
    }
    f.covariances = covariances.data();
    return f;
}

template <class T>
py::object velocity_t(const MixtureField& f, double t, const py::array& x, bool with_div, int n_threads) {
    int64_t n = 0, d = 0;
    const T* p = readonly_2d<T>(x, "x", n, d);
    if (d != f.dim) throw std::invalid_argument("x: dimension does not match the field");
    CArray<T> u({n, d});
    CArray<double> div(with_div ? n : 0);
    T* po = u.mutable_data();
    double* pd = with_div ? div.mutable_data() : nullptr;
    {
        py::gil_scoped_release release;
        flow::velocity(f, t, p, n, po, pd, n_threads);
    }
    if (with_div) return py::make_tuple(u, div);
    return std::move(u);
}

template <class T>
void integrate_t(const MixtureField& f, flow::Solver solver, const CArray<double>& grid, py::array& x,
                 const py::object& log_det, const py::object& snap_steps, const py::object& snapshots,
                 const py::object& sigma, uint64_t noise_key, int64_t row0, int n_threads) {
    int64_t n = 0, d = 0;
    T* px = writable_2d<T>(x, "x", n, d);
    if (d != f.dim) throw std::invalid_argument("x: dimension does not match the field");
    if (grid.ndim() != 1 || grid.shape(0) < 1) throw std::invalid_argument("grid: expected steps + 1 times");
    double* ld = nullptr;
    if (!log_det.is_none()) {
        if (!py::isinstance<CArray<double>>(log_det)) throw std::invalid_argument("log_det: expected float64");
        auto a = py::reinterpret_borrow<CArray<double>>(log_det);
        if (a.ndim() != 1 || a.shape(0) != n || !a.writeable()) throw std::invalid_argument("log_det: one per particle");
        ld = a.mutable_data();
    }
    const int64_t* steps_at = nullptr;
    int64_t n_snap = 0;
    T* snap = nullptr;
    if (!snap_steps.is_none()) {
        if (!py::isinstance<CArray<int64_t>>(snap_steps)) throw std::invalid_argument("snap_steps: expected int64");
        auto st = py::reinterpret_borrow<CArray<int64_t>>(snap_steps);
        if (!py::isinstance<CArray<T>>(snapshots)) throw std::invalid_argument("snapshots: expected x's dtype");
        auto sn = py::reinterpret_borrow<CArray<T>>(snapshots);
        n_snap = st.shape(0);
        if (st.ndim() != 1 || sn.ndim() != 3 || sn.shape(0) != n_snap || sn.shape(1) != n || sn.shape(2) != d ||
            !sn.writeable()) {
            throw std::invalid_argument("snapshots: expected (len(snap_steps), n, d)");
        }
        steps_at = st.data();
        snap = sn.mutable_data();
    }
    flow::Noise noise{nullptr, noise_key, row0};
    if (!sigma.is_none()) {
        if (!py::isinstance<CArray<double>>(sigma)) throw std::invalid_argument("sigma: expected float64");
        auto sg = py::reinterpret_borrow<CArray<double>>(sigma);
        if (sg.ndim() != 1 || sg.shape(0) != grid.shape(0) - 1) throw std::invalid_argument("sigma: one per step");
        noise.sigma = sg.data();
    }
    py::gil_scoped_release release;
    flow::integrate(f, solver, grid.data(), grid.shape(0) - 1, px, n, ld, steps_at, n_snap, snap,
                    noise.sigma ? &noise : nullptr, n_threads);
}

}  // namespace

void register_flow(py::module_& m) {
    m.def(
        "flow_velocity",
        [](const py::tuple& field, double t, const py::array& x, bool with_div, int n_threads) {
            const MixtureField f = field_of(field);
            if (py::isinstance<CArray<float>>(x)) return velocity_t<float>(f, t, x, with_div, n_threads);
            return velocity_t<double>(f, t, x, with_div, n_threads);
        },
        py::arg("field"), py::arg("t"), py::arg("x"), py::arg("with_div"), py::arg("n_threads"),
        "u_t(x) (n, d), or (u, div u) when with_div.");
    m.def(
        "flow_integrate",
        [](const py::tuple& field, int solver, const CArray<double>& grid, py::array x, const py::object& log_det, const py::object& snap_steps,
           const py::object& snapshots, const py::object& sigma, uint64_t noise_key, int64_t row0, int n_threads) {
            const MixtureField f = field_of(field);
            if (solver < 0 || solver > int(flow::Solver::rk4)) throw std::invalid_argument("solver: unknown code");
            if (py::isinstance<CArray<float>>(x)) {
                integrate_t<float>(f, flow::Solver(solver), grid, x, log_det, snap_steps, snapshots, sigma, noise_key,
                                   row0, n_threads);
            } else {
                integrate_t<double>(f, flow::Solver(solver), grid, x, log_det, snap_steps, snapshots, sigma, noise_key,
                                    row0, n_threads);
            }
        },
        py::arg("field"), py::arg("solver"), py::arg("grid"), py::arg("x"),
        py::arg("log_det"), py::arg("snap_steps"), py::arg("snapshots"), py::arg("sigma"), py::arg("noise_key"),
        py::arg("row0"), py::arg("n_threads"),
        "Integrates x in place over the time grid; log_det += the integral of div u; snapshots after snap_steps;\n"
        "with sigma (one per step) Euler-Maruyama steps of the matching SDE, noise rows row0 + i of\n"
        "subkey(noise_key, step).");
}

}  // namespace gensample::bindings
