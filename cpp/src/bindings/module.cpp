// gensample._core: the compiled core. Private; the public API is the Python package.
// One submodule per area, each filled by its register_<area>.cpp: _core.gmm.evaluate, ...
#include "common.hpp"

PYBIND11_MODULE(_core, m) {
    using namespace gensample::bindings;
    m.doc() = "gensample's compiled core (private: use the gensample package)";
    m.attr("tile") = gensample::tiles::kTile;  // points per tile of the tiled engines (tiles.hpp)
    struct Area {
        const char* name;
        const char* doc;
        void (*fill)(py::module_&);
    };
    const Area areas[] = {
        {"threads", "Thread counts, interrupts and the instruction set in use.", register_threads},
        {"validation", "The input checks' parallel scan.", register_validation},
        {"random", "Philox streams: bulk draws, sub-stream keys, alias tables.", register_random},
        {"regions", "Boxes.", register_regions},
        {"raster", "RasterMask and GeoMask: run-length indices and their sampling.", register_raster},
        {"polygon", "Polygons: triangulation, strips, sampling, containment.", register_polygon},
        {"kde", "Kernel density estimation.", register_kde},
        {"gmm", "Gaussian mixtures: passes over points, EM sums, k-means, sampling.", register_gmm},
        {"flow", "Flows: velocity fields and the solvers.", register_flow},
        {"mcmc", "Markov chains: Langevin, MALA and HMC.", register_mcmc},
        {"metrics", "Sample-based metrics: kernel pair sums, nearest neighbours.", register_metrics},
    };
    for (const Area& a : areas) {
        py::module_ sub = m.def_submodule(a.name, a.doc);
        a.fill(sub);
    }
}
