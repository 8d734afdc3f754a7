// Polygons with holes, and sets of disjoint polygons: exact uniform sampling by
// triangulating once (ear clipping, holes bridged into the shell) and an alias table over
// triangle areas; point-in-polygon by crossing number over a strip index of the edges.
#pragma once

#include <cstdint>
#include <vector>

namespace gensample {

// The input: points (x, y) of all rings, C-contiguous (n_points, 2); ring k is
// points [ring_ptr[k], ring_ptr[k+1]); polygon p is rings [poly_ptr[p], poly_ptr[p+1]),
// its shell first, then its holes. A ring need not repeat its first point; orientation is
// free (shells are made counter-clockwise and holes clockwise here).
struct PolygonRings {
    const double* xy = nullptr;
    const int64_t* ring_ptr = nullptr;
    const int64_t* poly_ptr = nullptr;
    int64_t n_polys = 0;
};

// Triangles as (ax, ay, bx - ax, by - ay, cx - ax, cy - ay) and their areas. Throws
// std::invalid_argument, naming the ring, for rings with fewer than 3 distinct vertices or
// zero area, for crossing or touching rings, holes outside their shell, overlapping
// polygons, and anything the triangulation cannot cover exactly.
struct Triangulation {
    std::vector<double> tri;
    std::vector<double> area;
    double total_area = 0;
};
Triangulation triangulate(const PolygonRings& rings);

// A strip index over the edges of all rings, for the crossing-number test.
struct EdgeStrips {
    double y0 = 0, inv_height = 0;
    int64_t n_strips = 0;
    std::vector<int64_t> strip_ptr;  // edges of strip s: [strip_ptr[s], strip_ptr[s+1])
    std::vector<uint32_t> edge;      // indices into edges
    std::vector<double> edges;       // (x0, y0, x1, y1) per edge
    double xmin = 0, xmax = 0, ymax = 0;
};
EdgeStrips build_edge_strips(const PolygonRings& rings);

struct EdgeStripsView {
    double y0, inv_height;
    int64_t n_strips;
    const int64_t* strip_ptr;
    const uint32_t* edge;
    const double* edges;
    double xmin, xmax, ymax;
};

// inside[i] = 1 when point i is inside (an odd number of edges cross the ray to +x).
void polygon_contains(const EdgeStripsView& s, const double* x, int64_t n, uint8_t* inside, int n_threads);
void polygon_contains(const EdgeStripsView& s, const float* x, int64_t n, uint8_t* inside, int n_threads);

// Uniform samples: triangle by alias table (slot 0), then (u, v) reflected into the
// triangle (slot 1). Row k of out is sample rows[k] (or r0 + k).
struct TriangleView {
    const double* tri;
    const double* alias_prob;
    const uint32_t* alias;
    int64_t n_tri;
};
void polygon_sample(const TriangleView& t, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, double* out,
                    int n_threads);
void polygon_sample(const TriangleView& t, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, float* out,
                    int n_threads);

}  // namespace gensample
