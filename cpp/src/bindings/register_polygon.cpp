// _core.polygon: triangulation, strip index, contains and sampling.
#include "common.hpp"
#include "gensample/polygon.hpp"

namespace gensample::bindings {
namespace {

PolygonRings rings_of(const CArray<double>& xy, const CArray<int64_t>& ring_ptr, const CArray<int64_t>& poly_ptr) {
    if (xy.ndim() != 2 || xy.shape(1) != 2) throw std::invalid_argument("xy: expected an (n, 2) float64 array");
    if (ring_ptr.ndim() != 1 || poly_ptr.ndim() != 1 || poly_ptr.shape(0) < 2) {
        throw std::invalid_argument("ring_ptr, poly_ptr: expected 1-D int64 offsets");
    }
    const int64_t n_polys = poly_ptr.shape(0) - 1, n_rings = ring_ptr.shape(0) - 1;
    const int64_t* pp = poly_ptr.data();
    const int64_t* rp = ring_ptr.data();
    if (pp[0] != 0 || pp[n_polys] != n_rings || rp[0] != 0 || rp[n_rings] != xy.shape(0)) {
        throw std::invalid_argument("ring_ptr, poly_ptr: offsets do not cover the points");
    }
    for (int64_t k = 0; k < n_polys; ++k) {
        if (pp[k + 1] <= pp[k]) throw std::invalid_argument("poly_ptr: every polygon needs a shell");
    }
    for (int64_t k = 0; k < n_rings; ++k) {
        if (rp[k + 1] < rp[k]) throw std::invalid_argument("ring_ptr: offsets must not decrease");
    }
    return PolygonRings{xy.data(), rp, pp, n_polys};
}

// The strip index (polygon.hpp's EdgeStrips) as strips() returns it: a dict by name.
EdgeStripsView strips_of(const py::dict& d) {
    const Named in(d, "strips");
    EdgeStripsView s{};
    s.y0 = in.value<double>("y0"), s.inv_height = in.value<double>("inv_height");
    s.xmin = in.value<double>("xmin"), s.xmax = in.value<double>("xmax"), s.ymax = in.value<double>("ymax");
    s.n_strips = in.value<int64_t>("n_strips");
    int64_t n_edges = -1, n_values = -1;
    s.strip_ptr = in.array<int64_t>("strip_ptr", {s.n_strips + 1});
    s.edge = in.array<uint32_t>("edge", {&n_edges});
    s.edges = in.array<double>("edges", {&n_values});
    return s;
}

}  // namespace

void register_polygon(py::module_& m) {
    m.def(
        "triangulate",
        [](const CArray<double>& xy, const CArray<int64_t>& ring_ptr, const CArray<int64_t>& poly_ptr) {
            const PolygonRings rings = rings_of(xy, ring_ptr, poly_ptr);
            Triangulation t;
            {
                py::gil_scoped_release release;
                t = triangulate(rings);
            }
            const py::ssize_t m = py::ssize_t(t.area.size());
            auto tri = to_numpy(std::move(t.tri)).reshape({m, py::ssize_t(6)});
            auto area = to_numpy(std::move(t.area));
            return py::make_tuple(tri, area);
        },
        py::arg("xy"), py::arg("ring_ptr"), py::arg("poly_ptr"),
        "Triangles (m, 6) as (ax, ay, bx-ax, by-ay, cx-ax, cy-ay) and their areas.");
    m.def(
        "strips",
        [](const CArray<double>& xy, const CArray<int64_t>& ring_ptr, const CArray<int64_t>& poly_ptr) {
            const PolygonRings rings = rings_of(xy, ring_ptr, poly_ptr);
            EdgeStrips s;
            {
                py::gil_scoped_release release;
                s = build_edge_strips(rings);
            }
            py::dict out;
            out["y0"] = s.y0, out["inv_height"] = s.inv_height, out["n_strips"] = s.n_strips;
            out["xmin"] = s.xmin, out["xmax"] = s.xmax, out["ymax"] = s.ymax;
            out["strip_ptr"] = to_numpy(std::move(s.strip_ptr));
            out["edge"] = to_numpy(std::move(s.edge));
            out["edges"] = to_numpy(std::move(s.edges));
            return out;
        },
        py::arg("xy"), py::arg("ring_ptr"), py::arg("poly_ptr"),
        "Strip index over the edges, by name: y0, inv_height, n_strips, xmin, xmax, ymax, strip_ptr, edge, edges.");
    m.def(
        "contains",
        [](const py::dict& strips, const py::array& x, int n_threads) {
            const EdgeStripsView s = strips_of(strips);
            py::array_t<bool> inside(py::ssize_t(x.ndim() == 2 ? x.shape(0) : 0));
            uint8_t* o = reinterpret_cast<uint8_t*>(inside.mutable_data());
            dispatch_float(x, "x", [&](auto tag) {
                using T = typename decltype(tag)::type;
                int64_t n = 0, d = 0;
                const T* p = readonly_2d<T>(x, "x", n, d);
                if (d != 2) throw std::invalid_argument("x: expected 2 columns");
                py::gil_scoped_release release;
                polygon_contains(s, p, n, o, n_threads);
            });
            return inside;
        },
        py::arg("strips"), py::arg("x"), py::arg("n_threads"));
    m.def(
        "sample",
        [](const CArray<double>& tri, const CArray<double>& prob, const CArray<uint32_t>& alias, uint64_t key,
           const py::object& rows, int64_t r0, py::array out, int n_threads) {
            if (tri.ndim() != 2 || tri.shape(1) != 6 || prob.shape(0) != tri.shape(0) ||
                alias.shape(0) != tri.shape(0)) {
                throw std::invalid_argument("triangles: expected (m, 6) with m alias entries");
            }
            const TriangleView t{tri.data(), prob.data(), alias.data(), tri.shape(0)};
            const int64_t* rp = rows_of(rows, out.ndim() == 2 ? out.shape(0) : 0);
            fill_rows(out, 2, [&](auto* p, int64_t n, int64_t) { polygon_sample(t, key, rp, r0, n, p, n_threads); });
        },
        py::arg("tri"), py::arg("prob"), py::arg("alias"), py::arg("key"), py::arg("rows"), py::arg("r0"),
        py::arg("out"), py::arg("n_threads"));
}

}  // namespace gensample::bindings
