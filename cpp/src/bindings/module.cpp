// gensample._core: the compiled core. Private; the public API is the Python package.
#include "common.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "gensample's compiled core (private: use the gensample package)";
    gensample::bindings::register_threads(m);
    gensample::bindings::register_validation(m);
    gensample::bindings::register_random(m);
    gensample::bindings::register_regions(m);
    gensample::bindings::register_raster(m);
    gensample::bindings::register_polygon(m);
    gensample::bindings::register_kde(m);
    gensample::bindings::register_gmm(m);
    gensample::bindings::register_flow(m);
    gensample::bindings::register_metrics(m);
}
