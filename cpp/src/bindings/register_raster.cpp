// _core.raster: RasterMask and GeoMask kernels. The run index lives in NumPy arrays owned
// by the Python object, passed here as a dict of named arrays.
#include "common.hpp"

#include "gensample/draws.hpp"
#include "gensample/raster.hpp"

namespace gensample::bindings {
namespace {

// The run index (raster.py's RasterMask._index): a dict of named arrays.
RasterView view_of(const py::dict& d) {
    const Named in(d, "raster index");
    RasterView r;
    int64_t dim = -1;
    r.shape = in.array<int64_t>("shape", {&dim});
    if (dim < 1 || dim > 8) throw std::invalid_argument("raster index: 1 to 8 axes");
    r.dim = int(dim);
    r.origin = in.array<double>("origin", {dim});
    r.step = in.array<double>("step", {dim});
    r.n_rows = 1;
    for (int a = 0; a + 1 < r.dim; ++a) r.n_rows *= r.shape[a];
    r.row_ptr = in.array<int64_t>("row_ptr", {r.n_rows + 1});
    r.n_runs = r.row_ptr[r.n_rows];
    r.start = in.array<uint32_t>("start", {r.n_runs});
    r.weighted = in.value<bool>("weighted");
    if (r.weighted) r.weight = in.array<double>("weight", {r.n_runs});
    r.pick = reinterpret_cast<const RunPick*>(in.array<uint8_t>("pick", {r.n_runs * int64_t(sizeof(RunPick))}));
    if (in.has("sin_lat_edge")) {
        if (r.dim != 2) throw std::invalid_argument("raster index: a sphere grid has 2 axes");
        r.sin_lat_edge = in.array<double>("sin_lat_edge", {r.n_rows + 1});
        if (in.has("lat_series")) r.lat_series = in.array<double>("lat_series", {r.n_rows * 5});
    }
    r.max_weight = in.value<double>("max_weight");
    return r;
}

}  // namespace

void register_raster(py::module_& m) {
    m.def(
        "runs",
        [](const CArray<uint8_t>& mask, const py::object& weights, int n_threads) {
            if (mask.ndim() != 2) throw std::invalid_argument("mask: expected a 2-D uint8 array (rows, cells)");
            const int64_t n_rows = mask.shape(0), n_cols = mask.shape(1);
            const double* w = nullptr;
            CArray<double> wa;
            if (!weights.is_none()) {
                wa = weights.cast<CArray<double>>();
                if (wa.ndim() != 2 || wa.shape(0) != n_rows || wa.shape(1) != n_cols) {
                    throw std::invalid_argument("weights: expected the mask's shape");
                }
                w = wa.data();
            }
            const uint8_t* p = mask.data();
            RasterRuns runs;
            {
                py::gil_scoped_release release;
                runs = raster_runs(p, w, n_rows, n_cols, n_threads);
            }
            return py::make_tuple(to_numpy(std::move(runs.row_ptr)), to_numpy(std::move(runs.start)),
                                  to_numpy(std::move(runs.length)), to_numpy(std::move(runs.weight)));
        },
        py::arg("mask"), py::arg("weights"), py::arg("n_threads"),
        "Run-length index of a (rows, cells) mask: (row_ptr, start, length, weight).");
    m.def(
        "pick_table",
        [](const CArray<double>& mass, const CArray<uint32_t>& run_row, const CArray<uint32_t>& start,
           const CArray<uint32_t>& length, py::array out) {
            const int64_t n = mass.shape(0);
            if (mass.ndim() != 1 || run_row.shape(0) != n || start.shape(0) != n || length.shape(0) != n) {
                throw std::invalid_argument(
                    "raster_pick_table: mass, run_row, start, length must have one entry per run");
            }
            if (!py::isinstance<CArray<uint8_t>>(out) || out.ndim() != 1 || !(out.flags() & py::array::c_style) ||
                !out.writeable() || out.shape(0) != n * py::ssize_t(sizeof(RunPick)) ||
                reinterpret_cast<uintptr_t>(out.data()) % sizeof(RunPick) != 0) {
                throw std::invalid_argument(
                    "raster_pick_table: out must be a writable uint8 array of 32 bytes per run, "
                    "32-byte aligned");
            }
            auto* pick = static_cast<RunPick*>(out.mutable_data());
            py::gil_scoped_release release;
            raster_pick_table(mass.data(), run_row.data(), start.data(), length.data(), n, pick);
        },
        py::arg("mass"), py::arg("run_row"), py::arg("start"), py::arg("length"), py::arg("out"),
        "The exact sampler's alias table over runs into out, each entry 32 bytes with both runs inline.");
    m.def(
        "sample_exact",
        [](const py::dict& index, uint64_t key, const py::object& rows, int64_t r0, py::array out, int n_threads) {
            const RasterView r = view_of(index);
            const int64_t* rp = rows_of(rows, out.ndim() == 2 ? out.shape(0) : 0);
            fill_rows(out, r.dim,
                      [&](auto* p, int64_t n, int64_t) { raster_sample_exact(r, key, rp, r0, n, p, n_threads); });
        },
        py::arg("index"), py::arg("key"), py::arg("rows"), py::arg("r0"), py::arg("out"), py::arg("n_threads"));
    m.def(
        "sample_rejection",
        [](const py::dict& index, const CArray<double>& box_lo, const CArray<double>& box_hi, uint64_t key,
           const py::object& rows, int64_t r0, double min_acceptance, py::array out, int n_threads) {
            const RasterView r = view_of(index);
            const double* lo = vector_of(box_lo, r.dim, "box_lo");
            const double* hi = vector_of(box_hi, r.dim, "box_hi");
            const int64_t* rp = rows_of(rows, out.ndim() == 2 ? out.shape(0) : 0);
            fill_rows(out, r.dim, [&](auto* p, int64_t n, int64_t) {
                raster_sample_rejection(r, lo, hi, key, rp, r0, n, min_acceptance, p, n_threads);
            });
        },
        py::arg("index"), py::arg("box_lo"), py::arg("box_hi"), py::arg("key"), py::arg("rows"), py::arg("r0"),
        py::arg("min_acceptance"), py::arg("out"), py::arg("n_threads"));
    m.def(
        "locate",
        [](const py::dict& index, const py::array& x, int n_threads) {
            const RasterView r = view_of(index);
            py::array_t<int64_t> run(py::ssize_t(x.ndim() == 2 ? x.shape(0) : 0));
            int64_t* o = run.mutable_data();
            dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                int64_t n = 0, d = 0;
                const T* p = readonly_2d<T>(x, "x", n, d);
                if (d != r.dim) throw std::invalid_argument("x: wrong number of columns");
                py::gil_scoped_release release;
                raster_locate(r, p, n, o, n_threads);
            });
            return run;
        },
        py::arg("index"), py::arg("x"), py::arg("n_threads"));
    py::register_exception<LowAcceptance>(m, "AcceptanceError", PyExc_RuntimeError);
}

}  // namespace gensample::bindings
