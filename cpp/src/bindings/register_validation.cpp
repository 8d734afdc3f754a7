// The input checks' pass over a float array (validation.hpp).
#include "common.hpp"
#include "gensample/validation.hpp"

namespace gensample::bindings {
namespace {

template <class T>
py::tuple scan_of(const CArray<T>& x, int n_threads) {
    validation::Scan s;
    {
        py::gil_scoped_release release;
        s = validation::scan(x.data(), int64_t(x.size()), n_threads);
    }
    return py::make_tuple(s.finite, s.max_abs);
}

}  // namespace

void register_validation(py::module_& m) {
    m.def(
        "scan_values",
        [](const py::array& x, int n_threads) {
            // Only the caller's own C-contiguous float array, never a converted copy.
            if (py::isinstance<CArray<double>>(x) && (x.flags() & py::array::c_style)) {
                return scan_of<double>(py::reinterpret_borrow<CArray<double>>(x), n_threads);
            }
            if (py::isinstance<CArray<float>>(x) && (x.flags() & py::array::c_style)) {
                return scan_of<float>(py::reinterpret_borrow<CArray<float>>(x), n_threads);
            }
            throw std::invalid_argument("x: expected a C-contiguous float64 or float32 array");
        },
        py::arg("x"), py::arg("n_threads"),
        "(all values finite, max |value|) of a C-contiguous float array of any shape.");
}

}  // namespace gensample::bindings
