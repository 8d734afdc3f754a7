// _core.kde: tiled kernel sums, their gradients and the exact samplers.
#include "common.hpp"
#include "gensample/kde.hpp"

namespace gensample::bindings {
namespace {

using kde::Kernel;
using kde::Tiles;

// The data as kde.py's KDE._tiles_for packs them (_tiles.pack): points, log_weight and
// weight (0 in the padding), log_weight_max; all arrays of dtype T.
template <class T>
Tiles<T> tiles_of(const py::dict& d) {
    const Named in(d, "tiles");
    Tiles<T> t{};
    t.points = tiled_points<T>(in, t.tiles, t.dim);
    t.log_weight = in.array<T>("log_weight", {t.tiles * kde::kTile});
    t.weight = in.array<T>("weight", {t.tiles * kde::kTile});
    t.log_weight_max = in.value<double>("log_weight_max");
    return t;
}

template <class T>
const T* queries_of(const py::array& y, const Tiles<T>& data, int64_t& m) {
    int64_t dim = 0;
    const T* q = readonly_2d<T>(y, "y", m, dim);
    if (dim != data.dim) throw std::invalid_argument("y: dimension does not match the data");
    return q;
}

}  // namespace

void register_kde(py::module_& m) {
    py::native_enum<Kernel>(m, "Kernel", "enum.Enum", "The kernels' profiles (kde.hpp).")
        .value("gaussian", Kernel::gaussian)
        .value("tophat", Kernel::tophat)
        .value("epanechnikov", Kernel::epanechnikov)
        .value("exponential", Kernel::exponential)
        .value("linear", Kernel::linear)
        .value("cosine", Kernel::cosine)
        .finalize();
    m.attr("tile") = kde::kTile;
    m.def(
        "log_density",
        [](Kernel kernel, const py::dict& tiles, const py::array& y, double offset, int n_threads) {
            return dispatch_float(y, "y", [&](auto tag) -> py::object {
                using T = typename decltype(tag)::type;
                const Tiles<T> data = tiles_of<T>(tiles);
                int64_t m = 0;
                const T* q = queries_of(y, data, m);
                CArray<T> out(m);
                T* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    kde::log_density(kernel, data, q, m, T(offset), o, n_threads);
                }
                return std::move(out);  // with the GIL: the conversion touches reference counts
            });
        },
        py::arg("kernel"), py::arg("tiles"), py::arg("y"), py::arg("offset"), py::arg("n_threads"),
        "log sum_i w_i f(|y_j - z_i|) + offset for whitened queries y, in y's dtype (the tiles' too).");
    m.def(
        "grad_log_density",
        [](Kernel kernel, const py::dict& tiles, const py::array& y, int n_threads) {
            return dispatch_float(y, "y", [&](auto tag) -> py::object {
                using T = typename decltype(tag)::type;
                const Tiles<T> data = tiles_of<T>(tiles);
                int64_t m = 0;
                const T* q = queries_of(y, data, m);
                CArray<T> out({m, data.dim});
                T* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    kde::grad_log_density(kernel, data, q, m, o, n_threads);
                }
                return std::move(out);
            });
        },
        py::arg("kernel"), py::arg("tiles"), py::arg("y"), py::arg("n_threads"),
        "Gradient of the log kernel sum in whitened coordinates, (m, dim).");
    m.def(
        "sample",
        [](Kernel kernel, const CArray<double>& points, const CArray<double>& chol, const CArray<double>& prob,
           const CArray<uint32_t>& alias, uint64_t key, int64_t r0, py::array out, int n_threads) {
            if (points.ndim() != 2 || chol.ndim() != 2 || chol.shape(0) != points.shape(1) ||
                chol.shape(1) != points.shape(1) || prob.ndim() != 1 || prob.shape(0) != points.shape(0) ||
                alias.ndim() != 1 || alias.shape(0) != points.shape(0)) {
                throw std::invalid_argument("sample: points (n, d), chol (d, d), prob and alias (n,) expected");
            }
            const kde::SampleModel model{kernel,      points.data(), points.shape(0), points.shape(1),
                                         chol.data(), prob.data(),   alias.data()};
            fill_rows(out, model.dim,
                      [&](auto* o, int64_t n, int64_t) { kde::sample(model, key, r0, n, o, n_threads); });
        },
        py::arg("kernel"), py::arg("points"), py::arg("chol"), py::arg("prob"), py::arg("alias"), py::arg("key"),
        py::arg("r0"), py::arg("out"), py::arg("n_threads"), "Rows r0 .. r0 + len(out) of a KDE sample.");
}

}  // namespace gensample::bindings
