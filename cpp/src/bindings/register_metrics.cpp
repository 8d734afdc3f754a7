// gensample.metrics: tiled pair sums, nearest neighbours and ball tests.
#include "common.hpp"
#include "gensample/metrics.hpp"

namespace gensample::bindings {
namespace {

using metrics::Pair;
using metrics::Tiles;

// points (tiles, dim, kTile) and weight (tiles * kTile), both of dtype T.
template <class T>
Tiles<T> tiles_of(const py::array& points, const py::array& weight) {
    if (!py::isinstance<CArray<T>>(points) || points.ndim() != 3 || points.shape(2) != metrics::kTile ||
        !(points.flags() & py::array::c_style)) {
        throw std::invalid_argument("points: expected a C-contiguous (tiles, dim, kTile) array");
    }
    const int64_t tiles = points.shape(0), dim = points.shape(1);
    if (!py::isinstance<CArray<T>>(weight) || weight.ndim() != 1 || weight.shape(0) != tiles * metrics::kTile ||
        !(weight.flags() & py::array::c_style)) {
        throw std::invalid_argument("weight: expected a C-contiguous array of tiles * kTile values");
    }
    return Tiles<T>{static_cast<const T*>(points.data()), static_cast<const T*>(weight.data()), tiles, dim};
}

template <class T>
const T* queries_of(const py::array& x, const Tiles<T>& y, int64_t& n) {
    int64_t dim = 0;
    const T* q = readonly_2d<T>(x, "x", n, dim);
    if (dim != y.dim) throw std::invalid_argument("x: dimension does not match the reference set");
    return q;
}

template <class T>
py::array sums_t(Pair kind, const py::array& points, const py::array& weight, const py::array& x, double gamma,
                 int n_threads) {
    const Tiles<T> y = tiles_of<T>(points, weight);
    int64_t n = 0;
    const T* q = queries_of(x, y, n);
    CArray<double> out(n);
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        metrics::pair_sums(kind, y, q, n, gamma, o, n_threads);
    }
    return out;  // with the GIL: the conversion to py::array touches reference counts
}

template <class T>
py::array nearest_t(const py::array& points, const py::array& weight, const py::array& x, int64_t k, bool skip_self,
                    int n_threads) {
    const Tiles<T> y = tiles_of<T>(points, weight);
    int64_t n = 0;
    const T* q = queries_of(x, y, n);
    CArray<double> out({n, k});
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        metrics::nearest(y, q, n, k, skip_self, o, n_threads);
    }
    return out;
}

template <class T>
py::array balls_t(const py::array& points, const py::array& weight, const py::array& radius2, const py::array& x,
                  int n_threads) {
    const Tiles<T> y = tiles_of<T>(points, weight);
    if (!py::isinstance<CArray<T>>(radius2) || radius2.ndim() != 1 || radius2.shape(0) != y.tiles * metrics::kTile) {
        throw std::invalid_argument("radius2: expected one value per tiled point");
    }
    int64_t n = 0;
    const T* q = queries_of(x, y, n);
    py::array_t<bool> inside(n);
    uint8_t* o = reinterpret_cast<uint8_t*>(inside.mutable_data());
    const T* r2 = static_cast<const T*>(radius2.data());
    {
        py::gil_scoped_release release;
        metrics::in_any_ball(y, r2, q, n, o, n_threads);
    }
    return inside;
}

}  // namespace

void register_metrics(py::module_& m) {
    m.attr("metrics_tile") = metrics::kTile;
    m.def(
        "metrics_pair_sums",
        [](int kind, const py::array& points, const py::array& weight, const py::array& x, double gamma,
           int n_threads) {
            if (kind < 0 || kind > int(Pair::distance)) throw std::invalid_argument("kind: unknown pair kernel");
            if (py::isinstance<CArray<float>>(points)) return sums_t<float>(Pair(kind), points, weight, x, gamma, n_threads);
            return sums_t<double>(Pair(kind), points, weight, x, gamma, n_threads);
        },
        py::arg("kind"), py::arg("points"), py::arg("weight"), py::arg("x"), py::arg("gamma"), py::arg("n_threads"),
        "sum_j w_j k(|x_i - y_j|) for each row of x, as float64.");
    m.def(
        "metrics_nearest",
        [](const py::array& points, const py::array& weight, const py::array& x, int64_t k, bool skip_self,
           int n_threads) {
            if (py::isinstance<CArray<float>>(points)) return nearest_t<float>(points, weight, x, k, skip_self, n_threads);
            return nearest_t<double>(points, weight, x, k, skip_self, n_threads);
        },
        py::arg("points"), py::arg("weight"), py::arg("x"), py::arg("k"), py::arg("skip_self"), py::arg("n_threads"),
        "The k smallest squared distances from each row of x to the reference set, ascending (n, k).");
    m.def(
        "metrics_in_any_ball",
        [](const py::array& points, const py::array& weight, const py::array& radius2, const py::array& x,
           int n_threads) {
            if (py::isinstance<CArray<float>>(points)) return balls_t<float>(points, weight, radius2, x, n_threads);
            return balls_t<double>(points, weight, radius2, x, n_threads);
        },
        py::arg("points"), py::arg("weight"), py::arg("radius2"), py::arg("x"), py::arg("n_threads"),
        "Whether each row of x lies within radius of some reference point.");
}

}  // namespace gensample::bindings
