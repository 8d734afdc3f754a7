// gensample.kde: tiled kernel sums, their gradients and the exact samplers.
#include "common.hpp"
#include "gensample/kde.hpp"

namespace gensample::bindings {
namespace {

using kde::Kernel;
using kde::Tiles;

Kernel kernel_of(int k) {
    if (k < 0 || k > int(Kernel::cosine)) throw std::invalid_argument("kernel: unknown kernel code");
    return Kernel(k);
}

// points (tiles, dim, kTile); log_weight and weight (tiles * kTile), all of dtype T.
template <class T>
Tiles<T> tiles_of(const py::array& points, const py::array& log_weight, const py::array& weight,
                  double log_weight_max) {
    if (!py::isinstance<CArray<T>>(points) || points.ndim() != 3 || points.shape(2) != kde::kTile ||
        !(points.flags() & py::array::c_style)) {
        throw std::invalid_argument("points: expected a C-contiguous (tiles, dim, kTile) array");
    }
    const int64_t tiles = points.shape(0), dim = points.shape(1);
    for (const py::array* w : {&log_weight, &weight}) {
        if (!py::isinstance<CArray<T>>(*w) || w->ndim() != 1 || w->shape(0) != tiles * kde::kTile ||
            !(w->flags() & py::array::c_style)) {
            throw std::invalid_argument("weights: expected C-contiguous arrays of tiles * kTile values");
        }
    }
    return Tiles<T>{static_cast<const T*>(points.data()), static_cast<const T*>(log_weight.data()),
                    static_cast<const T*>(weight.data()), log_weight_max, tiles, dim};
}

template <class T>
py::array log_density_t(Kernel kernel, const py::array& points, const py::array& log_weight, const py::array& weight,
                        double log_weight_max, const py::array& y, double offset, int n_threads) {
    const Tiles<T> data = tiles_of<T>(points, log_weight, weight, log_weight_max);
    int64_t m = 0, dim = 0;
    const T* q = readonly_2d<T>(y, "x", m, dim);
    if (dim != data.dim) throw std::invalid_argument("x: dimension does not match the data");
    CArray<T> out(m);
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        kde::log_density(kernel, data, q, m, T(offset), o, n_threads);
    }
    return out;  // with the GIL: the conversion to py::array touches reference counts
}

template <class T>
py::array grad_t(Kernel kernel, const py::array& points, const py::array& log_weight, const py::array& weight,
                 double log_weight_max, const py::array& y, int n_threads) {
    const Tiles<T> data = tiles_of<T>(points, log_weight, weight, log_weight_max);
    int64_t m = 0, dim = 0;
    const T* q = readonly_2d<T>(y, "x", m, dim);
    if (dim != data.dim) throw std::invalid_argument("x: dimension does not match the data");
    CArray<T> out({m, dim});
    T* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        kde::grad_log_density(kernel, data, q, m, o, n_threads);
    }
    return out;
}

}  // namespace

void register_kde(py::module_& m) {
    m.attr("kde_tile") = kde::kTile;
    m.def(
        "kde_log_density",
        [](int kernel, const py::array& points, const py::array& log_weight, const py::array& weight,
           double log_weight_max, const py::array& y, double offset, int n_threads) {
            if (py::isinstance<CArray<float>>(points)) {
                return log_density_t<float>(kernel_of(kernel), points, log_weight, weight, log_weight_max, y, offset,
                                            n_threads);
            }
            return log_density_t<double>(kernel_of(kernel), points, log_weight, weight, log_weight_max, y, offset,
                                         n_threads);
        },
        py::arg("kernel"), py::arg("points"), py::arg("log_weight"), py::arg("weight"), py::arg("log_weight_max"),
        py::arg("y"), py::arg("offset"), py::arg("n_threads"),
        "log sum_i w_i f(|y_j - z_i|) + offset for whitened queries y, in the data's dtype.");
    m.def(
        "kde_grad_log_density",
        [](int kernel, const py::array& points, const py::array& log_weight, const py::array& weight,
           double log_weight_max, const py::array& y, int n_threads) {
            if (py::isinstance<CArray<float>>(points)) {
                return grad_t<float>(kernel_of(kernel), points, log_weight, weight, log_weight_max, y, n_threads);
            }
            return grad_t<double>(kernel_of(kernel), points, log_weight, weight, log_weight_max, y, n_threads);
        },
        py::arg("kernel"), py::arg("points"), py::arg("log_weight"), py::arg("weight"), py::arg("log_weight_max"),
        py::arg("y"), py::arg("n_threads"), "Gradient of the log kernel sum in whitened coordinates, (m, dim).");
    m.def(
        "kde_sample",
        [](int kernel, const CArray<double>& points, const CArray<double>& chol, const CArray<double>& prob,
           const CArray<uint32_t>& alias, uint64_t key, int64_t r0, py::array out, int n_threads) {
            if (points.ndim() != 2 || chol.ndim() != 2 || chol.shape(0) != points.shape(1) ||
                chol.shape(1) != points.shape(1) || prob.ndim() != 1 || prob.shape(0) != points.shape(0) ||
                alias.ndim() != 1 || alias.shape(0) != points.shape(0)) {
                throw std::invalid_argument("kde_sample: points (n, d), chol (d, d), prob and alias (n,) expected");
            }
            const kde::SampleModel model{kernel_of(kernel), points.data(), points.shape(0), points.shape(1),
                                         chol.data(), prob.data(), alias.data()};
            int64_t n = 0, dim = 0;
            if (py::isinstance<CArray<float>>(out)) {
                float* o = writable_2d<float>(out, "out", n, dim);
                if (dim != model.dim) throw std::invalid_argument("out: dimension does not match the data");
                py::gil_scoped_release release;
                kde::sample(model, key, r0, n, o, n_threads);
            } else {
                double* o = writable_2d<double>(out, "out", n, dim);
                if (dim != model.dim) throw std::invalid_argument("out: dimension does not match the data");
                py::gil_scoped_release release;
                kde::sample(model, key, r0, n, o, n_threads);
            }
        },
        py::arg("kernel"), py::arg("points"), py::arg("chol"), py::arg("prob"), py::arg("alias"), py::arg("key"),
        py::arg("r0"), py::arg("out"), py::arg("n_threads"), "Rows r0 .. r0 + len(out) of a KDE sample.");
}

}  // namespace gensample::bindings
