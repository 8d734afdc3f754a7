// gensample.flow: velocity fields (a mixture or a dataset on an affine path, a network) and
// the solvers: fixed steps (and Euler-Maruyama), dopri5 with a step size per particle.
#include "common.hpp"
#include "gensample/flow.hpp"

namespace gensample::bindings {
namespace {

using flow::MixtureField;

// A field tuple: (weights (k,), means (k, d), covariances (k, d, d) or None for an empirical
// field, bandwidth, eigenvalues (k, d) or None, eigenvectors (k, d, d) or None), or a
// network: (layers, dim) with layers a list of (weight (out, in), bias (out,), activation
// code) in x's dtype T. `net` holds the network's layers while the field is in use.
// (code, beta_min, beta_max)
flow::Path path_of(const py::tuple& path) {
    if (path.size() != 3) throw std::invalid_argument("path: expected (code, beta_min, beta_max)");
    const int code = path[0].cast<int>();
    if (code < 0 || code > int(flow::PathKind::vp)) throw std::invalid_argument("path: unknown code");
    return {flow::PathKind(code), path[1].cast<double>(), path[2].cast<double>()};
}

template <class T>
flow::Field<T> field_of(const py::tuple& field, const py::tuple& path, flow::Network<T>& net) {
    flow::Field<T> out;
    out.path = path_of(path);
    if (field.size() == 2) {
        net.dim = field[1].cast<int64_t>();
        for (const py::handle& item : field[0].cast<py::list>()) {
            const auto layer = item.cast<py::tuple>();
            if (layer.size() != 3) throw std::invalid_argument("layers: expected (weight, bias, activation) tuples");
            if (!py::isinstance<CArray<T>>(layer[0]) || !py::isinstance<CArray<T>>(layer[1])) {
                throw std::invalid_argument("layers: weights and biases must be C-contiguous arrays of x's dtype");
            }
            const auto w = py::reinterpret_borrow<CArray<T>>(layer[0]);
            const auto b = py::reinterpret_borrow<CArray<T>>(layer[1]);
            const int act = layer[2].cast<int>();
            if (w.ndim() != 2 || b.ndim() != 1 || b.shape(0) != w.shape(0)) {
                throw std::invalid_argument("layers: weight (out, in) and bias (out,) expected");
            }
            if (act < 0 || act > int(flow::Activation::gelu_tanh)) throw std::invalid_argument("layers: unknown activation");
            net.layers.push_back({w.data(), b.data(), w.shape(1), w.shape(0), flow::Activation(act)});
        }
        out.net = &net;
        return out;
    }
    if (field.size() != 6) {
        throw std::invalid_argument("field: expected (weights, means, covariances, bandwidth, eigenvalues, eigenvectors)");
    }
    const auto weights = field[0].cast<CArray<double>>();
    const auto means = field[1].cast<CArray<double>>();
    if (means.ndim() != 2 || weights.ndim() != 1 || weights.shape(0) != means.shape(0)) {
        throw std::invalid_argument("field: weights (k,) and means (k, d) expected");
    }
    const int64_t k = means.shape(0), d = means.shape(1);
    MixtureField& f = out.mixture;
    f = MixtureField{weights.data(), means.data(), nullptr, k, d};
    if (field[2].is_none()) {
        f.empirical = true;
        f.bandwidth = field[3].cast<double>();
        return out;
    }
    const auto covariances = field[2].cast<CArray<double>>();
    if (covariances.ndim() != 3 || covariances.shape(0) != k || covariances.shape(1) != d || covariances.shape(2) != d) {
        throw std::invalid_argument("field: covariances (k, d, d) expected");
    }
    f.covariances = covariances.data();
    if (!field[4].is_none()) {
        const auto values = field[4].cast<CArray<double>>();
        const auto vectors = field[5].cast<CArray<double>>();
        if (values.ndim() != 2 || values.shape(0) != k || values.shape(1) != d || vectors.ndim() != 3 ||
            vectors.shape(0) != k || vectors.shape(1) != d || vectors.shape(2) != d) {
            throw std::invalid_argument("field: eigenvalues (k, d) and eigenvectors (k, d, d) expected");
        }
        f.eigenvalues = values.data();
        f.eigenvectors = vectors.data();
    }
    return out;
}

// The arrays the caller passed stay alive (they are arguments) while the GIL is released.
template <class T>
py::object velocity_t(const py::tuple& field, const py::tuple& path, double t, const py::array& x, bool with_div,
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
void integrate_t(const py::tuple& field, const py::tuple& path, flow::Solver solver, const CArray<double>& grid,
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
py::tuple adaptive_t(const py::tuple& field, const py::tuple& path, const CArray<double>& stops, py::array& x,
                     const py::object& log_det, const py::object& snapshots, double rtol, double atol,
                     int64_t max_steps, int n_threads) {
    flow::Network<T> net;
    const flow::Field<T> f = field_of<T>(field, path, net);
    int64_t n = 0, d = 0;
    T* px = writable_2d<T>(x, "x", n, d);
    if (d != (f.net ? net.dim : f.mixture.dim)) throw std::invalid_argument("x: dimension does not match the field");
    if (stops.ndim() != 1 || stops.shape(0) < 2) throw std::invalid_argument("stops: expected t0 and at least one stop");
    const int64_t n_stops = stops.shape(0) - 1;
    double* ld = log_det_of(log_det, n);
    T* snap = snapshots_of<T>(snapshots, n_stops, n, d);
    py::array_t<uint8_t> status(n);
    uint8_t* ps = status.mutable_data();
    flow::Stats stats;
    {
        py::gil_scoped_release release;
        stats = flow::integrate_adaptive(f, {rtol, atol, max_steps}, stops.data(), n_stops, px, n, ld, snap, ps,
                                         n_threads);
    }
    return py::make_tuple(status, py::make_tuple(stats.evaluations, stats.accepted, stats.rejected));
}

bool is_float32(const py::array& x) { return py::isinstance<CArray<float>>(x); }

}  // namespace

void register_flow(py::module_& m) {
    m.def(
        "flow_path_coefficients",
        [](const py::tuple& path, double t) {
            const flow::Coefficients c = flow::coefficients(path_of(path), t);
            return py::make_tuple(c.alpha, c.dalpha, c.sigma2, c.sigma_dsigma);
        },
        py::arg("path"), py::arg("t"), "(alpha, alpha', sigma^2, sigma sigma') of the path at t.");
    m.def(
        "flow_velocity",
        [](const py::tuple& field, const py::tuple& path, double t, const py::array& x, bool with_div,
           int n_threads) {
            if (is_float32(x)) return velocity_t<float>(field, path, t, x, with_div, n_threads);
            return velocity_t<double>(field, path, t, x, with_div, n_threads);
        },
        py::arg("field"), py::arg("path"), py::arg("t"), py::arg("x"), py::arg("with_div"), py::arg("n_threads"),
        "u_t(x) (n, d) in x's dtype, and (u, div u) when with_div (div float64).");
    m.def(
        "flow_integrate",
        [](const py::tuple& field, const py::tuple& path, int solver, const CArray<double>& grid, py::array x,
           const py::object& log_det, const py::object& snap_steps, const py::object& snapshots,
           const py::object& sigma, uint64_t noise_key, int64_t row0, int n_threads) {
            if (solver < 0 || solver > int(flow::Solver::rk4)) throw std::invalid_argument("solver: unknown code");
            if (is_float32(x)) {
                integrate_t<float>(field, path, flow::Solver(solver), grid, x, log_det, snap_steps, snapshots, sigma,
                                   noise_key, row0, n_threads);
            } else {
                integrate_t<double>(field, path, flow::Solver(solver), grid, x, log_det, snap_steps, snapshots, sigma,
                                    noise_key, row0, n_threads);
            }
        },
        py::arg("field"), py::arg("path"), py::arg("solver"), py::arg("grid"), py::arg("x"), py::arg("log_det"),
        py::arg("snap_steps"), py::arg("snapshots"), py::arg("sigma"), py::arg("noise_key"), py::arg("row0"),
        py::arg("n_threads"),
        "Integrate x (n, d) in place over grid; log_det (n,) += the divergence integral; snapshots "
        "(len(snap_steps), n, d) at the given step indices; sigma (steps,) with noise_key makes Euler "
        "steps Euler-Maruyama steps of the SDE (noise row row0 + i for particle i).");
    m.def(
        "flow_integrate_adaptive",
        [](const py::tuple& field, const py::tuple& path, const CArray<double>& stops, py::array x,
           const py::object& log_det, const py::object& snapshots, double rtol, double atol, int64_t max_steps,
           int n_threads) {
            if (is_float32(x)) {
                return adaptive_t<float>(field, path, stops, x, log_det, snapshots, rtol, atol, max_steps, n_threads);
            }
            return adaptive_t<double>(field, path, stops, x, log_det, snapshots, rtol, atol, max_steps, n_threads);
        },
        py::arg("field"), py::arg("path"), py::arg("stops"), py::arg("x"), py::arg("log_det"), py::arg("snapshots"),
        py::arg("rtol"), py::arg("atol"), py::arg("max_steps"), py::arg("n_threads"),
        "dopri5 with a step size per particle from stops[0] through stops[1:], x in place; returns "
        "(status (n,) uint8: 0 finished, 1 max_steps, 2 step underflow, 3 not finite, "
        "(evaluations, accepted, rejected)).");
}

}  // namespace gensample::bindings
