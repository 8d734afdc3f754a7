// gensample.raster: RasterMask and GeoMask kernels. The run index lives in NumPy arrays
// owned by the Python object, passed here as a dict of named arrays.
#include "common.hpp"

#include "gensample/draws.hpp"
#include "gensample/raster.hpp"

namespace gensample::bindings {
namespace {

template <class T>
const T* field(const py::dict& d, const char* name, int64_t size = -1) {
    if (!d.contains(name)) throw std::invalid_argument(std::string("raster index: missing ") + name);
    py::object o = d[name];
    if (!py::isinstance<CArray<T>>(o)) throw std::invalid_argument(std::string("raster index: bad dtype for ") + name);
    auto a = o.cast<CArray<T>>();
    if (a.ndim() != 1 || (size >= 0 && a.shape(0) != size)) {
        throw std::invalid_argument(std::string("raster index: bad shape for ") + name);
    }
    return a.data();
}

RasterView view_of(const py::dict& d) {
    RasterView r;
    auto shape = d["shape"].cast<CArray<int64_t>>();
    r.dim = int(shape.shape(0));
    if (r.dim < 1 || r.dim > 8) throw std::invalid_argument("raster index: 1 to 8 axes");
    r.shape = shape.data();
    r.origin = field<double>(d, "origin", r.dim);
    r.step = field<double>(d, "step", r.dim);
    r.n_rows = 1;
    for (int a = 0; a + 1 < r.dim; ++a) r.n_rows *= r.shape[a];
    r.row_ptr = field<int64_t>(d, "row_ptr", r.n_rows + 1);
    r.n_runs = r.row_ptr[r.n_rows];
    r.start = field<uint32_t>(d, "start", r.n_runs);
    r.weighted = d["weighted"].cast<bool>();
    if (r.weighted) r.weight = field<double>(d, "weight", r.n_runs);
    r.pick = reinterpret_cast<const RunPick*>(field<uint8_t>(d, "pick", r.n_runs * int64_t(sizeof(RunPick))));
    if (d.contains("sin_lat_edge") && !d["sin_lat_edge"].is_none()) {
        if (r.dim != 2) throw std::invalid_argument("raster index: a sphere grid has 2 axes");
        r.sin_lat_edge = field<double>(d, "sin_lat_edge", r.n_rows + 1);
        if (d.contains("lat_series") && !d["lat_series"].is_none()) {
            r.lat_series = field<double>(d, "lat_series", r.n_rows * 5);
        }
    }
    r.max_weight = d["max_weight"].cast<double>();
    return r;
}

template <class Kernel>
void sample_into(py::array& out, int dim, Kernel kernel) {
    int64_t n = 0, d = 0;
    if (py::isinstance<CArray<double>>(out)) {
        double* p = writable_2d<double>(out, "out", n, d);
        if (d != dim) throw std::invalid_argument("out: wrong number of columns");
        py::gil_scoped_release release;
        kernel(p, n);
    } else {
        float* p = writable_2d<float>(out, "out", n, d);
        if (d != dim) throw std::invalid_argument("out: wrong number of columns");
        py::gil_scoped_release release;
        kernel(p, n);
    }
}

}  // namespace

void register_raster(py::module_& m) {
    m.def(
        "raster_runs",
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
        "alias_table",
        [](const CArray<double>& mass) {
            if (mass.ndim() != 1) throw std::invalid_argument("mass: expected a 1-D float64 array");
            const double* p = mass.data();
            const int64_t n = mass.shape(0);
            AliasTable t;
            {
                py::gil_scoped_release release;
                t = build_alias(p, n);
            }
            return py::make_tuple(to_numpy(std::move(t.prob)), to_numpy(std::move(t.alias)));
        },
        py::arg("mass"), "Vose alias table (prob, alias) for outcome masses.");
    m.def(
        "raster_pick_table",
        [](const CArray<double>& mass, const CArray<uint32_t>& run_row, const CArray<uint32_t>& start,
           const CArray<uint32_t>& length, py::array out) {
            const int64_t n = mass.shape(0);
            if (mass.ndim() != 1 || run_row.shape(0) != n || start.shape(0) != n || length.shape(0) != n) {
                throw std::invalid_argument("raster_pick_table: mass, run_row, start, length must have one entry per run");
            }
            if (!py::isinstance<CArray<uint8_t>>(out) || out.ndim() != 1 || !(out.flags() & py::array::c_style) ||
                !out.writeable() || out.shape(0) != n * py::ssize_t(sizeof(RunPick)) ||
                reinterpret_cast<uintptr_t>(out.data()) % sizeof(RunPick) != 0) {
                throw std::invalid_argument("raster_pick_table: out must be a writable uint8 array of 32 bytes per run, "
                                            "32-byte aligned");
            }
            auto* pick = static_cast<RunPick*>(out.mutable_data());
            py::gil_scoped_release release;
            raster_pick_table(mass.data(), run_row.data(), start.data(), length.data(), n, pick);
        },
        py::arg("mass"), py::arg("run_row"), py::arg("start"), py::arg("length"), py::arg("out"),
        "The exact sampler's alias table over runs into out, each entry 32 bytes with both runs inline.");
    m.def(
        "raster_sample_exact",
        [](const py::dict& index, uint64_t key, const py::object& rows, int64_t r0, py::array out, int n_threads) {
            const RasterView r = view_of(index);
            const int64_t* rp = rows_of(rows, out.ndim() == 2 ? out.shape(0) : 0);
            sample_into(out, r.dim, [&](auto* p, int64_t n) { raster_sample_exact(r, key, rp, r0, n, p, n_threads); });
        },
        py::arg("index"), py::arg("key"), py::arg("rows"), py::arg("r0"), py::arg("out"), py::arg("n_threads"));
    m.def(
        "raster_sample_rejection",
        [](const py::dict& index, const CArray<double>& box_lo, const CArray<double>& box_hi, uint64_t key,
           const py::object& rows, int64_t r0, double min_acceptance, py::array out, int n_threads) {
            const RasterView r = view_of(index);
            const double* lo = vector_of(box_lo, r.dim, "box_lo");
            const double* hi = vector_of(box_hi, r.dim, "box_hi");
            const int64_t* rp = rows_of(rows, out.ndim() == 2 ? out.shape(0) : 0);
            sample_into(out, r.dim, [&](auto* p, int64_t n) {
                raster_sample_rejection(r, lo, hi, key, rp, r0, n, min_acceptance, p, n_threads);
            });
        },
        py::arg("index"), py::arg("box_lo"), py::arg("box_hi"), py::arg("key"), py::arg("rows"), py::arg("r0"),
        py::arg("min_acceptance"), py::arg("out"), py::arg("n_threads"));
    m.def(
        "raster_locate",
        [](const py::dict& index, const py::array& x, int n_threads) {
            const RasterView r = view_of(index);
            int64_t n = 0, d = 0;
            py::array_t<int64_t> run(py::ssize_t(x.ndim() == 2 ? x.shape(0) : 0));
            int64_t* o = run.mutable_data();
            if (py::isinstance<CArray<double>>(x)) {
                const double* p = readonly_2d<double>(x, "x", n, d);
                if (d != r.dim) throw std::invalid_argument("x: wrong number of columns");
                py::gil_scoped_release release;
                raster_locate(r, p, n, o, n_threads);
            } else {
                const float* p = readonly_2d<float>(x, "x", n, d);
                if (d != r.dim) throw std::invalid_argument("x: wrong number of columns");
                py::gil_scoped_release release;
                raster_locate(r, p, n, o, n_threads);
            }
            return run;
        },
        py::arg("index"), py::arg("x"), py::arg("n_threads"));
    m.def("subkey", &subkey, py::arg("key"), py::arg("index"), "Key of sub-stream `index` of `key`.");
    py::register_exception<LowAcceptance>(m, "AcceptanceError", PyExc_RuntimeError);
}

}  // namespace gensample::bindings
