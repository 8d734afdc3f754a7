// _core.regions: Box.
#include "common.hpp"
#include "gensample/regions.hpp"

namespace gensample::bindings {

void register_regions(py::module_& m) {
    m.def(
        "box_sample",
        [](uint64_t key, const CArray<double>& low, const CArray<double>& width, py::array out, int n_threads,
           int64_t first_row) {
            const int64_t dim = low.ndim() == 1 ? low.shape(0) : -1;
            const double* lo = vector_of(low, dim, "low");
            const double* w = vector_of(width, dim, "width");
            fill_rows(out, dim,
                      [&](auto* p, int64_t n, int64_t) { box_sample(key, first_row, n, dim, lo, w, p, n_threads); });
        },
        py::arg("key"), py::arg("low"), py::arg("width"), py::arg("out"), py::arg("n_threads"),
        py::arg("first_row") = 0, "Rows first_row .. first_row + len(out) of the box's sample of stream key.");
    m.def(
        "box_contains",
        [](const py::array& x, const CArray<double>& low, const CArray<double>& high, int n_threads) {
            py::array_t<bool> inside(py::ssize_t(x.ndim() == 2 ? x.shape(0) : 0));
            uint8_t* o = reinterpret_cast<uint8_t*>(inside.mutable_data());
            dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                int64_t n = 0, dim = 0;
                const T* p = readonly_2d<T>(x, "x", n, dim);
                const double* lo = vector_of(low, dim, "low");
                const double* hi = vector_of(high, dim, "high");
                py::gil_scoped_release release;
                box_contains(p, n, dim, lo, hi, o, n_threads);
            });
            return inside;
        },
        py::arg("x"), py::arg("low"), py::arg("high"), py::arg("n_threads"));
}

}  // namespace gensample::bindings
