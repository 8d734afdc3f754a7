// _core.flow: velocity fields (a mixture or a dataset on an affine path, a network) and
// the solvers: fixed steps (and Euler-Maruyama), dopri5 with a step size per particle.
#include "common.hpp"
#include "gensample/flow.hpp"

namespace gensample::bindings {
namespace {

using flow::MixtureField;

// The path as fields.py's path_of builds it: {"kind": PathKind, "beta_min", "beta_max"}.
flow::Path path_of(const py::dict& d) {
    const Named in(d, "path");
    return {in.value<flow::PathKind>("kind"), in.value<double>("beta_min"), in.value<double>("beta_max")};
}

// A network's layers as _network.py builds them: a list of {"weight" (out, in), "bias" (out,),
// "ops": a list of {"activation", "param", "param2"} or {"gamma" (out,), "beta" (out,),
// "eps"}} in the particles' dtype T.
template <class T>
void layers_of(const py::list& layers, flow::Network<T>& net) {
    for (const py::handle& item : layers) {
        const Named layer(item.cast<py::dict>(), "layer");
        int64_t outputs = -1, inputs = -1;
        const T* w = layer.array<T>("weight", {&outputs, &inputs});
        const T* b = layer.array<T>("bias", {&outputs});
        std::vector<flow::Op<T>> ops;
        for (const py::handle& o : layer.value<py::list>("ops")) {
            const Named op(o.cast<py::dict>(), "op");
            flow::Op<T> step;
            if (op.has("gamma")) {
                step.gamma = op.array<T>("gamma", {&outputs});
                step.beta = op.array<T>("beta", {&outputs});
                step.eps = T(op.value<double>("eps"));
            } else {
                step.activation = op.value<flow::Activation>("activation");
                step.param = T(op.value<double>("param"));
                step.param2 = T(op.value<double>("param2"));
            }
            ops.push_back(step);
        }
        net.layers.push_back({w, b, inputs, outputs, std::move(ops)});
    }
}

// A field as fields.py's _engine builds it, by name. A network: {"dim", "layers"} (layers_of;
// `net` holds the layers while the field is in use). A mixture: {"weights" (k,), "means" (k, d), "covariances"
// (k, d, d)} and, for dopri5, each covariance's "eigenvalues" (k, d) and "eigenvectors"
// (k, d, d); a dataset's (empirical) field: weights, means (the points) and "bandwidth".
template <class T>
flow::Field<T> field_of(const py::dict& field, const py::dict& path, flow::Network<T>& net) {
    const Named in(field, "field");
    flow::Field<T> out;
    out.path = path_of(path);
    if (in.has("layers")) {
        net.dim = in.value<int64_t>("dim");
        layers_of<T>(in.value<py::list>("layers"), net);  // widths checked by the core
        out.net = &net;
        return out;
    }
    int64_t k = -1, d = -1;
    const double* means = in.array<double>("means", {&k, &d});
    MixtureField& f = out.mixture;
    f = MixtureField{in.array<double>("weights", {&k}), means, nullptr, k, d};
    if (!in.has("covariances")) {
        f.empirical = true;
        f.bandwidth = in.value<double>("bandwidth");
        return out;
    }
    f.covariances = in.array<double>("covariances", {&k, &d, &d});
    if (in.has("eigenvalues")) {
        f.eigenvalues = in.array<double>("eigenvalues", {&k, &d});
        f.eigenvectors = in.array<double>("eigenvectors", {&k, &d, &d});
    }
    return out;
}

// The arrays the caller passed stay alive (they are arguments) while the GIL is released.
template <class T>
py::object velocity_t(const py::dict& field, const py::dict& path, double t, const py::array& x, bool with_div,
                      int n_threads) {
    flow::Network<T> net;
    const flow::Field<T> f = field_of<T>(field, path, net);
    int64_t n = 0, d = 0;
    const T* p = readonly_2d<T>(x, "x", n, d);
    if (d != (f.net ? net.dim : f.mixture.dim)) throw std::invalid_argument("x: dimension does not match the field");
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

// out: None (a new array is returned) or the caller's writable (n, outputs) array of T.
template <class T>
py::object forward_t(const py::dict& network, const py::array& z, int n_threads, py::object out) {
    const Named in(network, "network");
    flow::Network<T> net;
    layers_of<T>(in.value<py::list>("layers"), net);
    if (net.layers.empty()) throw std::invalid_argument("network: no layers");
    int64_t n = 0, q = 0;
    const T* p = readonly_2d<T>(z, "z", n, q);
    if (q != net.layers.front().in) throw std::invalid_argument("z: its width is not the network's input width");
    net.dim = net.layers.back().out;
    if (out.is_none()) out = CArray<T>({n, net.dim});
    py::array y = out.cast<py::array>();
    int64_t rows = 0, cols = 0;
    T* po = writable_2d<T>(y, "out", rows, cols);
    if (rows != n || cols != net.dim) throw std::invalid_argument("out: expected one row of outputs per row of z");
    {
        py::gil_scoped_release release;
        flow::forward(net, p, n, po, n_threads);
    }
    return out;
}

// log_det: None or float64 (n,), writable.
double* log_det_of(const py::object& log_det, int64_t n) {
    if (log_det.is_none()) return nullptr;
    if (!py::isinstance<CArray<double>>(log_det)) throw std::invalid_argument("log_det: expected float64");
    auto a = py::reinterpret_borrow<CArray<double>>(log_det);
    if (a.ndim() != 1 || a.shape(0) != n || !a.writeable()) throw std::invalid_argument("log_det: one per particle");
    return a.mutable_data();
}

// snapshots: None or (rows, n, d) of T, writable.
template <class T>
T* snapshots_of(const py::object& snapshots, int64_t rows, int64_t n, int64_t d) {
    if (snapshots.is_none()) return nullptr;
    if (!py::isinstance<CArray<T>>(snapshots)) throw std::invalid_argument("snapshots: expected x's dtype");
    auto sn = py::reinterpret_borrow<CArray<T>>(snapshots);
    if (sn.ndim() != 3 || sn.shape(0) != rows || sn.shape(1) != n || sn.shape(2) != d || !sn.writeable()) {
        throw std::invalid_argument("snapshots: expected (stops, n, d)");
    }
    return sn.mutable_data();
}

template <class T>
void integrate_t(const py::dict& field, const py::dict& path, flow::Solver solver, const CArray<double>& grid,
                 py::array& x, const py::object& log_det, const py::object& snap_steps, const py::object& snapshots,
                 const py::object& sigma, uint64_t noise_key, int64_t row0, int n_threads) {
    flow::Network<T> net;
    const flow::Field<T> f = field_of<T>(field, path, net);
    int64_t n = 0, d = 0;
    T* px = writable_2d<T>(x, "x", n, d);
    if (d != (f.net ? net.dim : f.mixture.dim)) throw std::invalid_argument("x: dimension does not match the field");
    if (grid.ndim() != 1 || grid.shape(0) < 1) throw std::invalid_argument("grid: expected steps + 1 times");
    double* ld = log_det_of(log_det, n);
    const int64_t* steps_at = nullptr;
    int64_t n_snap = 0;
    T* snap = nullptr;
    if (!snap_steps.is_none()) {
        if (!py::isinstance<CArray<int64_t>>(snap_steps)) throw std::invalid_argument("snap_steps: expected int64");
        auto st = py::reinterpret_borrow<CArray<int64_t>>(snap_steps);
        if (st.ndim() != 1) throw std::invalid_argument("snap_steps: expected (n_snap,)");
        n_snap = st.shape(0);
        steps_at = st.data();
        snap = snapshots_of<T>(snapshots, n_snap, n, d);
        if (!snap) throw std::invalid_argument("snapshots: required with snap_steps");
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

template <class T>
py::tuple adaptive_t(const py::dict& field, const py::dict& path, const CArray<double>& stops, py::array& x,
                     const py::object& log_det, const py::object& snapshots, double rtol, double atol,
                     int64_t max_steps, int n_threads) {
    flow::Network<T> net;
    const flow::Field<T> f = field_of<T>(field, path, net);
    int64_t n = 0, d = 0;
    T* px = writable_2d<T>(x, "x", n, d);
    if (d != (f.net ? net.dim : f.mixture.dim)) throw std::invalid_argument("x: dimension does not match the field");
    if (stops.ndim() != 1 || stops.shape(0) < 2)
        throw std::invalid_argument("stops: expected t0 and at least one stop");
    const int64_t n_stops = stops.shape(0) - 1;
    double* ld = log_det_of(log_det, n);
    T* snap = snapshots_of<T>(snapshots, n_stops, n, d);
    py::array_t<uint8_t> status(n);
    uint8_t* ps = status.mutable_data();
    flow::Stats stats;
    {
        py::gil_scoped_release release;
        stats =
            flow::integrate_adaptive(f, {rtol, atol, max_steps}, stops.data(), n_stops, px, n, ld, snap, ps, n_threads);
    }
    return py::make_tuple(status, py::make_tuple(stats.evaluations, stats.accepted, stats.rejected));
}

}  // namespace

void register_flow(py::module_& m) {
    py::native_enum<flow::PathKind>(m, "PathKind", "enum.Enum", "The probability paths (flow.hpp).")
        .value("linear", flow::PathKind::linear)
        .value("cosine", flow::PathKind::cosine)
        .value("vp", flow::PathKind::vp)
        .finalize();
    py::native_enum<flow::Solver>(m, "Solver", "enum.Enum", "The fixed-step solvers (flow.hpp).")
        .value("euler", flow::Solver::euler)
        .value("midpoint", flow::Solver::midpoint)
        .value("heun", flow::Solver::heun)
        .value("rk4", flow::Solver::rk4)
        .finalize();
    py::native_enum<flow::Activation>(m, "Activation", "enum.Enum", "A network layer's activation (flow.hpp).")
        .value("identity", flow::Activation::identity)
        .value("relu", flow::Activation::relu)
        .value("silu", flow::Activation::silu)
        .value("gelu", flow::Activation::gelu)
        .value("tanh", flow::Activation::tanh)
        .value("gelu_tanh", flow::Activation::gelu_tanh)
        .value("leaky_relu", flow::Activation::leaky_relu)
        .value("sigmoid", flow::Activation::sigmoid)
        .value("softplus", flow::Activation::softplus)
        .value("elu", flow::Activation::elu)
        .finalize();
    py::native_enum<flow::Status>(m, "Status", "enum.IntEnum", "How dopri5 ended for a particle (flow.hpp).")
        .value("finished", flow::Status::finished)
        .value("max_steps", flow::Status::max_steps)
        .value("step_underflow", flow::Status::step_underflow)
        .value("not_finite", flow::Status::not_finite)
        .finalize();
    m.def(
        "path_coefficients",
        [](const py::dict& path, double t) {
            const flow::Coefficients c = flow::coefficients(path_of(path), t);
            return py::make_tuple(c.alpha, c.dalpha, c.sigma2, c.sigma_dsigma);
        },
        py::arg("path"), py::arg("t"), "(alpha, alpha', sigma^2, sigma sigma') of the path at t.");
    m.def(
        "velocity",
        [](const py::dict& field, const py::dict& path, double t, const py::array& x, bool with_div, int n_threads) {
            return dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                return velocity_t<T>(field, path, t, x, with_div, n_threads);
            });
        },
        py::arg("field"), py::arg("path"), py::arg("t"), py::arg("x"), py::arg("with_div"), py::arg("n_threads"),
        "u_t(x) (n, d) in x's dtype, and (u, div u) when with_div (div float64).");
    m.def(
        "forward",
        [](const py::dict& network, const py::array& z, int n_threads, const py::object& out) {
            return dispatch_float(z, "z", [&](auto tag) -> py::object {
                using T = typename decltype(tag)::type;
                return forward_t<T>(network, z, n_threads, out);
            });
        },
        py::arg("network"), py::arg("z"), py::arg("n_threads"), py::arg("out") = py::none(),
        "A network's outputs (n, out) at its inputs z (n, in), in z's dtype: {\"layers\": [...]}; "
        "into out (n, out) of z's dtype when given.");
    m.def(
        "integrate",
        [](const py::dict& field, const py::dict& path, flow::Solver solver, const CArray<double>& grid, py::array x,
           const py::object& log_det, const py::object& snap_steps, const py::object& snapshots,
           const py::object& sigma, uint64_t noise_key, int64_t row0, int n_threads) {
            dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                integrate_t<T>(field, path, solver, grid, x, log_det, snap_steps, snapshots, sigma, noise_key, row0,
                               n_threads);
            });
        },
        py::arg("field"), py::arg("path"), py::arg("solver"), py::arg("grid"), py::arg("x"), py::arg("log_det"),
        py::arg("snap_steps"), py::arg("snapshots"), py::arg("sigma"), py::arg("noise_key"), py::arg("row0"),
        py::arg("n_threads"),
        "Integrate x (n, d) in place over grid; log_det (n,) += the divergence integral; snapshots "
        "(len(snap_steps), n, d) at the given step indices; sigma (steps,) with noise_key makes Euler "
        "steps Euler-Maruyama steps of the SDE (noise row row0 + i for particle i).");
    m.def(
        "integrate_adaptive",
        [](const py::dict& field, const py::dict& path, const CArray<double>& stops, py::array x,
           const py::object& log_det, const py::object& snapshots, double rtol, double atol, int64_t max_steps,
           int n_threads) {
            return dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                return adaptive_t<T>(field, path, stops, x, log_det, snapshots, rtol, atol, max_steps, n_threads);
            });
        },
        py::arg("field"), py::arg("path"), py::arg("stops"), py::arg("x"), py::arg("log_det"), py::arg("snapshots"),
        py::arg("rtol"), py::arg("atol"), py::arg("max_steps"), py::arg("n_threads"),
        "dopri5 with a step size per particle from stops[0] through stops[1:], x in place; returns "
        "(status (n,) uint8, a Status per particle, (evaluations, accepted, rejected)).");
}

}  // namespace gensample::bindings
