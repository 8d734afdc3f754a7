// Flows and decoders, the network: Linear layers and their ops (activations, LayerNorm)
// evaluated on vectors of particles, register-blocked; as a field with its divergence by
// forward mode, as a decoder forward only.
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
GENSAMPLE_INLINE V<T, B> activate(const Op<T>& op, const V<T, B>& z, V<T, B>* slope) {
    const Activation a = op.activation;
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
        case Activation::leaky_relu: {  // param: the negative slope
            const V<T, B> k = simd::broadcast<B>(op.param);
            if (slope) *slope = z > T(0) ? simd::broadcast<B>(T(1)) : k;
            return z > T(0) ? z : k * z;
        }
        case Activation::sigmoid: {  // as silu's, from e = exp(-|z|) <= 1
            const V<T, B> neg = z < T(0) ? z : -z;
            const V<T, B> e = simd::exp_nonpositive_portable(simd::max<T>(neg, simd::broadcast<B>(kExpFloor<T>)));
            const V<T, B> sig = (z >= T(0) ? simd::broadcast<B>(T(1)) : e) / (T(1) + e);
            if (slope) *slope = sig * (T(1) - sig);
            return sig;
        }
        case Activation::softplus:  // log1p(exp(beta z)) / beta (z itself above beta z > threshold), as torch
        case Activation::elu: {     // z > 0 ? z : alpha expm1(z)
            alignas(64) T lanes[kWidth<T, B>], slopes[kWidth<T, B>];
            simd::store(lanes, z);
            for (int l = 0; l < kWidth<T, B>; ++l) {
                const T v = lanes[l];
                if (a == Activation::softplus) {
                    const T bz = v * op.param;
                    const bool linear_part = bz > op.param2;
                    lanes[l] = linear_part ? v : std::log1p(std::exp(bz)) / op.param;
                    slopes[l] = linear_part ? T(1) : T(1) / (T(1) + std::exp(-bz));
                } else {
                    lanes[l] = v > T(0) ? v : op.param * std::expm1(v);
                    slopes[l] = v > T(0) ? T(1) : lanes[l] + op.param;
                }
            }
            if (slope) *slope = simd::load<T, B>(slopes);
            return simd::load<T, B>(lanes);
        }
    }
    return z;
}

// LayerNorm (op.gamma set) over the n outputs of kN interleaved vectors in h, in place:
// per lane, h = (h - mean) / sqrt(var + eps) * gamma + beta, var the biased variance, sums
// in the outputs' order. With `tangents` (n_tangents blocks at stride W after h's), each
// tangent t goes through the norm's derivative: gamma (t - mean(t) - h^ mean(h^ t)) / std.
template <class T, int B, int kN>
GENSAMPLE_INLINE void layer_norm(const Op<T>& op, int64_t n, V<T, B>* h, V<T, B>* tangents, int64_t n_tangents,
                                 int64_t W) {
    const T count = T(n);
    for (int v = 0; v < kN; ++v) {
        V<T, B> sum{};
        for (int64_t o = 0; o < n; ++o) sum += h[o * kN + v];
        const V<T, B> mean = sum / count;
        V<T, B> sq{};
        for (int64_t o = 0; o < n; ++o) {
            const V<T, B> c = h[o * kN + v] - mean;
            sq += c * c;
        }
        const V<T, B> rstd = T(1) / simd::sqrt_lanes<T, V<T, B>>(sq / count + op.eps);
        for (int64_t o = 0; o < n; ++o) h[o * kN + v] = (h[o * kN + v] - mean) * rstd;  // h^
        for (int64_t j = 0; j < n_tangents; ++j) {
            V<T, B>* t = tangents + j * W;
            V<T, B> mt{}, mh{};
            for (int64_t o = 0; o < n; ++o) mt += t[o * kN + v], mh += h[o * kN + v] * t[o * kN + v];
            mt = mt / count, mh = mh / count;
            for (int64_t o = 0; o < n; ++o) {
                t[o * kN + v] = (t[o * kN + v] - mt - h[o * kN + v] * mh) * rstd * op.gamma[o];
            }
        }
        for (int64_t o = 0; o < n; ++o) h[o * kN + v] = h[o * kN + v] * op.gamma[o] + op.beta[o];
    }
}

template <class T>
bool has_norm(const Layer<T>& L) {
    for (const Op<T>& op : L.ops) {
        if (op.gamma) return true;
    }
    return false;
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
        // Tangents through the whole layer, except in a last layer of elementwise ops: there
        // only the diagonal du_j / dx_j, from the input tangents and the product of the slopes.
        const bool full = kDiv && (li < last || has_norm(L));
        linear<T, B, kN>(L, in, out, true);
        if (full) {
            for (int64_t j = 0; j < d; ++j) linear<T, B, kN>(L, in + (j + 1) * W, out + (j + 1) * W, false);
        }
        V<T, B>* slope = s.deriv.data();
        bool sloped = false;  // the last layer's diagonal: slope holds the product of its ops' slopes
        for (const Op<T>& op : L.ops) {
            if (op.gamma) {
                layer_norm<T, B, kN>(op, L.out, out, full ? out + W : nullptr, full ? d : 0, W);
                continue;
            }
            V<T, B>* sl = kDiv && !full && sloped ? s.deriv2.data() : slope;
            for (int64_t o = 0; o < n; ++o) out[o] = activate<T, B>(op, out[o], kDiv ? sl + o : nullptr);
            if (full) {
                for (int64_t j = 0; j < d; ++j) {
                    V<T, B>* tj = out + (j + 1) * W;
                    for (int64_t o = 0; o < n; ++o) tj[o] *= slope[o];
                }
            } else if (kDiv && sloped) {
                for (int64_t o = 0; o < n; ++o) slope[o] *= sl[o];
            }
            sloped = true;
        }
        if (kDiv && li == last) {
            for (int v = 0; v < kN; ++v) {
                V<T, B> sum{};
                for (int64_t j = 0; j < d; ++j) {
                    if (full) {
                        sum += out[(j + 1) * W + j * kN + v];
                        continue;
                    }
                    const T* w = L.weight + j * L.in;
                    const V<T, B>* tj = in + (j + 1) * W + v;
                    V<T, B> acc{};
                    for (int64_t i = 0; i < L.in; ++i) acc = simd::fma(w[i], tj[i * kN], acc);
                    sum = sloped ? simd::fma(slope[j * kN + v], acc, sum) : sum + acc;
                }
                div[v] = sum;
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

// A decoder's forward pass for kN vectors of lanes: z kN rows of the first layer's inputs,
// y kN rows of the last layer's outputs; h0 and h1 kN vectors per output of the widest layer.
template <class T, int B, int kN>
GENSAMPLE_INLINE void network_forward(const Network<T>& net, const V<T, B>* z, V<T, B>* h0, V<T, B>* h1, V<T, B>* y) {
    V<T, B>* in = h0;
    V<T, B>* out = h1;
    const int64_t q = net.layers.front().in;
    for (int v = 0; v < kN; ++v) {
        for (int64_t i = 0; i < q; ++i) in[i * kN + v] = z[v * q + i];
    }
    for (const Layer<T>& L : net.layers) {
        linear<T, B, kN>(L, in, out, true);
        for (const Op<T>& op : L.ops) {
            if (op.gamma) {
                layer_norm<T, B, kN>(op, L.out, out, nullptr, 0, 0);
            } else {
                for (int64_t o = 0; o < L.out * kN; ++o) out[o] = activate<T, B>(op, out[o], nullptr);
            }
        }
        std::swap(in, out);
    }
    const int64_t d = net.layers.back().out;
    for (int v = 0; v < kN; ++v) {
        for (int64_t o = 0; o < d; ++o) y[v * d + o] = in[o * kN + v];
    }
}

}  // namespace
}  // namespace gensample::flow
