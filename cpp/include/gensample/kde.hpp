// Kernel density estimation: the fused, tiled kernel sums and the exact samplers.
//
// The Python layer whitens once at fit: with the bandwidth matrix H = L L^T, data and
// queries enter as z = L^-1 x, so every kernel is radial, K(u) = f(|u|), and
//
//     log p(x) = log sum_i w_i f(|y - z_i|) + offset,   offset = -log|L| - log norm(f, d).
//
// The data come in tiles of kTile points stored dimension-major (tile t, coordinate k:
// kTile consecutive values), padded with points of zero weight, so the inner loops run
// over points and vectorise. A query never meets more than one tile at a time, so memory
// is O(n d + m) whatever n and m. For the Gaussian and exponential kernels the sum is a
// log-sum-exp with a running maximum per query: no underflow far in the tails, exact to
// rounding. Every query is computed on its own in a fixed order, so results do not
// depend on the thread count.
#pragma once

#include <cstdint>

#include "gensample/tiles.hpp"

namespace gensample::kde {

enum class Kernel : int { gaussian = 0, tophat = 1, epanechnikov = 2, exponential = 3, linear = 4, cosine = 5 };

using tiles::kTile;  // data points per tile (tiles.hpp)

// Tiled data: `tiles` tiles, coordinates in points[(t * dim + k) * kTile + i]. Point i of
// tile t has weight w = exp(log_weight[t * kTile + i]) (weights sum to 1; padding has
// -inf); the compact kernels read weight[...] = w / w_max instead, and add log_weight_max.
template <class T>
struct Tiles {
    const T* points;
    const T* log_weight;
    const T* weight;
    double log_weight_max;
    int64_t tiles;
    int64_t dim;
};

// out[j] = log sum_i w_i f(|y_j - z_i|) + offset for the m whitened queries y (m, dim).
void log_density(Kernel kernel, const Tiles<double>& data, const double* y, int64_t m, double offset, double* out,
                 int n_threads);
void log_density(Kernel kernel, const Tiles<float>& data, const float* y, int64_t m, float offset, float* out,
                 int n_threads);

// The gradient of log sum_i w_i f(|y_j - z_i|) with respect to y_j, (m, dim), in whitened
// coordinates (the caller maps it back with L^-T). NaN where the density is zero.
void grad_log_density(Kernel kernel, const Tiles<double>& data, const double* y, int64_t m, double* out, int n_threads);
void grad_log_density(Kernel kernel, const Tiles<float>& data, const float* y, int64_t m, float* out, int n_threads);

// The data a sampler needs: the original points (n, dim), the lower Cholesky factor L of
// the bandwidth matrix (dim, dim), and Vose's alias table over the weights.
struct SampleModel {
    Kernel kernel;
    const double* points;
    int64_t n;
    int64_t dim;
    const double* chol;
    const double* prob;
    const uint32_t* alias;
};

// Rows [r0, r0 + count) of the sample with stream `key`, into out (count, dim):
//
//   x = points[c] + L * R * v
//
//   c  the alias table's pick from block (row, 0, 0) of `key` (as the region samplers);
//   v  row `row` of gs.random.normal(stream subkey(key, 1), dim): for the Gaussian kernel
//      v is the noise itself (R = 1); for the others its direction v / |v|;
//   R  the radius, from row `row` of gs.random.uniform(stream subkey(key, 2 + a)), a = 0
//      except for the cosine kernel's rejection attempts:
//        tophat        U1^(1/d)                       (uniform in the ball)
//        epanechnikov  U1^(1/d) U2^(1/(d+2))          (R^2 ~ Beta(d/2, 2))
//        linear        U1^(1/d) U2^(1/(d+1))          (R ~ Beta(d, 2))
//        exponential   -sum_{k<d} log(1 - Uk)         (R ~ Gamma(d, 1))
//        cosine        R ~ Beta(d, 2) as linear, kept when U3 < cos(pi R/2) / (pi/2 (1 - R)),
//                      a ratio that is at least 2/pi
// (Beta(a, 1) Beta(a + 1, 1) = Beta(a, 2) for independent factors.)
void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, double* out, int n_threads);
void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, float* out, int n_threads);

// Uniforms the radius of each kernel reads per attempt.
inline int radius_uniforms(Kernel kernel, int64_t dim) {
    switch (kernel) {
        case Kernel::gaussian: return 0;
        case Kernel::tophat: return 1;
        case Kernel::epanechnikov:
        case Kernel::linear: return 2;
        case Kernel::exponential: return int(dim);
        case Kernel::cosine: return 3;
    }
    return 0;
}

}  // namespace gensample::kde
