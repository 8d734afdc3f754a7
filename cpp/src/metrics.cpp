// The metrics engine (metrics.hpp): tiled pair sums, nearest neighbours and ball tests.
//
// Compiled with -ffp-contract=fast (CMakeLists.txt) like the KDE sums: no random stream
// depends on it, and results never depend on the thread count.
#include "gensample/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/simd.hpp"
#include "gensample/tiles.hpp"

namespace gensample::metrics {
namespace {

// B: the vector width in bytes, that of the target's registers (sums_f64 below).
using kernel::kExpFloor;
using kernel::kWidth;
using kernel::V;

constexpr int64_t kQueries = 16;  // queries of a task: each tile is read once for all of them
constexpr int64_t kFlush = 16;    // tiles summed in T before a query's total takes them in double

template <class T, int B>
constexpr int kVectors = tiles::kVectors<T, kTile, B>;

// sum_j w_j k(r_j) over one tile for one query, added to acc.
template <class T, int B, Pair K>
GENSAMPLE_INLINE void tile_sum(const V<T, B> (&d2)[kVectors<T, B>], const T* weight, T gamma, V<T, B>& acc) {
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    for (int v = 0; v < kVectors<T, B>; ++v) {
        V<T, B> k;
        if (K == Pair::gaussian) {
            k = simd::exp_nonpositive(simd::max<T>(-gamma * d2[v], floor));
        } else if (K == Pair::laplacian) {
            k = simd::exp_nonpositive(simd::max<T>(-gamma * simd::sqrt_lanes<T>(d2[v]), floor));
        } else {
            k = simd::sqrt_lanes<T>(d2[v]);
        }
        acc += simd::load<T, B>(weight + v * kWidth<T, B>) * k;
    }
}

template <class T, int B, Pair K>
GENSAMPLE_INLINE void sums_block(const Tiles<T>& y, const T* x, int64_t q0, int64_t q1, T gamma, double* out) {
    const int64_t dim = y.dim, nq = q1 - q0;
    double total[kQueries] = {};
    V<T, B> acc[kQueries];
    for (auto& a : acc) a = V<T, B>{};
    V<T, B> d2[kVectors<T, B>];
    for (int64_t t = 0; t < y.tiles; ++t) {
        const T* tile = y.points + t * dim * kTile;
        const T* w = y.weight + t * kTile;
        for (int64_t j = 0; j < nq; ++j) {
            tiles::squared_distances<T, kTile, B>(tile, x + (q0 + j) * dim, dim, d2);
            tile_sum<T, B, K>(d2, w, gamma, acc[j]);
        }
        if ((t + 1) % kFlush == 0 || t + 1 == y.tiles) {
            for (int64_t j = 0; j < nq; ++j) {
                total[j] += simd::hsum<T>(acc[j]);
                acc[j] = V<T, B>{};
            }
        }
        if ((t & 1023) == 1023 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
    for (int64_t j = 0; j < nq; ++j) out[q0 + j] = total[j];
}

template <class T, int B>
GENSAMPLE_INLINE void sums_any(Pair kind, const Tiles<T>& y, const T* x, int64_t q0, int64_t q1, T gamma, double* out) {
    switch (kind) {
        case Pair::gaussian: return sums_block<T, B, Pair::gaussian>(y, x, q0, q1, gamma, out);
        case Pair::laplacian: return sums_block<T, B, Pair::laplacian>(y, x, q0, q1, gamma, out);
        case Pair::distance: return sums_block<T, B, Pair::distance>(y, x, q0, q1, gamma, out);
    }
    throw std::invalid_argument("metrics: unknown pair kernel");
}

// The k smallest squared distances from each query, kept sorted by insertion.
template <class T, int B>
GENSAMPLE_INLINE void nearest_block(const Tiles<T>& y, const T* x, int64_t q0, int64_t q1, int64_t k, bool skip_self,
                                    double* out) {
    const int64_t dim = y.dim;
    V<T, B> d2[kVectors<T, B>];
    alignas(64) T d[kTile];
    for (int64_t q = q0; q < q1; ++q) {
        double* best = out + q * k;
        std::fill(best, best + k, std::numeric_limits<double>::infinity());
        for (int64_t t = 0; t < y.tiles; ++t) {
            tiles::squared_distances<T, kTile, B>(y.points + t * dim * kTile, x + q * dim, dim, d2);
            for (int v = 0; v < kVectors<T, B>; ++v) simd::store(d + v * kWidth<T, B>, d2[v]);
            const T* w = y.weight + t * kTile;
            for (int64_t i = 0; i < kTile; ++i) {
                const double di = double(d[i]);
                if (!(di < best[k - 1]) || !(w[i] > T(0)) || (skip_self && t * kTile + i == q)) continue;
                int64_t l = k - 1;
                for (; l > 0 && best[l - 1] > di; --l) best[l] = best[l - 1];
                best[l] = di;
            }
            if ((t & 1023) == 1023 && interrupt_requested_in_task()) return;  // parallel_for throws
        }
    }
}

template <class T, int B>
GENSAMPLE_INLINE void balls_block(const Tiles<T>& y, const T* radius2, const T* x, int64_t q0, int64_t q1,
                                  uint8_t* inside) {
    const int64_t dim = y.dim;
    V<T, B> d2[kVectors<T, B>];
    for (int64_t q = q0; q < q1; ++q) {
        bool in = false;
        for (int64_t t = 0; t < y.tiles && !in; ++t) {
            tiles::squared_distances<T, kTile, B>(y.points + t * dim * kTile, x + q * dim, dim, d2);
            V<T, B> slack = simd::broadcast<B>(std::numeric_limits<T>::infinity());
            for (int v = 0; v < kVectors<T, B>; ++v) {
                const V<T, B> s = d2[v] - simd::load<T, B>(radius2 + t * kTile + v * kWidth<T, B>);
                slack = s < slack ? s : slack;
            }
            in = !(-simd::hmax<T>(-slack) > T(0));                            // some |x - y_j|^2 - r_j^2 <= 0
            if ((t & 1023) == 1023 && interrupt_requested_in_task()) return;  // parallel_for throws
        }
        inside[q] = uint8_t(in);
    }
}

// One version per instruction set (dispatch.hpp), each on vectors of its register width.
#define GENSAMPLE_SUMS(NAME, T, BYTES)                                                                  \
    void NAME(Pair kind, const Tiles<T>& y, const T* x, int64_t q0, int64_t q1, T gamma, double* out) { \
        sums_any<T, BYTES>(kind, y, x, q0, q1, gamma, out);                                             \
    }
#define GENSAMPLE_NEAREST(NAME, T, BYTES)                                                                 \
    void NAME(const Tiles<T>& y, const T* x, int64_t q0, int64_t q1, int64_t k, bool skip, double* out) { \
        nearest_block<T, BYTES>(y, x, q0, q1, k, skip, out);                                              \
    }
#define GENSAMPLE_BALLS(NAME, T, BYTES)                                                          \
    void NAME(const Tiles<T>& y, const T* r2, const T* x, int64_t q0, int64_t q1, uint8_t* in) { \
        balls_block<T, BYTES>(y, r2, x, q0, q1, in);                                             \
    }
#define GENSAMPLE_SUMS_F64(BYTES) GENSAMPLE_SUMS(sums_f64, double, BYTES)
#define GENSAMPLE_SUMS_F32(BYTES) GENSAMPLE_SUMS(sums_f32, float, BYTES)
#define GENSAMPLE_NEAREST_F64(BYTES) GENSAMPLE_NEAREST(nearest_f64, double, BYTES)
#define GENSAMPLE_NEAREST_F32(BYTES) GENSAMPLE_NEAREST(nearest_f32, float, BYTES)
#define GENSAMPLE_BALLS_F64(BYTES) GENSAMPLE_BALLS(balls_f64, double, BYTES)
#define GENSAMPLE_BALLS_F32(BYTES) GENSAMPLE_BALLS(balls_f32, float, BYTES)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_SUMS_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_SUMS_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_NEAREST_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_NEAREST_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_BALLS_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_BALLS_F32)
#undef GENSAMPLE_SUMS_F64
#undef GENSAMPLE_SUMS_F32
#undef GENSAMPLE_SUMS
#undef GENSAMPLE_NEAREST_F64
#undef GENSAMPLE_NEAREST_F32
#undef GENSAMPLE_NEAREST
#undef GENSAMPLE_BALLS_F64
#undef GENSAMPLE_BALLS_F32
#undef GENSAMPLE_BALLS

template <class T>
void check(const Tiles<T>& y) {
    if (y.tiles < 1 || y.dim < 1) throw std::invalid_argument("metrics: the reference set is empty");
}

void check_k(int64_t k) {
    if (k < 1 || k > 64) throw std::invalid_argument("metrics: k must be in [1, 64]");
}

}  // namespace

void pair_sums(Pair kind, const Tiles<double>& y, const double* x, int64_t n, double gamma, double* out,
               int n_threads) {
    check(y);
    parallel_for(n, kQueries, n_threads, [&](int64_t a, int64_t b) { sums_f64(kind, y, x, a, b, gamma, out); });
}

void pair_sums(Pair kind, const Tiles<float>& y, const float* x, int64_t n, double gamma, double* out, int n_threads) {
    check(y);
    parallel_for(n, kQueries, n_threads, [&](int64_t a, int64_t b) { sums_f32(kind, y, x, a, b, float(gamma), out); });
}

void nearest(const Tiles<double>& y, const double* x, int64_t n, int64_t k, bool skip_self, double* out,
             int n_threads) {
    check(y);
    check_k(k);
    parallel_for(n, kQueries, n_threads, [&](int64_t a, int64_t b) { nearest_f64(y, x, a, b, k, skip_self, out); });
}

void nearest(const Tiles<float>& y, const float* x, int64_t n, int64_t k, bool skip_self, double* out, int n_threads) {
    check(y);
    check_k(k);
    parallel_for(n, kQueries, n_threads, [&](int64_t a, int64_t b) { nearest_f32(y, x, a, b, k, skip_self, out); });
}

void in_any_ball(const Tiles<double>& y, const double* radius2, const double* x, int64_t n, uint8_t* inside,
                 int n_threads) {
    check(y);
    parallel_for(n, kQueries, n_threads, [&](int64_t a, int64_t b) { balls_f64(y, radius2, x, a, b, inside); });
}

void in_any_ball(const Tiles<float>& y, const float* radius2, const float* x, int64_t n, uint8_t* inside,
                 int n_threads) {
    check(y);
    parallel_for(n, kQueries, n_threads, [&](int64_t a, int64_t b) { balls_f32(y, radius2, x, a, b, inside); });
}

}  // namespace gensample::metrics
