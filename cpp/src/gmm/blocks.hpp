// Gaussian mixtures, the blocked passes for full covariances in general dimension (several
// vectors of points per block of factor rows), and the dispatch over modes and shapes.
//
// A room of gmm.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=fast, gmm.cpp's header says why). Which source file a loop is
// compiled in decides its bits: move code between gmm.cpp's rooms only.
#pragma once

#include "em.hpp"

namespace gensample::gmm {
namespace {

// kVec vectors of points from p on, interleaved (xbuf[j * kVec + v]), their point counts
// into counts (0 for a vector past p1, which repeats the first point instead).
template <class T, int B, int kVec>
GENSAMPLE_INLINE void load_blocks(const Mixture<T>& g, const T* x, int64_t p, int64_t p1, V<T, B>* xbuf,
                                  int64_t* counts) {
    constexpr int64_t kW = kWidth<T, B>;
    for (int v = 0; v < kVec; ++v) {
        counts[v] = std::clamp<int64_t>(p1 - (p + v * kW), 0, kW);
        const bool used = counts[v] > 0;
        load_block<T, B>(x + (used ? p + v * kW : p) * g.dim, used ? counts[v] : 1, g.dim, g.centre, xbuf + v, kVec);
    }
}

// a[v * K + k] = log_coef_k - |y|^2 / 2 for the kVec vectors of points in xs (whiten_n);
// when kKeep, each component's y into ys + k * d * kVec (the layout of whiten_n's y).
template <class T, int B, int kVec, int kSub, bool kKeep = false>
GENSAMPLE_INLINE void log_weights_n(const Mixture<T>& g, const RowBlocks<T>& rb, const V<T, B>* xs, V<T, B>* a,
                                    V<T, B>* ys = nullptr) {
    const int64_t d = g.dim, K = g.k;
    for (int64_t k = 0; k < K; ++k) {
        V<T, B> q[kVec];
        whiten_n<T, B, kVec, kSub, kKeep>(g, rb, k, xs, q, kKeep ? ys + k * d * kVec : nullptr);
        for (int v = 0; v < kVec; ++v) a[v * K + k] = g.log_coef[k] - T(0.5) * q[v];
    }
}

// The log-density (and the responsibilities into log_resp, unless null: their logs, or
// with probabilities p(k | x) itself) for full covariances in general dimension, kVec
// vectors of points per block, kSub rows of y at a time (whiten_n); the same operations per
// lane as run_range, so the same values. A short last block fills its missing vectors with
// its first point.
template <class T, int B, int kVec, int kSub>
GENSAMPLE_INLINE void density_blocks(const Mixture<T>& g, const RowBlocks<T>& rb, const T* x, int64_t p0, int64_t p1,
                                     T* out, T* log_resp, bool probabilities) {
    static_assert(kRows % kSub == 0, "row blocks split into whole sub-blocks");
    const int64_t d = g.dim, K = g.k;
    constexpr int64_t kW = kWidth<T, B>;
    simd::Buffer<T, B> xbuf{size_t(kVec * d)}, abuf{size_t(kVec * K)};
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += kVec * kW) {
        int64_t counts[kVec];
        load_blocks<T, B, kVec>(g, x, p, p1, xbuf.data(), counts);
        log_weights_n<T, B, kVec, kSub>(g, rb, xbuf.data(), abuf.data());
        for (int v = 0; v < kVec; ++v) {
            if (counts[v] == 0) continue;
            const int64_t q = p + v * kW;
            if (log_resp) {
                store_responsibilities<T, B>(abuf.data() + v * K, K, counts[v], out + q, log_resp + q * K,
                                             probabilities);
            } else {
                store_log_sum<T, B>(abuf.data() + v * K, K, counts[v], out + q);
            }
        }
        if ((++blocks & 127) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
}

// The score for full covariances in general dimension, kVec vectors of points per block:
// y of every component kept from the log-density pass (whiten_n), then grad = -sum_k r_k
// A_k^T y_k, each factor entry feeding kVec multiply-adds (kN gradient entries per vector
// in registers: 12 or 24 accumulators). The same operations per lane as run_range, so the
// same values.
template <class T, int B, int kVec, int kSub>
GENSAMPLE_INLINE void score_blocks(const Mixture<T>& g, const RowBlocks<T>& rb, const T* x, int64_t p0, int64_t p1,
                                   T* out, T* log_density) {
    constexpr int kN = B == 64 ? 8 : 4;
    const int64_t d = g.dim, K = g.k;
    constexpr int64_t kW = kWidth<T, B>;
    simd::Buffer<T, B> xbuf{size_t(kVec * d)}, abuf{size_t(kVec * K)}, ys{size_t(K * d * kVec)};
    simd::Buffer<T, B> ry{size_t(d * kVec)}, grad{size_t(d * kVec)};
    alignas(64) T lanes[kW];
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += kVec * kW) {
        int64_t counts[kVec];
        load_blocks<T, B, kVec>(g, x, p, p1, xbuf.data(), counts);
        log_weights_n<T, B, kVec, kSub, true>(g, rb, xbuf.data(), abuf.data(), ys.data());
        V<T, B> inv_sum[kVec], log_sum[kVec];
        for (int v = 0; v < kVec; ++v) {
            inv_sum[v] = exp_shifted<T, B>(abuf.data() + v * K, K, log_density ? &log_sum[v] : nullptr);
            if (log_density == nullptr) continue;
            simd::store(lanes, log_sum[v]);
            for (int64_t l = 0; l < counts[v]; ++l) log_density[p + v * kW + l] = lanes[l];
        }
        for (int64_t i = 0; i < d * kVec; ++i) grad[size_t(i)] = V<T, B>{};
        for (int64_t k = 0; k < K; ++k) {  // grad -= e A^T y, A lower triangular
            V<T, B> r[kVec];
            for (int v = 0; v < kVec; ++v) r[v] = abuf[size_t(v * K + k)];
            const V<T, B>* y = ys.data() + k * d * kVec;
            for (int64_t j = 0; j < d; ++j) {
#pragma GCC unroll 4
                for (int v = 0; v < kVec; ++v) ry[size_t(j * kVec + v)] = r[v] * y[j * kVec + v];
            }
            subtract_transposed<T, B, kVec, kN>(g.factor + k * packed(d), ry.data(), d, grad.data());
        }
        for (int v = 0; v < kVec; ++v) {
            T* o = out + (p + v * kW) * d;
            for (int64_t i = 0; i < d; ++i) {
                simd::store(lanes, grad[size_t(i * kVec + v)] * inv_sum[v]);
                for (int64_t l = 0; l < counts[v]; ++l) o[l * d + i] = lanes[l];
            }
        }
        if ((++blocks & 127) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
}

template <int B>
GENSAMPLE_INLINE void run_moments(const Mixture<double>& g, const double* x, int64_t p0, int64_t p1, const Outputs& o) {
    switch (g.diagonal ? 0 : g.dim) {
        case 1: return moments_blocks<B, false, 1, 1>(g, x, p0, p1, o);
        case 2: return moments_blocks<B, false, 2, 1>(g, x, p0, p1, o);
        case 3: return moments_blocks<B, false, 3, 1>(g, x, p0, p1, o);
        case 4: return moments_blocks<B, false, 4, 1>(g, x, p0, p1, o);
        default: break;
    }
    if (g.diagonal) return moments_blocks<B, true, 0, 1>(g, x, p0, p1, o);
    if constexpr (B >= 32) {
        return moments_blocks<B, false, 0, kVectors>(g, x, p0, p1, o);
    } else {
        return moments_blocks<B, false, 0, 1>(g, x, p0, p1, o);
    }
}

template <class T, int B, Mode M>
GENSAMPLE_INLINE void run_any(const Mixture<T>& g, const T* x, int64_t p0, int64_t p1, const Outputs& o) {
    static_assert(M != Mode::moments, "run_moments");
    if ((M == Mode::density || M == Mode::responsibilities) && o.row_blocks) {
        const auto& rb = *static_cast<const RowBlocks<T>*>(o.row_blocks);
        T* out = static_cast<T*>(o.out);
        T* log_resp = static_cast<T*>(o.log_resp);  // null for density
        if constexpr (B >= 32) {
            return density_blocks<T, B, kVectors, kSubRows<B>>(g, rb, x, p0, p1, out, log_resp, o.probabilities);
        }
    }
    if (M == Mode::score && o.row_blocks) {
        const auto& rb = *static_cast<const RowBlocks<T>*>(o.row_blocks);
        T* out = static_cast<T*>(o.out);
        if constexpr (B >= 32)
            return score_blocks<T, B, kVectors, kSubRows<B>>(g, rb, x, p0, p1, out, static_cast<T*>(o.log_density));
    }
    // Small dimensions get loops unrolled at compile time (everything stays in registers).
    switch (g.diagonal ? 0 : g.dim) {
        case 1: return run_range<T, B, M, false, 1>(g, x, p0, p1, o);
        case 2: return run_range<T, B, M, false, 2>(g, x, p0, p1, o);
        case 3: return run_range<T, B, M, false, 3>(g, x, p0, p1, o);
        case 4: return run_range<T, B, M, false, 4>(g, x, p0, p1, o);
        default: break;
    }
    if (g.diagonal) {
        run_range<T, B, M, true, 0>(g, x, p0, p1, o);
    } else {
        run_range<T, B, M, false, 0>(g, x, p0, p1, o);
    }
}

}  // namespace
}  // namespace gensample::gmm
