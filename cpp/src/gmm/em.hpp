// Gaussian mixtures, the fused E-step sums: responsibility-weighted counts, first and
// second moments and the log-likelihood, tiles of accumulators in registers.
//
// A room of gmm.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=fast, gmm.cpp's header says why). Which source file a loop is
// compiled in decides its bits: move code between gmm.cpp's rooms only.
#pragma once

#include "density.hpp"

namespace gensample::gmm {
namespace {

// The E-step sums (moments_blocks) take kMomentVectors vectors of points at a time, and
// the second moments a tile of kTileRows x kTileCols<B> accumulators at a time (12 of
// AVX2's and SSE2's 16 registers, 24 of AVX-512's 32), each accumulator loaded and stored
// once per block instead of once per vector: one vector at a time, the load, multiply-add
// and store of every entry of every component cost several times the E-step's
// log-densities.
constexpr int kMomentVectors = 3 * kVectors;
constexpr int kTileRows = 4;
template <int B>
constexpr int kTileCols = B == 64 ? 6 : 3;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Rows [i0, i0 + kTileRows) x columns [j0, j0 + kTileCols) of the second moments (rows of
// dc values from sk) += sum over the block's vectors of rd_i diff_j, vector by vector.
template <int B>
GENSAMPLE_INLINE void second_tile(V<double, B>* sk, int64_t dc, const V<double, B>* rd, const V<double, B>* diff,
                                  int64_t stride, int nv, int64_t i0, int64_t j0) {
    constexpr int R = kTileRows, C = kTileCols<B>;
    V<double, B> acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 6
        for (int c = 0; c < C; ++c) acc[r][c] = sk[(i0 + r) * dc + j0 + c];
    }
    for (int v = 0; v < nv; ++v) {
        const V<double, B>* dv = diff + v * stride + j0;
        const V<double, B>* rv = rd + v * stride + i0;
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const V<double, B> rdi = rv[r];
#pragma GCC unroll 6
            for (int c = 0; c < C; ++c) acc[r][c] += rdi * dv[c];
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 6
        for (int c = 0; c < C; ++c) sk[(i0 + r) * dc + j0 + c] = acc[r][c];
    }
}

// The lower triangle of the second moments for d = kDim <= 4 (at most 10 accumulators, in
// registers; sk packed) += sum over the block's vectors of rd_i diff_j.
template <int B, int kDim>
GENSAMPLE_INLINE void second_small(V<double, B>* sk, const V<double, B>* rd, const V<double, B>* diff, int64_t stride,
                                   int nv) {
    V<double, B> acc[packed(kDim)];
    for (int e = 0; e < packed(kDim); ++e) acc[e] = sk[e];
    for (int v = 0; v < nv; ++v) {
#pragma GCC unroll 4
        for (int i = 0; i < kDim; ++i) {
            const V<double, B> rdi = rd[v * stride + i];
#pragma GCC unroll 4
            for (int j = 0; j <= i; ++j) acc[packed(i) + j] += rdi * diff[v * stride + j];
        }
    }
    for (int e = 0; e < packed(kDim); ++e) sk[e] = acc[e];
}

// The fused E-step sums over points [p0, p1) (float64): per component the responsibility-
// weighted count, first and second moments about its mean, and the weighted log-likelihood,
// into o.partial (the layout of em_moments). Every accumulator adds its terms lane by lane
// in point order, as one vector at a time would. In general dimension the second moments
// are accumulated as whole tiles of a (d rounded up to kTileRows) x (d rounded up to
// kTileCols) matrix, padded with zeros, of which the lower triangle is kept. kGroup vectors are whitened together
// (whiten_n, kGroup > 1: full factors in general dimension on AVX2 and AVX-512; coordinate
// i of the block's vector v in xs[((v / kGroup) d + i) kGroup + v % kGroup]).
template <int B, bool kDiag, int kDim, int kGroup>
GENSAMPLE_INLINE void moments_blocks(const Mixture<double>& g, const double* x, int64_t p0, int64_t p1,
                                     const Outputs& o) {
    using T = double;
    using VT = V<T, B>;
    constexpr int64_t kW = kWidth<T, B>;
    constexpr int P = kMomentVectors, R = kTileRows, C = kTileCols<B>, G = kGroup;
    static_assert(P % G == 0, "blocks of whole groups");
    const int64_t d = kDim > 0 ? kDim : g.dim, K = g.k;
    const int64_t dr = round_up(d, R), dc = round_up(d, C), stride = std::max(dr, dc);
    const int64_t m2 = !o.full ? d : kDim > 0 ? packed(d) : dr * dc;
    const auto* rb = static_cast<const RowBlocks<T>*>(o.row_blocks);
    Scratch<T, B> s(d, K);
    simd::Buffer<T, B> xs(size_t(P * d)), ga(size_t(G * K)), resp(size_t(P * K));
    simd::Buffer<T, B> diff(size_t(P * stride)), rd(size_t(P * stride));  // zero past d
    simd::Buffer<T, B> acc(size_t(K * (1 + d + m2) + 1));  // weight (K), first (K d), second (K m2), log-lik
    VT* weight = acc.data();
    VT* first = weight + K;
    VT* second = first + K * d;
    VT& ll = acc[acc.size() - 1];
    const VT floor = simd::broadcast<B>(kExpFloor<T>);
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += P * kW) {
        const int nv = int(std::min<int64_t>(P, (p1 - p + kW - 1) / kW));
        for (int v = 0; v < round_up(nv, G); ++v) {  // a short last group repeats the block's first point
            const int64_t q = v < nv ? p + v * kW : p, count = std::min<int64_t>(kW, p1 - q);
            load_block<T, B>(x + q * d, count, d, g.centre, xs.data() + (v / G) * d * G + v % G, G);
        }
        for (int v = 0; v < nv; ++v) {
            if constexpr (G > 1) {
                if (v % G == 0) {
                    VT qs[G];
                    for (int64_t k = 0; k < K; ++k) {
                        whiten_n<T, B, G, kSubRows<B>>(g, *rb, k, xs.data() + v * d, qs);
                        for (int u = 0; u < G; ++u) ga[size_t(u * K + k)] = g.log_coef[k] - T(0.5) * qs[u];
                    }
                }
                for (int64_t k = 0; k < K; ++k) s.a[size_t(k)] = ga[size_t((v % G) * K + k)];
            } else {
                for (int64_t k = 0; k < K; ++k) {
                    const VT qk = whiten<T, B, kDiag, kDim, false>(g, rb, k, xs.data() + v * d, s.y.data());
                    s.a[size_t(k)] = g.log_coef[k] - T(0.5) * qk;
                }
            }
            const int64_t q = p + v * kW, count = std::min<int64_t>(kW, p1 - q);
            const VT vmax = largest<T, B>(s.a.data(), K);
            VT sum{};
            for (int64_t k = 0; k < K; ++k) {  // s.a takes exp(a - vmax), kept for the responsibilities
                s.a[size_t(k)] = simd::exp_nonpositive(simd::max<T>(s.a[size_t(k)] - vmax, floor));
                sum += s.a[size_t(k)];
            }
            const VT log_sum = simd::log_positive(sum);
            alignas(64) T vw[kW] = {};  // the padding lanes weigh nothing
            for (int64_t l = 0; l < count; ++l) vw[l] = o.v[q + l];
            const VT w = simd::load<T, B>(vw);
            ll += w * (vmax + log_sum);
            // r = exp(a - vmax) / sum: one exp per pair, not a second one of a - vmax - log sum
            const VT w_over_sum = w / sum;
            for (int64_t k = 0; k < K; ++k) resp[size_t(v * K + k)] = w_over_sum * s.a[size_t(k)];
        }
        for (int64_t k = 0; k < K; ++k) {
            const T* mu = g.mean + k * d;
            for (int v = 0; v < nv; ++v) {
                const VT r = resp[size_t(v * K + k)];
                weight[k] += r;
                const VT* xv = xs.data() + (v / G) * d * G + v % G;
                VT* dv = diff.data() + v * stride;
                VT* rv = rd.data() + v * stride;
                for (int64_t i = 0; i < d; ++i) {
                    dv[i] = xv[i * G] - mu[i];
                    rv[i] = r * dv[i];
                }
            }
            VT* fk = first + k * d;
            for (int64_t i = 0; i < d; ++i) {
                VT f = fk[i];
                for (int v = 0; v < nv; ++v) f += rd[size_t(v * stride + i)];
                fk[i] = f;
            }
            VT* sk = second + k * m2;
            if (o.full) {
                if constexpr (kDim > 0) {
                    second_small<B, kDim>(sk, rd.data(), diff.data(), stride, nv);
                } else {
                    for (int64_t i0 = 0; i0 < d; i0 += R) {
                        for (int64_t j0 = 0; j0 < i0 + R && j0 < d; j0 += C) {
                            second_tile<B>(sk, dc, rd.data(), diff.data(), stride, nv, i0, j0);
                        }
                    }
                }
            } else {
                for (int64_t i = 0; i < d; ++i) {
                    VT a = sk[i];
                    for (int v = 0; v < nv; ++v) a += rd[size_t(v * stride + i)] * diff[size_t(v * stride + i)];
                    sk[i] = a;
                }
            }
        }
        if ((++blocks & 31) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
    double* out = o.partial;
    for (int64_t i = 0; i < K * (1 + d); ++i) *out++ = simd::hsum<double>(acc[size_t(i)]);
    for (int64_t k = 0; k < K; ++k) {
        const VT* sk = second + k * m2;
        if (o.full) {
            for (int64_t i = 0; i < d; ++i) {
                for (int64_t j = 0; j <= i; ++j) *out++ = simd::hsum<double>(sk[kDim > 0 ? packed(i) + j : i * dc + j]);
            }
        } else {
            for (int64_t i = 0; i < d; ++i) *out++ = simd::hsum<double>(sk[i]);
        }
    }
    *out = simd::hsum<double>(ll);
}

}  // namespace
}  // namespace gensample::gmm
