// Flows, the network field: an MLP of Linear layers evaluated on vectors of particles,
// register-blocked, with its divergence by forward mode.
//
// A room of flow.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=off: every instruction set gives the same bits). Which source file
// a loop is compiled in decides its bits: move code between flow.cpp's rooms only.
#pragma once

#include "data.hpp"

namespace gensample::flow {
namespace {

// phi(z), and phi'(z) into *slope when slope is not null.
template <class T, int B>
GENSAMPLE_INLINE V<T, B> activate(Activation a, const V<T, B>& z, V<T, B>* slope) {
    switch (a) {
        case Activation::identity:
            if (slope) *slope = simd::broadcast<B>(T(1));
            return z;
        case Activation::relu:
            if (slope) *slope = z > T(0) ? simd::broadcast<B>(T(1)) : V<T, B>{};
            return z > T(0) ? z : V<T, B>{};
        case Activation::silu: {  // z sigmoid(z) with e = exp(-|z|) <= 1: no overflow either way
            const V<T, B> neg = z < T(0) ? z : -z;
            const V<T, B> e = simd::exp_nonpositive_portable(simd::max<T>(neg, simd::broadcast<B>(kExpFloor<T>)));
            const V<T, B> sig = (z >= T(0) ? simd::broadcast<B>(T(1)) : e) / (T(1) + e);  // one division
            if (slope) *slope = sig * (T(1) + z * (T(1) - sig));
            return z * sig;
        }
        case Activation::gelu:
        case Activation::gelu_tanh:
        case Activation::tanh: {  // lane by lane, with the C library's erf and tanh
            alignas(64) T lanes[kWidth<T, B>], slopes[kWidth<T, B>];
            simd::store(lanes, z);
            for (int l = 0; l < kWidth<T, B>; ++l) {
                const T v = lanes[l];
                if (a == Activation::tanh) {
                    lanes[l] = std::tanh(v);
                    slopes[l] = T(1) - lanes[l] * lanes[l];
                } else if (a == Activation::gelu) {
                    const T cdf = T(0.5) * (T(1) + std::erf(v * T(0.70710678118654752440)));
                    lanes[l] = v * cdf;
                    slopes[l] = cdf + v * T(0.39894228040143267794) * std::exp(T(-0.5) * v * v);
                } else {  // GELU's tanh approximation
                    const T k = T(0.79788456080286535588), inner = k * (v + T(0.044715) * v * v * v);
                    const T th = std::tanh(inner);
                    lanes[l] = T(0.5) * v * (T(1) + th);
                    slopes[l] =
                        T(0.5) * (T(1) + th) + T(0.5) * v * (T(1) - th * th) * k * (T(1) + T(3 * 0.044715) * v * v);
                }
            }
            if (slope) *slope = simd::load<T, B>(slopes);
            return simd::load<T, B>(lanes);
        }
    }
    return z;
}

// Outputs per register block of linear(): kLinearRows x kN accumulators, each input vector
// loaded once for kLinearRows multiply-adds and each weight broadcast once for kN. One vector: 8 rows.
// Two: 6 of them in AVX2's 16 registers (12 accumulators, 2 inputs, a broadcast), 12 in
// AVX-512's 32.
template <int B, int kN>
constexpr int kLinearRows = kN == 1 ? 8 : (B >= 64 ? 12 : 6);

// dst[o kN + v] = sum_i W[o][i] src[i kN + v] (+ bias[o]) for o < L.out and each of kN
// vectors of particles v (interleaved), a block of kLinearRows outputs at a time; a short
// last block recomputes output o0 in its missing rows and drops them. Each lane sums the
// same products in the same order for any kN and block, so gets the same bits.
template <class T, int B, int kN>
GENSAMPLE_INLINE void linear(const Layer<T>& L, const V<T, B>* src, V<T, B>* dst, bool bias) {
    constexpr int R = kLinearRows<B, kN>;
    for (int64_t o0 = 0; o0 < L.out; o0 += R) {
        const int64_t rows = std::min<int64_t>(R, L.out - o0);
        V<T, B> acc[R][kN];
        const T* W[R];
#pragma GCC unroll 12
        for (int r = 0; r < R; ++r) {
            const int64_t o = o0 + (r < rows ? r : 0);
            for (int v = 0; v < kN; ++v) acc[r][v] = bias ? L.bias[o] - V<T, B>{} : V<T, B>{};
            W[r] = L.weight + o * L.in;
        }
        for (int64_t i = 0; i < L.in; ++i) {
            V<T, B> h[kN];
#pragma GCC unroll 2
            for (int v = 0; v < kN; ++v) h[v] = src[i * kN + v];
#pragma GCC unroll 12
            for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
                for (int v = 0; v < kN; ++v) acc[r][v] = simd::fma_rows(W[r][i], h[v], acc[r][v]);
            }
        }
        for (int r = 0; r < rows; ++r) {
            for (int v = 0; v < kN; ++v) dst[(o0 + r) * kN + v] = acc[r][v];
        }
    }
}

// A network field at (x, t) per lane for kN vectors of particles (x and u: kN rows of d,
// div: kN), carried through the layers together (interleaved, so that linear() reuses each
// weight for all of them); with kDiv its divergence by forward mode: d tangents (one per
// input coordinate) carried through every layer beside the values.
template <class T, int B, bool kDiv, int kDim, int kN>
GENSAMPLE_INLINE void network_field(const Network<T>& net, const V<T, B>& t, const V<T, B>* x, Scratch<T, B>& s,
                                    V<T, B>* u, V<T, B>* div) {
    const int64_t d = kDim > 0 ? kDim : net.dim, W = s.stride * kN;  // W: one tangent's vectors
    V<T, B>* in = s.h0.data();
    V<T, B>* out = s.h1.data();
    for (int v = 0; v < kN; ++v) {
        for (int64_t i = 0; i < d; ++i) in[i * kN + v] = x[v * d + i];
        in[d * kN + v] = t;
    }
    if (kDiv) {
        for (int64_t j = 0; j < d; ++j) {
            for (int64_t i = 0; i <= d; ++i) {
                for (int v = 0; v < kN; ++v)
                    in[(j + 1) * W + i * kN + v] = i == j ? simd::broadcast<B>(T(1)) : V<T, B>{};
            }
        }
    }
    const size_t last = net.layers.size() - 1;
    for (size_t li = 0; li <= last; ++li) {
        const Layer<T>& L = net.layers[li];
        const int64_t n = L.out * kN;
        linear<T, B, kN>(L, in, out, true);
        V<T, B>* slope = s.deriv.data();
        for (int64_t o = 0; o < n; ++o) out[o] = activate<T, B>(L.activation, out[o], kDiv ? slope + o : nullptr);
        if (kDiv) {
            if (li < last) {
                for (int64_t j = 0; j < d; ++j) {
                    V<T, B>* tj = out + (j + 1) * W;
                    linear<T, B, kN>(L, in + (j + 1) * W, tj, false);
                    for (int64_t o = 0; o < n; ++o) tj[o] *= slope[o];
                }
            } else {  // only the diagonal: du_j / dx_j
                for (int v = 0; v < kN; ++v) {
                    V<T, B> sum{};
                    for (int64_t j = 0; j < d; ++j) {
                        const T* w = L.weight + j * L.in;
                        const V<T, B>* tj = in + (j + 1) * W + v;
                        V<T, B> acc{};
                        for (int64_t i = 0; i < L.in; ++i) acc = simd::fma(w[i], tj[i * kN], acc);
                        sum = simd::fma(slope[j * kN + v], acc, sum);
                    }
                    div[v] = sum;
                }
            }
        }
        if (li == last) {
            for (int v = 0; v < kN; ++v) {
                for (int64_t o = 0; o < d; ++o) u[v * d + o] = out[o * kN + v];
            }
        }
        std::swap(in, out);
    }
}

}  // namespace
}  // namespace gensample::flow
