// The KDE engine (kde.hpp): tiled kernel sums and their gradients.
//
// This file is compiled with -ffp-contract=fast (CMakeLists.txt): in the AVX2 and AVX-512
// clones a multiply-add becomes one FMA, half the work of the exp polynomial and of the
// distances. So a log-density may differ in the last bits between instruction sets; it
// never depends on the thread count. The samplers (kde_sample.cpp) keep exact contracts.
#include "gensample/kde.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "gensample/dispatch.hpp"
#include "gensample/fastmath.hpp"
#include "gensample/parallel.hpp"
#include "gensample/simd.hpp"
#include "gensample/tiles.hpp"

namespace gensample::kde {
namespace {

// B: the vector width in bytes, that of the target's registers (block_f64 below).
using kernel::kExpFloor;
using kernel::kWidth;
using kernel::V;

constexpr double kHalfPi = 1.57079632679489661923;
constexpr int64_t kQueries = 16;  // queries of a task: each tile is read once for all of them

template <class T, int B>
constexpr int kVectors = tiles::kVectors<T, kTile, B>;

constexpr bool is_smooth(Kernel k) { return k == Kernel::gaussian || k == Kernel::exponential; }

// grad[k] += sum_i c[i] (z_ik - y_k) for one tile.
template <class T, int B>
GENSAMPLE_INLINE void add_gradient(const T* tile, const T* y, int64_t dim, const V<T, B> (&c)[kVectors<T, B>],
                                   double* grad) {
    for (int64_t k = 0; k < dim; ++k) {
        const V<T, B> yk = simd::broadcast<B>(y[k]);
        const T* zk = tile + k * kTile;
        V<T, B> acc{};
        for (int v = 0; v < kVectors<T, B>; ++v) acc += c[v] * (simd::load<T, B>(zk + v * kWidth<T, B>) - yk);
        grad[k] += simd::hsum<T>(acc);
    }
}

// Running state of one query for the gradients and the compact kernels: log-sum-exp as
// (max, sum) for the smooth kernels' gradients, a plain sum for the compact ones; grad holds
// sum_i (term_i coef_i) (z_i - y) at the sum's scale. (The smooth log-density: LaneState.)
struct QueryState {
    double max = -std::numeric_limits<double>::infinity();
    double sum = 0;
};

// The gradient for the Gaussian (f = exp(-r^2 / 2)) and exponential (f = exp(-r))
// kernels, by a running log-sum-exp.
template <class T, int B, Kernel K>
GENSAMPLE_INLINE void smooth_tile_gradient(const T* tile, const T* log_weight, const T* y, int64_t dim,
                                           const V<T, B> (&d2)[kVectors<T, B>], QueryState& st, double* grad) {
    constexpr T kInf = std::numeric_limits<T>::infinity();
    V<T, B> a[kVectors<T, B>];
    V<T, B> vmax = simd::broadcast<B>(-kInf);
    for (int v = 0; v < kVectors<T, B>; ++v) {
        const V<T, B> lw = simd::load<T, B>(log_weight + v * kWidth<T, B>);
        a[v] = K == Kernel::gaussian ? lw - T(0.5) * d2[v] : lw - simd::sqrt_lanes<T>(d2[v]);
        vmax = simd::max<T>(vmax, a[v]);
    }
    const T tile_max = simd::hmax<T>(vmax);
    if (!(tile_max > -kInf)) return;  // padding only, or overflowed distances
    if (double(tile_max) > st.max) {
        const double rescale = std::exp(st.max - double(tile_max));
        st.sum *= rescale;
        for (int64_t k = 0; k < dim; ++k) grad[k] *= rescale;
        st.max = double(tile_max);
    }
    const V<T, B> m = simd::broadcast<B>(T(st.max)), floor = simd::broadcast<B>(kExpFloor<T>);
    V<T, B> e[kVectors<T, B>], sum{};
    for (int v = 0; v < kVectors<T, B>; ++v) {
        // a - m <= 0, clamped so that exp stays on its fast, normal path
        e[v] = simd::exp_nonpositive(simd::max<T>(a[v] - m, floor));
        sum += e[v];
    }
    st.sum += simd::hsum<T>(sum);
    if (K == Kernel::exponential) {  // d/dy exp(-r) = exp(-r) (z - y) / r
        for (int v = 0; v < kVectors<T, B>; ++v) {
            const V<T, B> r = simd::sqrt_lanes<T>(d2[v]);
            e[v] = r > T(0) ? e[v] / r : V<T, B>{};
        }
    }
    add_gradient<T, B>(tile, y, dim, e, grad);
}

// The log-density's running log-sum-exp of one query for the smooth kernels, lane by lane:
// lane l holds (max, sum) over the points in lane l of every tile so far, and the lanes are
// combined once, at the end (finish). So no tile needs a horizontal maximum or sum, nor a
// scalar exp when the maximum grows. Sums are in double for either float type.
template <class T, int B>
struct LaneState {
    static constexpr int kSums = kWidth<T, B> / kWidth<double, B>;  // double vectors per T vector
    V<T, B> max = simd::broadcast<B>(-std::numeric_limits<T>::infinity());
    V<double, B> sum[kSums] = {};

    // v's lanes as double vectors: v itself, or its two halves.
    static GENSAMPLE_INLINE void widen(const V<T, B>& v, V<double, B> (&w)[kSums]) {
        if constexpr (kSums == 1) {
            w[0] = v;
        } else {
            typedef float Half __attribute__((vector_size(B / 2)));
            Half h[2];
            std::memcpy(h, &v, sizeof v);
            for (int i = 0; i < 2; ++i) w[i] = __builtin_convertvector(h[i], V<double, B>);
        }
    }
    GENSAMPLE_INLINE void add(const V<T, B>& v) {
        V<double, B> w[kSums];
        widen(v, w);
        for (int i = 0; i < kSums; ++i) sum[i] += w[i];
    }
    GENSAMPLE_INLINE void scale(const V<T, B>& f) {
        V<double, B> w[kSums];
        widen(f, w);
        for (int i = 0; i < kSums; ++i) sum[i] *= w[i];
    }
    // log sum over all lanes.
    double finish() const {
        alignas(64) T m[kWidth<T, B>];
        alignas(64) double s[kWidth<T, B>];
        simd::store(m, max);
        for (int i = 0; i < kSums; ++i) simd::store(s + i * kWidth<double, B>, sum[i]);
        double top = -std::numeric_limits<double>::infinity();
        for (int l = 0; l < kWidth<T, B>; ++l) top = std::max(top, double(m[l]));
        if (!(top > -std::numeric_limits<double>::infinity())) return top;
        double total = 0;
        for (int l = 0; l < kWidth<T, B>; ++l) {
            if (m[l] > -std::numeric_limits<T>::infinity()) total += s[l] * std::exp(double(m[l]) - top);
        }
        return top + std::log(total);
    }
};

template <class T, int B>
GENSAMPLE_INLINE bool any_greater(const V<T, B>& a, const V<T, B>& b) {
    const typename simd::VecN<T, B>::bits gt = (typename simd::VecN<T, B>::bits)(a > b);
    uint64_t words[sizeof(V<T, B>) / 8];
    std::memcpy(words, &gt, sizeof gt);
    uint64_t r = 0;
    for (uint64_t w : words) r |= w;
    return r != 0;
}

// kN vectors of points (one or two tiles) for the log-density of a smooth kernel (no
// gradient), into the lanes of st.
template <class T, int B, Kernel K, int kN>
GENSAMPLE_INLINE void smooth_tile_lanes(const T* log_weight, const V<T, B> (&d2)[kN], LaneState<T, B>& st) {
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    V<T, B> a[kN];
    V<T, B> vmax = st.max;
    for (int v = 0; v < kN; ++v) {
        const V<T, B> lw = simd::load<T, B>(log_weight + v * kWidth<T, B>);
        a[v] = K == Kernel::gaussian ? lw - T(0.5) * d2[v] : lw - simd::sqrt_lanes<T>(d2[v]);
        vmax = simd::max<T>(vmax, a[v]);
    }
    if (any_greater<T, B>(vmax, st.max)) {  // rare after the first tiles
        // st.max - vmax <= 0; -inf, or NaN for a lane still without points, clamps to the floor
        st.scale(simd::exp_nonpositive(simd::max<T>(st.max - vmax, floor)));
        st.max = vmax;
    }
    V<T, B> sum{};
    for (int v = 0; v < kN; ++v) sum += simd::exp_nonpositive(simd::max<T>(a[v] - st.max, floor));
    st.add(sum);
}

// Compact kernels on |u| < 1: tophat 1, epanechnikov 1 - r^2, linear 1 - r, cosine
// cos(pi r / 2). Plain sums of w_i f(r_i) (weights scaled by their maximum).
template <class T, int B, Kernel K, bool kGrad>
GENSAMPLE_INLINE void compact_tile(const T* tile, const T* weight, const T* y, int64_t dim,
                                   const V<T, B> (&d2v)[kVectors<T, B>], QueryState& st, double* grad) {
    alignas(64) T d2[kTile], f[kTile], c[kTile];
    for (int v = 0; v < kVectors<T, B>; ++v) simd::store(d2 + v * kWidth<T, B>, d2v[v]);
    for (int i = 0; i < kTile; ++i) {
        const T r2 = d2[i];
        const bool inside = r2 < T(1);
        T value = T(0), coef = T(0);  // f(r), and -f'(r) / r (the gradient's factor on z - y)
        if (K == Kernel::tophat) {
            value = T(1);
        } else if (K == Kernel::epanechnikov) {
            value = T(1) - r2;
            coef = T(2);
        } else if (K == Kernel::linear) {
            const T r = std::sqrt(r2);
            value = T(1) - r;
            coef = r > T(0) ? T(1) / r : T(0);
        } else {  // cosine: cos(pi r / 2) = sin(pi (1 - r) / 2), accurate as r -> 1
            const double r = std::sqrt(double(r2));
            double s, co;
            fastmath::sincos_turns(0.25 * (1.0 - (r < 1.0 ? r : 1.0)), s, co);
            value = T(s);
            coef = r > 0 ? T(kHalfPi * co / r) : T(0);
        }
        f[i] = inside ? weight[i] * value : T(0);
        c[i] = inside ? weight[i] * coef : T(0);
    }
    V<T, B> sum{}, cv[kVectors<T, B>];
    for (int v = 0; v < kVectors<T, B>; ++v) {
        sum += simd::load<T, B>(f + v * kWidth<T, B>);
        cv[v] = simd::load<T, B>(c + v * kWidth<T, B>);
    }
    st.sum += simd::hsum<T>(sum);
    if (kGrad) add_gradient<T, B>(tile, y, dim, cv, grad);
}

// Queries [q0, q1): the log-density of a smooth kernel, lane by lane (LaneState).
template <class T, int B, Kernel K>
GENSAMPLE_INLINE void smooth_block(const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset, T* out) {
    const int64_t dim = data.dim, nq = q1 - q0;
    LaneState<T, B> st[kQueries];
    // Tiles in pairs where a tile is under 8 vectors (float): the per-step work (the lane
    // maxima's test, the sums into double) is then shared by 8 vectors for either type.
    constexpr int kStep = kVectors<T, B> < 8 ? 2 : 1;
    constexpr int kN = kStep * kVectors<T, B>;
    int64_t t = 0;
    for (; t + kStep <= data.tiles; t += kStep) {
        const T* tile = data.points + t * dim * kTile;
        for (int64_t j = 0; j < nq; ++j) {
            V<T, B> d2[kN];
            for (int u = 0; u < kStep; ++u) {
                auto& part = *reinterpret_cast<V<T, B>(*)[kVectors<T, B>]>(d2 + u * kVectors<T, B>);
                tiles::squared_distances<T, kTile, B>(tile + u * dim * kTile, y + (q0 + j) * dim, dim, part);
            }
            smooth_tile_lanes<T, B, K, kN>(data.log_weight + t * kTile, d2, st[j]);
        }
        if (((t / kStep) & 1023) == 1023 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
    for (; t < data.tiles; ++t) {  // the last, unpaired tile
        const T* tile = data.points + t * dim * kTile;
        for (int64_t j = 0; j < nq; ++j) {
            V<T, B> d2[kVectors<T, B>];
            tiles::squared_distances<T, kTile, B>(tile, y + (q0 + j) * dim, dim, d2);
            smooth_tile_lanes<T, B, K, kVectors<T, B>>(data.log_weight + t * kTile, d2, st[j]);
        }
    }
    for (int64_t j = 0; j < nq; ++j) out[q0 + j] = T(st[j].finish() + double(offset));
}

// The gradients, and the compact kernels' log-density: plain tile sums (QueryState).
template <class T, int B, Kernel K, bool kGrad>
GENSAMPLE_INLINE void tile_sums(const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset, T* out) {
    const int64_t dim = data.dim, nq = q1 - q0;
    QueryState st[kQueries];
    std::vector<double> grad(kGrad ? size_t(nq * dim) : 0, 0.0);
    V<T, B> d2[kVectors<T, B>];
    for (int64_t t = 0; t < data.tiles; ++t) {
        const T* tile = data.points + t * dim * kTile;
        for (int64_t j = 0; j < nq; ++j) {
            const T* yj = y + (q0 + j) * dim;
            double* gj = kGrad ? grad.data() + j * dim : nullptr;
            tiles::squared_distances<T, kTile, B>(tile, yj, dim, d2);
            if constexpr (is_smooth(K)) {
                smooth_tile_gradient<T, B, K>(tile, data.log_weight + t * kTile, yj, dim, d2, st[j], gj);
            } else {
                compact_tile<T, B, K, kGrad>(tile, data.weight + t * kTile, yj, dim, d2, st[j], gj);
            }
        }
        if ((t & 1023) == 1023 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
    for (int64_t j = 0; j < nq; ++j) {
        if (kGrad) {
            for (int64_t k = 0; k < dim; ++k) out[(q0 + j) * dim + k] = T(grad[size_t(j * dim + k)] / st[j].sum);
        } else {  // compact kernels only (smooth_block does the smooth ones)
            out[q0 + j] = T(std::log(st[j].sum) + data.log_weight_max + double(offset));
        }
    }
}

// Queries [q0, q1): log-density (out[j]) or its gradient (out[j * dim + k]).
template <class T, int B, Kernel K, bool kGrad>
GENSAMPLE_INLINE void query_block(const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset, T* out) {
    if constexpr (is_smooth(K) && !kGrad) {
        smooth_block<T, B, K>(data, y, q0, q1, offset, out);
    } else {
        tile_sums<T, B, K, kGrad>(data, y, q0, q1, offset, out);
    }
}

template <class T, int B, bool kGrad>
GENSAMPLE_INLINE void block_any(Kernel kernel, const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset,
                                T* out) {
    switch (kernel) {
        case Kernel::gaussian: return query_block<T, B, Kernel::gaussian, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::tophat: return query_block<T, B, Kernel::tophat, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::epanechnikov: return query_block<T, B, Kernel::epanechnikov, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::exponential: return query_block<T, B, Kernel::exponential, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::linear: return query_block<T, B, Kernel::linear, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::cosine: return query_block<T, B, Kernel::cosine, kGrad>(data, y, q0, q1, offset, out);
    }
    throw std::invalid_argument("kde: unknown kernel");
}

// One version per instruction set (dispatch.hpp), each on vectors of its register width.
#define GENSAMPLE_KDE_BLOCK(T, NAME, BYTES)                                                                           \
    void NAME(Kernel kernel, bool grad, const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset, T* out) { \
        if (grad) {                                                                                                   \
            block_any<T, BYTES, true>(kernel, data, y, q0, q1, offset, out);                                          \
        } else {                                                                                                      \
            block_any<T, BYTES, false>(kernel, data, y, q0, q1, offset, out);                                         \
        }                                                                                                             \
    }
#define GENSAMPLE_KDE_F64(BYTES) GENSAMPLE_KDE_BLOCK(double, block_f64, BYTES)
#define GENSAMPLE_KDE_F32(BYTES) GENSAMPLE_KDE_BLOCK(float, block_f32, BYTES)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_KDE_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_KDE_F32)
#undef GENSAMPLE_KDE_F64
#undef GENSAMPLE_KDE_F32
#undef GENSAMPLE_KDE_BLOCK

template <class T>
void check(const Tiles<T>& data) {
    if (data.tiles < 1 || data.dim < 1) throw std::invalid_argument("kde: no data");
}

}  // namespace

void log_density(Kernel kernel, const Tiles<double>& data, const double* y, int64_t m, double offset, double* out,
                 int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f64(kernel, false, data, y, q0, q1, offset, out); });
}

void log_density(Kernel kernel, const Tiles<float>& data, const float* y, int64_t m, float offset, float* out,
                 int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f32(kernel, false, data, y, q0, q1, offset, out); });
}

void grad_log_density(Kernel kernel, const Tiles<double>& data, const double* y, int64_t m, double* out,
                      int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f64(kernel, true, data, y, q0, q1, 0.0, out); });
}

void grad_log_density(Kernel kernel, const Tiles<float>& data, const float* y, int64_t m, float* out, int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f32(kernel, true, data, y, q0, q1, 0.0f, out); });
}

}  // namespace gensample::kde
