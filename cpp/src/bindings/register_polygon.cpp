// gensample.polygon: triangulation, strip index, contains and sampling.
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

EdgeStripsView strips_of(const py::tuple& t) {
    auto ptr = t[3].cast<CArray<int64_t>>();
    auto edge = t[4].cast<CArray<uint32_t>>();
    auto edges = t[5].cast<CArray<double>>();
    auto bounds = t[0].cast<CArray<double>>();  // (y0, inv_height, xmin, xmax, ymax)
    if (bounds.shape(0) != 5 || edges.ndim() != 1) throw std::invalid_argument("strips: bad index");
    const int64_t n_strips = t[1].cast<int64_t>();
    if (ptr.shape(0) != n_strips + 1) throw std::invalid_argument("strips: bad strip offsets");
    const double* b = bounds.data();
    return EdgeStripsView{b[0], b[1], n_strips, ptr.data(), edge.data(), edges.data(), b[2], b[3], b[4]};
}

}  // namespace

void register_polygon(py::module_& m) {
    m.def(
        "polygon_triangulate",
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
        "polygon_strips",
        [](const CArray<double>& xy, const CArray<int64_t>& ring_ptr, const CArray<int64_t>& poly_ptr) {
            const PolygonRings rings = rings_of(xy, ring_ptr, poly_ptr);
            EdgeStrips s;
            {
                py::gil_scoped_release release;
                s = build_edge_strips(rings);
            }
            CArray<double> bounds(5);
            double* b = bounds.mutable_data();
            b[0] = s.y0, b[1] = s.inv_height, b[2] = s.xmin, b[3] = s.xmax, b[4] = s.ymax;
            return py::make_tuple(bounds, s.n_strips, py::none(), to_numpy(std::move(s.strip_ptr)),
                                  to_numpy(std::move(s.edge)), to_numpy(std::move(s.edges)));
        },
        py::arg("xy"), py::arg("ring_ptr"), py::arg("poly_ptr"),
        "Strip index over the edges: (bounds, n_strips, None, strip_ptr, edge, edges).");
    m.def(
        "polygon_contains",
        [](const py::tuple& strips, const py::array& x, int n_threads) {
            const EdgeStripsView s = strips_of(strips);
            int64_t n = 0, d = 0;
            py::array_t<bool> inside(py::ssize_t(x.ndim() == 2 ? x.shape(0) : 0));
            uint8_t* o = reinterpret_cast<uint8_t*>(inside.mutable_data());
            if (py::isinstance<CArray<double>>(x)) {
                const double* p = readonly_2d<double>(x, "x", n, d);
                if (d != 2) throw std::invalid_argument("x: expected 2 columns");
                py::gil_scoped_release release;
                polygon_contains(s, p, n, o, n_threads);
            } else {
                const float* p = readonly_2d<float>(x, "x", n, d);
                if (d != 2) throw std::invalid_argument("x: expected 2 columns");
                py::gil_scoped_release release;
                polygon_contains(s, p, n, o, n_threads);
            }
            return inside;
        },
        py::arg("strips"), py::arg("x"), py::arg("n_threads"));
    m.def(
        "polygon_sample",
        [](const CArray<double>& tri, const CArray<double>& prob, const CArray<uint32_t>& alias, uint64_t key,
           const py::object& rows, int64_t r0, py::array out, int n_threads) {
            if (tri.ndim() != 2 || tri.shape(1) != 6 || prob.shape(0) != tri.shape(0) || alias.shape(0) != tri.shape(0)) {
                throw std::invalid_argument("triangles: expected (m, 6) with m alias entries");
            }
            const TriangleView t{tri.data(), prob.data(), alias.data(), tri.shape(0)};
            int64_t n = 0, d = 0;
            const int64_t* rp = rows_of(rows, out.ndim() == 2 ? out.shape(0) : 0);
            if (py::isinstance<CArray<double>>(out)) {
                double* p = writable_2d<double>(out, "out", n, d);
                if (d != 2) throw std::invalid_argument("out: expected 2 columns");
                py::gil_scoped_release release;
                polygon_sample(t, key, rp, r0, n, p, n_threads);
            } else {
                float* p = writable_2d<float>(out, "out", n, d);
                if (d != 2) throw std::invalid_argument("out: expected 2 columns");
                py::gil_scoped_release release;
                polygon_sample(t, key, rp, r0, n, p, n_threads);
            }
        },
        py::arg("tri"), py::arg("prob"), py::arg("alias"), py::arg("key"), py::arg("rows"), py::arg("r0"),
        py::arg("out"), py::arg("n_threads"));
}

}  // namespace gensample::bindings
