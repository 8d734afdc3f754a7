// Gaussian mixtures, the per-point passes: log-densities, responsibilities and scores of
// one vector of points at a time.
//
// A room of gmm.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=fast, gmm.cpp's header says why). Which source file a loop is
// compiled in decides its bits: move code between gmm.cpp's rooms only.
#pragma once

#include "whitening.hpp"

namespace gensample::gmm {
namespace {

struct Outputs {
    void* out = nullptr;               // density: (m,)
    void* log_resp = nullptr;          // responsibilities: (m, k)
    bool probabilities = false;        // responsibilities: p(k | x) in log_resp instead of log p(k | x)
    const double* v = nullptr;         // moments: sample weights
    double* partial = nullptr;         // moments: this chunk's sums
    bool full = true;                  // moments: full second moments, or their diagonal
    const void* row_blocks = nullptr;  // RowBlocks<T> of full factors in general dimension (row_blocks_for)
    void* log_density = nullptr;       // score: log p(x) as well (m,), when not null
};

// grad -= A^T ry for one component (A lower triangular, packed rows f) and kVec vectors
// of points (entry i of vector v at [i * kVec + v]), kN entries of grad per vector in
// registers at a time; each entry's terms in order of the rows j, as a pass row by row
// would (which updates grad in memory once per entry and row: the score's bottleneck).
template <class T, int B, int kVec, int kN>
GENSAMPLE_INLINE void subtract_transposed(const T* f, const V<T, B>* ry, int64_t d, V<T, B>* grad) {
    for (int64_t i0 = 0; i0 < d; i0 += kN) {
        V<T, B> acc[kN][kVec];
#pragma GCC unroll 8
        for (int r = 0; r < kN; ++r) {
#pragma GCC unroll 4
            for (int v = 0; v < kVec; ++v) acc[r][v] = i0 + r < d ? grad[(i0 + r) * kVec + v] : V<T, B>{};
        }
#pragma GCC unroll 8
        for (int c = 0; c < kN; ++c) {  // rows j = i0 + c: entries i0 + r <= j
            if (i0 + c >= d) break;
            const T* row = f + packed(i0 + c) + i0;
            const V<T, B>* ryj = ry + (i0 + c) * kVec;
#pragma GCC unroll 8
            for (int r = 0; r < kN; ++r) {
                if (r <= c) {
#pragma GCC unroll 4
                    for (int v = 0; v < kVec; ++v) acc[r][v] -= row[r] * ryj[v];
                }
            }
        }
        for (int64_t j = i0 + kN; j < d; ++j) {
            const T* row = f + packed(j) + i0;
            const V<T, B>* ryj = ry + j * kVec;
#pragma GCC unroll 8
            for (int r = 0; r < kN; ++r) {
#pragma GCC unroll 4
                for (int v = 0; v < kVec; ++v) acc[r][v] -= row[r] * ryj[v];
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < kN; ++r) {
            if (i0 + r >= d) break;
#pragma GCC unroll 4
            for (int v = 0; v < kVec; ++v) grad[(i0 + r) * kVec + v] = acc[r][v];
        }
    }
}

// (vmax + log sum exp(a - vmax)) of one vector of points into out[0, count), vmax the
// largest a.
template <class T, int B>
GENSAMPLE_INLINE void store_log_sum(const V<T, B>* a, int64_t K, int64_t count, T* out) {
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    const V<T, B> vmax = largest<T, B>(a, K);
    V<T, B> sum{};
    for (int64_t k = 0; k < K; ++k) sum += simd::exp_nonpositive(simd::max<T>(a[k] - vmax, floor));
    alignas(64) T lanes[kWidth<T, B>];
    simd::store(lanes, vmax + simd::log_positive(sum));
    for (int64_t l = 0; l < count; ++l) out[l] = lanes[l];
}

// store_log_sum, then the responsibilities of those points into rows [0, count) of K values
// of lr: a - vmax - log sum (a - vmax clamped at the floor), or with kProb
// p(k | x) = exp(a - vmax) / sum, from the log-sum's own exps.
template <class T, int B, bool kProb>
GENSAMPLE_INLINE void store_responsibilities(V<T, B>* a, int64_t K, int64_t count, T* out, T* lr) {
    constexpr int64_t kW = kWidth<T, B>;
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    const V<T, B> vmax = largest<T, B>(a, K);
    V<T, B> sum{};
    for (int64_t k = 0; k < K; ++k) {
        a[k] = simd::max<T>(a[k] - vmax, floor);
        const V<T, B> e = simd::exp_nonpositive(a[k]);
        sum += e;
        if constexpr (kProb) a[k] = e;
    }
    const V<T, B> log_sum = simd::log_positive(sum);
    alignas(64) T lanes[kW];
    simd::store(lanes, vmax + log_sum);
    for (int64_t l = 0; l < count; ++l) out[l] = lanes[l];
    const V<T, B> inv_sum = T(1) / sum;
    for (int64_t k = 0; k < K; ++k) {
        simd::store(lanes, kProb ? a[k] * inv_sum : a[k] - log_sum);
        for (int64_t l = 0; l < count; ++l) lr[l * K + k] = lanes[l];
    }
}

template <class T, int B>
GENSAMPLE_INLINE void store_responsibilities(V<T, B>* a, int64_t K, int64_t count, T* out, T* lr, bool probabilities) {
    if (probabilities) return store_responsibilities<T, B, true>(a, K, count, out, lr);
    store_responsibilities<T, B, false>(a, K, count, out, lr);
}

// For the score: a[k] takes e_k = exp(a[k] - vmax), clamped as in store_log_sum; returns
// 1 / sum_k e_k, so that r_k = e_k / sum needs no second exp. log_sum, when not null,
// receives log p = vmax + log sum_k e_k, the value store_log_sum gives.
//
// For floats the floor is higher than exp's own: the weights e_k go on to multiply y and
// the factors, and from e^-87 those products reach subnormal floats, which cost a hundred
// cycles each (a mixture's score at its own samples ran 10 times slower than elsewhere).
// e^-60 (1e-26) is far below a float's rounding of the largest weight, 1.
template <class T>
inline constexpr T kScoreFloor = kExpFloor<T>;
template <>
inline constexpr float kScoreFloor<float> = -60.0f;

template <class T, int B>
GENSAMPLE_INLINE V<T, B> exp_shifted(V<T, B>* a, int64_t K, V<T, B>* log_sum = nullptr) {
    const V<T, B> floor = simd::broadcast<B>(kScoreFloor<T>);
    const V<T, B> vmax = largest<T, B>(a, K);
    V<T, B> sum{};
    for (int64_t k = 0; k < K; ++k) {
        a[k] = simd::exp_nonpositive(simd::max<T>(a[k] - vmax, floor));
        sum += a[k];
    }
    if (log_sum != nullptr) *log_sum = vmax + simd::log_positive(sum);
    return T(1) / sum;
}

// The score's grad = -sum_k e_k A_k^T y_k (unscaled), held in registers over the K
// components: updated in memory once per component instead, each update waits for the
// last one's store to reach the load. Each entry's terms in the order of
// subtract_transposed, so the same values.
//
// Entries [i0, i0 + kN) of grad for diagonal factors (f: the K x d diagonals).
template <class T, int B, int kN>
GENSAMPLE_INLINE void subtract_diagonal(const Mixture<T>& g, const V<T, B>* e, const V<T, B>* ys, int64_t i0,
                                        V<T, B>* grad) {
    const int64_t d = g.dim;
    V<T, B> acc[kN] = {};
    for (int64_t k = 0; k < g.k; ++k) {
        const V<T, B>* y = ys + k * d + i0;
        const T* f = g.factor + k * d + i0;
#pragma GCC unroll 4
        for (int i = 0; i < kN; ++i) acc[i] -= f[i] * (e[k] * y[i]);
    }
    for (int i = 0; i < kN; ++i) grad[i0 + i] = acc[i];
}

// All kDim entries of grad for full factors of a dimension known at compile time.
template <class T, int B, int kDim>
GENSAMPLE_INLINE void subtract_transposed_small(const Mixture<T>& g, const V<T, B>* e, const V<T, B>* ys,
                                                V<T, B>* grad) {
    V<T, B> acc[kDim] = {};
    for (int64_t k = 0; k < g.k; ++k) {
        const V<T, B>* y = ys + k * kDim;
        const T* f = g.factor + k * packed(kDim);
#pragma GCC unroll 4
        for (int j = 0; j < kDim; ++j) {  // row j of A: entries i <= j
            const V<T, B> ry = e[k] * y[j];
#pragma GCC unroll 4
            for (int i = 0; i <= j; ++i) acc[i] -= f[packed(j) + i] * ry;
        }
    }
    for (int i = 0; i < kDim; ++i) grad[i] = acc[i];
}

// Points [p0, p1) of x.
template <class T, int B, Mode M, bool kDiag, int kDim>
GENSAMPLE_INLINE void run_range(const Mixture<T>& g, const T* x, int64_t p0, int64_t p1, const Outputs& o) {
    const int64_t d = kDim > 0 ? kDim : g.dim, K = g.k;
    const auto* rb = static_cast<const RowBlocks<T>*>(o.row_blocks);
    Scratch<T, B> s(d, K);
    constexpr bool kScore = M == Mode::score;
    simd::Buffer<T, B> ys(kScore ? size_t(K * d) : 0);  // score: each component's y, kept for the gradient
    alignas(64) T lanes[kWidth<T, B>];
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += kWidth<T, B>) {
        const int64_t count = std::min<int64_t>(kWidth<T, B>, p1 - p);
        load_block<T, B>(x + p * d, count, d, g.centre, s.x.data());
        for (int64_t k = 0; k < K; ++k) {
            V<T, B>* y = kScore ? ys.data() + k * d : s.y.data();
            const V<T, B> q = whiten<T, B, kDiag, kDim, kScore>(g, rb, k, s.x.data(), y);
            s.a[size_t(k)] = g.log_coef[k] - T(0.5) * q;
        }
        if constexpr (M == Mode::density) {
            store_log_sum<T, B>(s.a.data(), K, count, static_cast<T*>(o.out) + p);
        } else if constexpr (M == Mode::responsibilities) {
            store_responsibilities<T, B>(s.a.data(), K, count, static_cast<T*>(o.out) + p,
                                         static_cast<T*>(o.log_resp) + p * K, o.probabilities);
        } else if constexpr (M == Mode::score) {
            V<T, B> log_sum;
            const V<T, B> inv_sum = exp_shifted<T, B>(s.a.data(), K, o.log_density ? &log_sum : nullptr);
            if (o.log_density != nullptr) {
                simd::store(lanes, log_sum);
                for (int64_t l = 0; l < count; ++l) static_cast<T*>(o.log_density)[p + l] = lanes[l];
            }
            // grad = -sum_k r_k A_k^T y_k with r_k = e_k / sum: e_k A_k^T y_k summed, then divided.
            // Diagonal factors and d <= 4 keep grad in registers over all components.
            if constexpr (kDiag) {
                int64_t i0 = 0;
                for (; i0 + 4 <= d; i0 += 4) subtract_diagonal<T, B, 4>(g, s.a.data(), ys.data(), i0, s.grad.data());
                switch (d - i0) {
                    case 1: subtract_diagonal<T, B, 1>(g, s.a.data(), ys.data(), i0, s.grad.data()); break;
                    case 2: subtract_diagonal<T, B, 2>(g, s.a.data(), ys.data(), i0, s.grad.data()); break;
                    case 3: subtract_diagonal<T, B, 3>(g, s.a.data(), ys.data(), i0, s.grad.data()); break;
                    default: break;
                }
            } else if constexpr (kDim > 0) {
                subtract_transposed_small<T, B, kDim>(g, s.a.data(), ys.data(), s.grad.data());
            } else {
                for (size_t i = 0; i < s.grad.size(); ++i) s.grad[i] = V<T, B>{};
                for (int64_t k = 0; k < K; ++k) {  // grad -= e A^T y, A lower triangular
                    const V<T, B> r = s.a[size_t(k)];
                    const V<T, B>* y = ys.data() + k * d;
                    for (int64_t j = 0; j < d; ++j) s.y[size_t(j)] = r * y[j];
                    subtract_transposed<T, B, 1, 8>(g.factor + k * packed(d), s.y.data(), d, s.grad.data());
                }
            }
            T* out = static_cast<T*>(o.out) + p * d;
            for (int64_t i = 0; i < d; ++i) {
                simd::store(lanes, s.grad[size_t(i)] * inv_sum);
                for (int64_t l = 0; l < count; ++l) out[l * d + i] = lanes[l];
            }
        }
        if ((++blocks & 255) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
}

}  // namespace
}  // namespace gensample::gmm
