// _core.metrics: tiled pair sums, nearest neighbours and ball tests.
#include "common.hpp"
#include "gensample/metrics.hpp"

namespace gensample::bindings {
namespace {

using metrics::Pair;
using metrics::Tiles;

// The reference set as metrics.py packs it (_tiles.pack): points and weight (0 in the
// padding), of dtype T.
template <class T>
Tiles<T> tiles_of(const py::dict& d) {
    const Named in(d, "tiles");
    Tiles<T> t{};
    t.points = tiled_points<T>(in, t.tiles, t.dim);
    t.weight = in.array<T>("weight", {t.tiles * metrics::kTile});
    return t;
}

template <class T>
const T* queries_of(const py::array& x, const Tiles<T>& y, int64_t& n) {
    int64_t dim = 0;
    const T* q = readonly_2d<T>(x, "x", n, dim);
    if (dim != y.dim) throw std::invalid_argument("x: dimension does not match the reference set");
    return q;
}

}  // namespace

void register_metrics(py::module_& m) {
    py::native_enum<Pair>(m, "Pair", "enum.Enum", "The pair kernels k(r) of the sums (metrics.hpp).")
        .value("gaussian", Pair::gaussian)
        .value("laplacian", Pair::laplacian)
        .value("distance", Pair::distance)
        .finalize();
    m.attr("tile") = metrics::kTile;
    m.def(
        "pair_sums",
        [](Pair kind, const py::dict& tiles, const py::array& x, double gamma, int n_threads) {
            return dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                const Tiles<T> y = tiles_of<T>(tiles);
                int64_t n = 0;
                const T* q = queries_of(x, y, n);
                CArray<double> out(n);
                double* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    metrics::pair_sums(kind, y, q, n, gamma, o, n_threads);
                }
                return out;
            });
        },
        py::arg("kind"), py::arg("tiles"), py::arg("x"), py::arg("gamma"), py::arg("n_threads"),
        "sum_j w_j k(|x_i - y_j|) for each row of x, as float64.");
    m.def(
        "nearest",
        [](const py::dict& tiles, const py::array& x, int64_t k, bool skip_self, int n_threads) {
            return dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                const Tiles<T> y = tiles_of<T>(tiles);
                int64_t n = 0;
                const T* q = queries_of(x, y, n);
                CArray<double> out({n, k});
                double* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    metrics::nearest(y, q, n, k, skip_self, o, n_threads);
                }
                return out;
            });
        },
        py::arg("tiles"), py::arg("x"), py::arg("k"), py::arg("skip_self"), py::arg("n_threads"),
        "The k smallest squared distances from each row of x to the reference set, ascending (n, k).");
    m.def(
        "in_any_ball",
        [](const py::dict& tiles, const py::array& x, int n_threads) {
            return dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                const Tiles<T> y = tiles_of<T>(tiles);
                const T* r2 = Named(tiles, "tiles").array<T>("radius2", {y.tiles * metrics::kTile});
                int64_t n = 0;
                const T* q = queries_of(x, y, n);
                py::array_t<bool> inside(n);
                uint8_t* o = reinterpret_cast<uint8_t*>(inside.mutable_data());
                {
                    py::gil_scoped_release release;
                    metrics::in_any_ball(y, r2, q, n, o, n_threads);
                }
                return inside;
            });
        },
        py::arg("tiles"), py::arg("x"), py::arg("n_threads"),
        "Whether each row of x lies within radius of some reference point (the tiles' radius2).");
}

}  // namespace gensample::bindings
