// _core.validation: the input checks' pass over a float array (validation.hpp).
#include "common.hpp"
#include "gensample/validation.hpp"

namespace gensample::bindings {

void register_validation(py::module_& m) {
    m.def(
        "scan_values",
        [](const py::array& x, int n_threads) {
            // Only the caller's own array (a py::array argument is never a converted copy).
            return dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                const T* p = static_cast<const T*>(x.data());
                validation::Scan s;
                {
                    py::gil_scoped_release release;
                    s = validation::scan(p, int64_t(x.size()), n_threads);
                }
                return py::make_tuple(s.finite, s.max_abs);
            });
        },
        py::arg("x"), py::arg("n_threads"),
        "(all values finite, max |value|) of a C-contiguous float array of any shape.");
}

}  // namespace gensample::bindings
