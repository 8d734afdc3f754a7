// Sample metrics: tiled pairwise sums and nearest-neighbour searches over two point sets.
//
// The reference set y comes in tiles of kTile points stored dimension-major (as kde.hpp),
// padded with points of weight 0, so the inner loops run over points and vectorise; a
// query meets one tile at a time, so memory stays O((n + m) d) whatever n and m. Each query
// is computed on its own in a fixed order: results do not depend on the thread count.
#pragma once

#include <cstdint>

#include "gensample/tiles.hpp"

namespace gensample::metrics {

// k(r) of a pair at distance r: gaussian exp(-gamma r^2), laplacian exp(-gamma r), distance r.
enum class Pair : int { gaussian = 0, laplacian = 1, distance = 2 };

using tiles::kTile;  // points per tile (tiles.hpp)

// coordinate k of point i of tile t at points[(t * dim + k) * kTile + i]; weight[t * kTile + i]
// (0 for padding).
template <class T>
struct Tiles {
    const T* points;
    const T* weight;
    int64_t tiles;
    int64_t dim;
};

// out[i] = sum_j weight_j k(|x_i - y_j|) for the n rows of x (n, dim), accumulated in double
// (in T within blocks of 16 tiles).
void pair_sums(Pair kind, const Tiles<double>& y, const double* x, int64_t n, double gamma, double* out, int n_threads);
void pair_sums(Pair kind, const Tiles<float>& y, const float* x, int64_t n, double gamma, double* out, int n_threads);

// out[i * k + l]: the squared distance from x_i to its (l + 1)-th nearest point of y (weight > 0),
// ascending; with skip_self, point j == i of y is left out (x is y). k <= 64; +inf where y has
// fewer points.
void nearest(const Tiles<double>& y, const double* x, int64_t n, int64_t k, bool skip_self, double* out, int n_threads);
void nearest(const Tiles<float>& y, const float* x, int64_t n, int64_t k, bool skip_self, double* out, int n_threads);

// inside[i] = 1 when |x_i - y_j|^2 <= radius2_j for some point j of y (radius2 in y's tile
// order; padding -inf).
void in_any_ball(const Tiles<double>& y, const double* radius2, const double* x, int64_t n, uint8_t* inside,
                 int n_threads);
void in_any_ball(const Tiles<float>& y, const float* radius2, const float* x, int64_t n, uint8_t* inside,
                 int n_threads);

}  // namespace gensample::metrics
