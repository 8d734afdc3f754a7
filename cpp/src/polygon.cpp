#include "gensample/polygon.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "gensample/draws.hpp"
#include "gensample/parallel.hpp"

namespace gensample {
namespace {

struct Pt {
    double x, y;
};

inline double cross(Pt o, Pt a, Pt b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }
inline bool same(Pt a, Pt b) { return a.x == b.x && a.y == b.y; }

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(what); }

std::string ring_name(int64_t poly, int64_t ring_in_poly) {
    std::string s = ring_in_poly == 0 ? "shell" : "hole " + std::to_string(ring_in_poly - 1);
    return "polygon " + std::to_string(poly) + " " + s;
}

std::string at(Pt p) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " near (%.17g, %.17g)", p.x, p.y);
    return buf;
}

// Twice the signed area (positive: counter-clockwise).
double signed_area2(const std::vector<Pt>& r) {
    double s = 0;
    for (size_t i = 0, j = r.size() - 1; i < r.size(); j = i++) s += (r[j].x - r[i].x) * (r[j].y + r[i].y);
    return s;
}

// Crossing number; points on the boundary count either way.
bool in_ring(const std::vector<Pt>& r, Pt p) {
    bool in = false;
    for (size_t i = 0, j = r.size() - 1; i < r.size(); j = i++) {
        if ((r[i].y > p.y) != (r[j].y > p.y) && p.x < r[i].x + (p.y - r[i].y) * (r[j].x - r[i].x) / (r[j].y - r[i].y)) {
            in = !in;
        }
    }
    return in;
}

struct Ring {
    std::vector<Pt> pts;
    int64_t poly, index;  // index 0: shell
    double area2;         // twice the signed area as given
    double xmin, xmax, ymin, ymax;
};

// Rings without the closing point and repeated points, oriented, checked for size and area.
std::vector<Ring> read_rings(const PolygonRings& in) {
    std::vector<Ring> rings;
    for (int64_t p = 0; p < in.n_polys; ++p) {
        for (int64_t k = in.poly_ptr[p]; k < in.poly_ptr[p + 1]; ++k) {
            Ring r{{}, p, k - in.poly_ptr[p], 0, 0, 0, 0, 0};
            for (int64_t i = in.ring_ptr[k]; i < in.ring_ptr[k + 1]; ++i) {
                const Pt q{in.xy[2 * i], in.xy[2 * i + 1]};
                if (r.pts.empty() || !same(r.pts.back(), q)) r.pts.push_back(q);
            }
            while (r.pts.size() > 1 && same(r.pts.front(), r.pts.back())) r.pts.pop_back();
            const std::string name = ring_name(p, r.index);
            if (r.pts.size() < 3) fail(name + " has fewer than 3 distinct vertices");
            bool collinear = true;
            for (Pt q : r.pts) collinear &= cross(r.pts[0], r.pts[1], q) == 0;
            if (collinear) fail(name + " has zero area (its vertices are collinear)");
            const double a2 = signed_area2(r.pts);
            r.area2 = a2;
            if ((a2 > 0) != (r.index == 0)) std::reverse(r.pts.begin(), r.pts.end());  // shell CCW, holes CW
            r.xmin = r.xmax = r.pts[0].x;
            r.ymin = r.ymax = r.pts[0].y;
            for (Pt q : r.pts) {
                r.xmin = std::min(r.xmin, q.x), r.xmax = std::max(r.xmax, q.x);
                r.ymin = std::min(r.ymin, q.y), r.ymax = std::max(r.ymax, q.y);
            }
            rings.push_back(std::move(r));
        }
    }
    return rings;
}

// Segments ab and cd share a point (including touching and collinear overlap).
bool segments_meet(Pt a, Pt b, Pt c, Pt d) {
    const double d1 = cross(a, b, c), d2 = cross(a, b, d), d3 = cross(c, d, a), d4 = cross(c, d, b);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
    auto on = [](Pt p, Pt q, Pt r) {  // r on segment pq, given collinear
        return std::min(p.x, q.x) <= r.x && r.x <= std::max(p.x, q.x) && std::min(p.y, q.y) <= r.y &&
               r.y <= std::max(p.y, q.y);
    };
    return (d1 == 0 && on(a, b, c)) || (d2 == 0 && on(a, b, d)) || (d3 == 0 && on(c, d, a)) || (d4 == 0 && on(c, d, b));
}

// A uniform grid over a bounding box: cell of a point, cells of a box.
struct Grid {
    double x0, y0, sx, sy;
    int64_t nx, ny;
    Grid(double xmin, double xmax, double ymin, double ymax, int64_t n_items) {
        const int64_t g = std::max<int64_t>(1, int64_t(std::sqrt(double(n_items) / 2.0)));
        nx = ny = g;
        x0 = xmin, y0 = ymin;
        sx = xmax > xmin ? double(g) / (xmax - xmin) : 0;
        sy = ymax > ymin ? double(g) / (ymax - ymin) : 0;
    }
    int64_t cx(double x) const { return std::clamp<int64_t>(int64_t((x - x0) * sx), 0, nx - 1); }
    int64_t cy(double y) const { return std::clamp<int64_t>(int64_t((y - y0) * sy), 0, ny - 1); }
};

// No two edges of any rings meet, except consecutive edges of one ring at their vertex.
void check_no_crossings(const std::vector<Ring>& rings) {
    struct Edge {
        Pt a, b;
        uint32_t ring, i, n;
    };
    std::vector<Edge> edges;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t k = 0; k < rings.size(); ++k) {
        const auto& r = rings[k].pts;
        for (size_t i = 0; i < r.size(); ++i) {
            edges.push_back({r[i], r[(i + 1) % r.size()], uint32_t(k), uint32_t(i), uint32_t(r.size())});
        }
        xmin = std::min(xmin, rings[k].xmin), xmax = std::max(xmax, rings[k].xmax);
        ymin = std::min(ymin, rings[k].ymin), ymax = std::max(ymax, rings[k].ymax);
    }
    const Grid g(xmin, xmax, ymin, ymax, int64_t(edges.size()));
    std::vector<std::vector<uint32_t>> cells(size_t(g.nx * g.ny));
    for (uint32_t e = 0; e < edges.size(); ++e) {
        const Edge& E = edges[e];
        for (int64_t y = g.cy(std::min(E.a.y, E.b.y)); y <= g.cy(std::max(E.a.y, E.b.y)); ++y) {
            for (int64_t x = g.cx(std::min(E.a.x, E.b.x)); x <= g.cx(std::max(E.a.x, E.b.x)); ++x) {
                cells[size_t(y * g.nx + x)].push_back(e);
            }
        }
    }
    for (const auto& cell : cells) {
        for (size_t p = 0; p < cell.size(); ++p) {
            for (size_t q = p + 1; q < cell.size(); ++q) {
                const Edge &A = edges[cell[p]], &B = edges[cell[q]];
                if (A.ring == B.ring) {
                    const uint32_t d = (A.i + A.n - B.i) % A.n;
                    if (d == 1 || d == A.n - 1) {  // neighbours: they share exactly one vertex
                        const Pt far_a = d == 1 ? A.b : A.a, far_b = d == 1 ? B.a : B.b;
                        const Pt shared = d == 1 ? A.a : A.b;
                        // They overlap only if they fold back onto each other.
                        if (cross(shared, far_a, far_b) != 0 ||
                            (far_a.x - shared.x) * (far_b.x - shared.x) + (far_a.y - shared.y) * (far_b.y - shared.y) <=
                                0) {
                            continue;
                        }
                        fail(ring_name(rings[A.ring].poly, rings[A.ring].index) + " folds back on itself" + at(shared));
                    }
                }
                if (segments_meet(A.a, A.b, B.a, B.b)) {
                    const Ring &ra = rings[A.ring], &rb = rings[B.ring];
                    std::string what = A.ring == B.ring ? ring_name(ra.poly, ra.index) + " intersects itself"
                                                        : ring_name(ra.poly, ra.index) + " and " +
                                                              ring_name(rb.poly, rb.index) + " cross or touch";
                    fail(what + at(A.a) + " (shapely's make_valid can repair it)");
                }
            }
        }
    }
}

// With no crossings, nesting decides validity: a hole lies in its shell and in no other
// hole of it; a polygon lies outside every other polygon (or inside one of its holes).
void check_nesting(const std::vector<Ring>& rings) {
    auto inside = [&](const Ring& a, const Ring& b) {  // a's first vertex inside ring b
        const Pt p = a.pts[0];
        return p.x >= b.xmin && p.x <= b.xmax && p.y >= b.ymin && p.y <= b.ymax && in_ring(b.pts, p);
    };
    for (size_t i = 0; i < rings.size(); ++i) {
        const Ring& a = rings[i];
        for (size_t j = 0; j < rings.size(); ++j) {
            if (i == j) continue;
            const Ring& b = rings[j];
            if (a.poly == b.poly) {
                if (a.index > 0 && b.index == 0 && !inside(a, b))
                    fail(ring_name(a.poly, a.index) + " lies outside its shell");
                if (a.index > 0 && b.index > 0 && inside(a, b))
                    fail(ring_name(a.poly, a.index) + " lies inside " + ring_name(b.poly, b.index));
            } else if (a.index == 0 && b.index == 0 && inside(a, b)) {
                bool in_hole = false;
                for (const Ring& h : rings) in_hole |= h.poly == b.poly && h.index > 0 && inside(a, h);
                if (!in_hole)
                    fail("polygon " + std::to_string(a.poly) + " overlaps polygon " + std::to_string(b.poly) +
                         " (polygons of a MultiPolygon must be disjoint)");
            }
        }
    }
}

// Ear clipping on a doubly linked list of vertices.
class EarClipper {
  public:
    explicit EarClipper(std::vector<double>& tri) : tri_(tri) {}

    int add_ring(const std::vector<Pt>& pts) {
        const int first = int(nodes_.size());
        const int n = int(pts.size());
        for (int i = 0; i < n; ++i) {
            nodes_.push_back({pts[size_t(i)], first + (i + n - 1) % n, first + (i + 1) % n, false});
        }
        return first;
    }

    // Joins hole `h` (its first node index; the hole is clockwise) to the outer ring.
    void bridge(int outer, int h, const std::string& name) {
        int m = h;  // the hole's rightmost vertex
        for (int v = nodes_[size_t(h)].next; v != h; v = nodes_[size_t(v)].next) {
            if (nodes_[size_t(v)].p.x > nodes_[size_t(m)].p.x) m = v;
        }
        const Pt M = nodes_[size_t(m)].p;
        // The nearest outer edge hit by the ray from M to +x.
        int best = -1;
        double best_x = INFINITY;
        int v = outer;
        do {
            const Node &a = nodes_[size_t(v)], &b = nodes_[size_t(a.next)];
            if (a.p.y != b.p.y && std::min(a.p.y, b.p.y) <= M.y && M.y <= std::max(a.p.y, b.p.y)) {
                const double x = a.p.x + (M.y - a.p.y) * (b.p.x - a.p.x) / (b.p.y - a.p.y);
                if (x >= M.x && x < best_x) {
                    best_x = x;
                    best = a.p.x > b.p.x ? v : a.next;
                    if (x == a.p.x) best = v;
                    if (x == b.p.x) best = a.next;
                }
            }
            v = nodes_[size_t(v)].next;
        } while (v != outer);
        if (best < 0) fail(name + " could not be joined to its shell");
        // A vertex inside triangle (M, I, P) is a better (visible) choice: the one closest in angle.
        const Pt I{best_x, M.y}, P = nodes_[size_t(best)].p;
        if (!same(I, P)) {
            double best_tan = INFINITY;
            int choice = best;
            v = outer;
            do {
                const Pt q = nodes_[size_t(v)].p;
                if (q.x >= M.x && q.x <= P.x && !same(q, P) && point_in_triangle(M, I, P, q, true)) {
                    const double t = std::abs(M.y - q.y) / (q.x - M.x);
                    if ((t < best_tan || (t == best_tan && q.x > nodes_[size_t(choice)].p.x)) && locally_inside(v, M)) {
                        best_tan = t;
                        choice = v;
                    }
                }
                v = nodes_[size_t(v)].next;
            } while (v != outer);
            best = choice;
        }
        // Among vertices at the same place (earlier bridges), take the one whose wedge holds M.
        v = outer;
        do {
            if (same(nodes_[size_t(v)].p, nodes_[size_t(best)].p) && locally_inside(v, M)) {
                best = v;
                break;
            }
            v = nodes_[size_t(v)].next;
        } while (v != outer);
        split(best, m);
    }

    // Clips ears until the ring starting at `start` is gone. False if stuck.
    bool clip(int start, int64_t count) {
        build_grid(start);
        int ear = start, stop = ear;
        bool filtered = false;
        while (count > 3) {
            const int a = nodes_[size_t(ear)].prev, c = nodes_[size_t(ear)].next;
            if (is_ear(a, ear, c)) {
                emit(a, ear, c);
                remove(ear);
                --count;
                ear = nodes_[size_t(c)].next;
                stop = ear;
                filtered = false;
                continue;
            }
            ear = c;
            if (ear == stop) {
                if (filtered) return false;
                count -= drop_degenerate(ear);  // collinear vertices and spikes block every ear
                stop = ear;
                filtered = true;
            }
        }
        const int a = nodes_[size_t(ear)].prev, c = nodes_[size_t(ear)].next;
        if (cross(nodes_[size_t(a)].p, nodes_[size_t(ear)].p, nodes_[size_t(c)].p) > 0) emit(a, ear, c);
        return true;
    }

  private:
    struct Node {
        Pt p;
        int prev, next;
        bool removed;
    };

    static bool point_in_triangle(Pt a, Pt b, Pt c, Pt p, bool any_orientation = false) {
        double d1 = cross(a, b, p), d2 = cross(b, c, p), d3 = cross(c, a, p);
        if (any_orientation) return (d1 >= 0 && d2 >= 0 && d3 >= 0) || (d1 <= 0 && d2 <= 0 && d3 <= 0);
        return d1 >= 0 && d2 >= 0 && d3 >= 0;
    }

    // The direction from v to q lies inside the polygon's angle at v (counter-clockwise ring).
    bool locally_inside(int v, Pt q) const {
        const Pt a = nodes_[size_t(nodes_[size_t(v)].prev)].p, b = nodes_[size_t(v)].p,
                 c = nodes_[size_t(nodes_[size_t(v)].next)].p;
        if (cross(a, b, c) >= 0) return cross(b, c, q) >= 0 && cross(a, b, q) >= 0;
        return cross(b, c, q) >= 0 || cross(a, b, q) >= 0;
    }

    // Links vertex a of the outer ring to vertex b of a hole with two copies, so that the
    // walk goes a -> b -> (hole) -> b' -> a' -> (rest of outer).
    void split(int a, int b) {
        const int a2 = int(nodes_.size()), b2 = a2 + 1;
        const int an = nodes_[size_t(a)].next, bp = nodes_[size_t(b)].prev;
        nodes_.push_back({nodes_[size_t(a)].p, -1, an, false});
        nodes_.push_back({nodes_[size_t(b)].p, bp, a2, false});
        nodes_[size_t(a2)].prev = b2;
        nodes_[size_t(an)].prev = a2;
        nodes_[size_t(bp)].next = b2;
        nodes_[size_t(a)].next = b;
        nodes_[size_t(b)].prev = a;
    }

    bool is_ear(int ia, int ib, int ic) const {
        const Pt a = nodes_[size_t(ia)].p, b = nodes_[size_t(ib)].p, c = nodes_[size_t(ic)].p;
        if (cross(a, b, c) <= 0) return false;  // reflex or flat
        const int64_t x0 = grid_.cx(std::min({a.x, b.x, c.x})), x1 = grid_.cx(std::max({a.x, b.x, c.x}));
        const int64_t y0 = grid_.cy(std::min({a.y, b.y, c.y})), y1 = grid_.cy(std::max({a.y, b.y, c.y}));
        for (int64_t y = y0; y <= y1; ++y) {
            for (int64_t x = x0; x <= x1; ++x) {
                for (int v : cells_[size_t(y * grid_.nx + x)]) {
                    const Node& n = nodes_[size_t(v)];
                    if (n.removed || v == ia || v == ib || v == ic || same(n.p, a) || same(n.p, b) || same(n.p, c))
                        continue;
                    if (point_in_triangle(a, b, c, n.p)) return false;
                }
            }
        }
        return true;
    }

    void emit(int a, int b, int c) {
        const Pt A = nodes_[size_t(a)].p, B = nodes_[size_t(b)].p, C = nodes_[size_t(c)].p;
        tri_.insert(tri_.end(), {A.x, A.y, B.x - A.x, B.y - A.y, C.x - A.x, C.y - A.y});
    }

    void remove(int v) {
        Node& n = nodes_[size_t(v)];
        nodes_[size_t(n.prev)].next = n.next;
        nodes_[size_t(n.next)].prev = n.prev;
        n.removed = true;
    }

    // Removes vertices of zero turn (collinear, repeated, spikes); returns how many.
    int64_t drop_degenerate(int& start) {
        int64_t dropped = 0;
        int v = start;
        int64_t guard = int64_t(nodes_.size()) * 2;
        do {
            const int a = nodes_[size_t(v)].prev, c = nodes_[size_t(v)].next;
            if (a != c && cross(nodes_[size_t(a)].p, nodes_[size_t(v)].p, nodes_[size_t(c)].p) == 0) {
                remove(v);
                ++dropped;
                if (v == start) start = c;
                v = a;  // the previous vertex may now be flat too
                if (nodes_[size_t(v)].next == nodes_[size_t(v)].prev) break;
                continue;
            }
            v = c;
        } while (v != start && --guard > 0);
        return dropped;
    }

    void build_grid(int start) {
        double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
        int64_t n = 0;
        int v = start;
        do {
            const Pt p = nodes_[size_t(v)].p;
            xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
            ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
            ++n;
            v = nodes_[size_t(v)].next;
        } while (v != start);
        grid_ = Grid(xmin, xmax, ymin, ymax, n);
        cells_.assign(size_t(grid_.nx * grid_.ny), {});
        v = start;
        do {
            const Pt p = nodes_[size_t(v)].p;
            cells_[size_t(grid_.cy(p.y) * grid_.nx + grid_.cx(p.x))].push_back(v);
            v = nodes_[size_t(v)].next;
        } while (v != start);
    }

    std::vector<Node> nodes_;
    std::vector<double>& tri_;
    Grid grid_{0, 0, 0, 0, 1};
    std::vector<std::vector<int>> cells_;
};

}  // namespace

Triangulation triangulate(const PolygonRings& in) {
    const std::vector<Ring> rings = read_rings(in);
    check_no_crossings(rings);  // first: a crossing ring (a bow tie) may also have zero area
    for (const Ring& r : rings) {
        if (!(r.area2 != 0) || !std::isfinite(r.area2))
            fail(ring_name(r.poly, r.index) + " has zero area (its vertices are collinear)");
    }
    check_nesting(rings);
    Triangulation t;
    double expected = 0;
    size_t k = 0;
    for (int64_t p = 0; p < in.n_polys; ++p) {
        const size_t first = k;
        while (k < rings.size() && rings[k].poly == p) ++k;
        EarClipper ec(t.tri);
        const int outer = ec.add_ring(rings[first].pts);
        int64_t count = int64_t(rings[first].pts.size());
        double area2 = signed_area2(rings[first].pts);
        std::vector<size_t> holes;
        for (size_t h = first + 1; h < k; ++h) holes.push_back(h);
        std::sort(holes.begin(), holes.end(), [&](size_t a, size_t b) { return rings[a].xmax > rings[b].xmax; });
        for (size_t h : holes) {
            const int start = ec.add_ring(rings[h].pts);
            ec.bridge(outer, start, ring_name(p, rings[h].index));
            count += int64_t(rings[h].pts.size()) + 2;
            area2 += signed_area2(rings[h].pts);
        }
        if (!ec.clip(outer, count))
            fail("polygon " + std::to_string(p) + " could not be triangulated (degenerate geometry)");
        expected += area2 / 2;
    }
    const size_t n_tri = t.tri.size() / 6;
    t.area.resize(n_tri);
    for (size_t i = 0; i < n_tri; ++i) {
        const double* q = &t.tri[6 * i];
        t.area[i] = 0.5 * std::abs(q[2] * q[5] - q[3] * q[4]);
        t.total_area += t.area[i];
    }
    // Every triangle lies inside and they do not overlap, so equal areas mean exact cover.
    if (!(std::abs(t.total_area - expected) <= 1e-9 * expected)) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "triangulation covers area %.17g but the polygons have area %.17g", t.total_area,
                      expected);
        fail(buf);
    }
    return t;
}

EdgeStrips build_edge_strips(const PolygonRings& in) {
    EdgeStrips s;
    const int64_t n_rings = in.poly_ptr[in.n_polys];
    double ymin = INFINITY, ymax = -INFINITY, xmin = INFINITY, xmax = -INFINITY;
    for (int64_t k = 0; k < n_rings; ++k) {
        const int64_t a = in.ring_ptr[k], b = in.ring_ptr[k + 1];
        for (int64_t i = a; i < b; ++i) {
            const int64_t j = i + 1 < b ? i + 1 : a;
            const double x0 = in.xy[2 * i], y0 = in.xy[2 * i + 1], x1 = in.xy[2 * j], y1 = in.xy[2 * j + 1];
            if (y0 == y1) continue;  // horizontal edges never cross a horizontal ray
            s.edges.insert(s.edges.end(), {x0, y0, x1, y1});
            ymin = std::min({ymin, y0, y1}), ymax = std::max({ymax, y0, y1});
            xmin = std::min({xmin, x0, x1}), xmax = std::max({xmax, x0, x1});
        }
    }
    const int64_t n_edges = int64_t(s.edges.size() / 4);
    s.y0 = ymin, s.ymax = ymax, s.xmin = xmin, s.xmax = xmax;
    // As many strips as edges, fewer when long edges would make the index large.
    int64_t n_strips = std::max<int64_t>(1, n_edges);
    std::vector<int64_t> lo(static_cast<size_t>(n_edges)), hi(static_cast<size_t>(n_edges));
    for (;;) {
        const double inv = double(n_strips) / (ymax - ymin);
        int64_t total = 0;
        for (int64_t e = 0; e < n_edges; ++e) {
            const double* q = &s.edges[size_t(4 * e)];
            lo[size_t(e)] = std::clamp<int64_t>(int64_t((std::min(q[1], q[3]) - ymin) * inv), 0, n_strips - 1);
            hi[size_t(e)] = std::clamp<int64_t>(int64_t((std::max(q[1], q[3]) - ymin) * inv), 0, n_strips - 1);
            total += hi[size_t(e)] - lo[size_t(e)] + 1;
        }
        if (total <= 16 * n_edges + 1024 || n_strips == 1) {
            s.inv_height = inv;
            break;
        }
        n_strips = std::max<int64_t>(1, n_strips / 4);
    }
    s.n_strips = n_strips;
    s.strip_ptr.assign(size_t(n_strips) + 1, 0);
    for (int64_t e = 0; e < n_edges; ++e) {
        for (int64_t k = lo[size_t(e)]; k <= hi[size_t(e)]; ++k) ++s.strip_ptr[size_t(k) + 1];
    }
    for (int64_t k = 0; k < n_strips; ++k) s.strip_ptr[size_t(k) + 1] += s.strip_ptr[size_t(k)];
    s.edge.resize(size_t(s.strip_ptr.back()));
    std::vector<int64_t> fill(s.strip_ptr.begin(), s.strip_ptr.end() - 1);
    for (int64_t e = 0; e < n_edges; ++e) {
        for (int64_t k = lo[size_t(e)]; k <= hi[size_t(e)]; ++k) s.edge[size_t(fill[size_t(k)]++)] = uint32_t(e);
    }
    return s;
}

namespace {

template <class T>
void contains_impl(const EdgeStripsView& s, const T* x, int64_t n, uint8_t* inside, int n_threads) {
    parallel_for(n, 4096, n_threads, [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) {
            const double px = double(x[2 * i]), py = double(x[2 * i + 1]);
            bool in = false;
            if (py >= s.y0 && py <= s.ymax && px >= s.xmin && px <= s.xmax) {
                const int64_t k = std::clamp<int64_t>(int64_t((py - s.y0) * s.inv_height), 0, s.n_strips - 1);
                for (int64_t q = s.strip_ptr[k]; q < s.strip_ptr[k + 1]; ++q) {
                    const double* e = s.edges + 4 * int64_t(s.edge[q]);
                    if ((e[1] > py) != (e[3] > py) && px < e[0] + (py - e[1]) * (e[2] - e[0]) / (e[3] - e[1])) in = !in;
                }
            }
            inside[i] = uint8_t(in);
        }
    });
}

template <class T>
void sample_impl(const TriangleView& t, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, T* out,
                 int n_threads) {
    const Key k(key);
    parallel_for(count, 4096, n_threads, [&](int64_t a, int64_t b) {
        T* dst = out + 2 * a;
        for_each_draw(k, rows ? rows + a : nullptr, r0 + a, b - a, 2, 0,
                      [&](int64_t i, uint64_t row, const uint64_t* w) {
                          const uint32_t j = alias_pick(t.alias_prob, t.alias, uint64_t(t.n_tri), w[0], w[1], k, row);
                          double u = u01_from_u64(w[2]), v = u01_from_u64(w[3]);
                          if (u + v > 1.0)
                              u = 1.0 - u, v = 1.0 - v;  // the parallelogram's far half folds onto the triangle
                          const double* q = t.tri + 6 * int64_t(j);
                          dst[2 * i] = T(q[0] + u * q[2] + v * q[4]);
                          dst[2 * i + 1] = T(q[1] + u * q[3] + v * q[5]);
                      });
    });
}

}  // namespace

void polygon_contains(const EdgeStripsView& s, const double* x, int64_t n, uint8_t* inside, int n_threads) {
    contains_impl(s, x, n, inside, n_threads);
}
void polygon_contains(const EdgeStripsView& s, const float* x, int64_t n, uint8_t* inside, int n_threads) {
    contains_impl(s, x, n, inside, n_threads);
}
void polygon_sample(const TriangleView& t, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, double* out,
                    int n_threads) {
    sample_impl(t, key, rows, r0, count, out, n_threads);
}
void polygon_sample(const TriangleView& t, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, float* out,
                    int n_threads) {
    sample_impl(t, key, rows, r0, count, out, n_threads);
}

}  // namespace gensample
