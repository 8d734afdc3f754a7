// Flows (flow.hpp): the fields (a Gaussian mixture's or a dataset's marginal velocity on an
// affine path, a network of Linear layers) and the solvers that carry particles along them.
//
// Fixed steps, time-outer: for each step the per-time data of its stage times are computed
// once, then every block of particles takes the whole step (all stages) in registers.
// dopri5: each lane of a block has its own time and step (the fields' *_lanes forms).
// Compiled with the global -ffp-contract=off, so every instruction set gives the same bits.
#include "gensample/flow.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/random.hpp"
#include "gensample/simd.hpp"

namespace gensample::flow {
namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

Coefficients coefficients(const Path& path, double t) {
    switch (path.kind) {
        case PathKind::linear: return {t, 1.0, (1 - t) * (1 - t), -(1 - t)};
        case PathKind::cosine: {
            const double a = std::sin(0.5 * kPi * t), s = std::sin(0.5 * kPi * (1 - t));  // both exact at the ends
            return {a, 0.5 * kPi * s, s * s, -0.5 * kPi * a * s};
        }
        case PathKind::vp: {  // alpha = exp(-T(1 - t) / 2), alpha' = alpha beta(1 - t) / 2
            const double r = 1 - t, T = path.beta_min * r + 0.5 * (path.beta_max - path.beta_min) * r * r;
            const double a = std::exp(-0.5 * T), da = 0.5 * a * (path.beta_min + (path.beta_max - path.beta_min) * r);
            return {a, da, -std::expm1(-T), -a * da};
        }
    }
    throw std::invalid_argument("flow: unknown path");
}

namespace {

// The kernels take the vector width in bytes, B, as a template argument: each instruction
// set's version runs at its register width (dispatch.hpp). Every operation is lane by lane
// and fused by simd::fma, so the width changes no bit of a particle's result.
template <class T, int B>
using V = simd::VN<T, B>;

template <class T, int B>
constexpr int kWidth = B / int(sizeof(T));

constexpr double kLog2Pi = 1.8378770664093454836;

inline int64_t packed(int64_t d) { return d * (d + 1) / 2; }

// A mixture field's data at one time t, per component k (all in T for the lanes).
template <class T>
struct TimeData {
    std::vector<T> offset;    // (k, d): A_k alpha mu_k, so that A_k (x - alpha mu_k) = A_k x - offset_k
    std::vector<T> base;      // (k, d): alpha' mu_k - B_k alpha mu_k, so that u_k = base_k + B_k x
    std::vector<T> factor;    // (k, d (d + 1) / 2): A_k = chol(S_k)^-1, packed lower rows
    std::vector<T> bmat;      // (k, d, d): B_k
    std::vector<T> log_coef;  // (k,): log pi_k - log|chol S_k| - d/2 log(2 pi)
    std::vector<T> trace;     // (k,): tr B_k
};

// S = alpha^2 Sigma + sigma^2 I, its Cholesky factor L, A = L^-1, S^-1 = A^T A and
// B = (alpha alpha' Sigma + sigma sigma' I) S^-1, all in double, for every component.
template <class T>
TimeData<T> mixture_data(const MixtureField& f, const Coefficients& c, double t) {
    const int64_t d = f.dim, K = f.k;
    TimeData<T> td;
    td.offset.resize(size_t(K * d));
    td.base.resize(size_t(K * d));
    td.factor.resize(size_t(K * packed(d)));
    td.bmat.resize(size_t(K * d * d));
    td.log_coef.resize(size_t(K));
    td.trace.resize(size_t(K));
    std::vector<double> S(size_t(d * d)), L(size_t(d * d)), A(size_t(d * d)), Sinv(size_t(d * d));
    const double a = c.alpha, a2 = c.alpha * c.alpha, ada = c.alpha * c.dalpha;
    for (int64_t k = 0; k < K; ++k) {
        const double* sigma = f.covariances + k * d * d;
        for (int64_t i = 0; i < d * d; ++i) S[size_t(i)] = a2 * sigma[i];
        for (int64_t i = 0; i < d; ++i) S[size_t(i * d + i)] += c.sigma2;
        std::fill(L.begin(), L.end(), 0.0);
        double log_det = 0;
        for (int64_t j = 0; j < d; ++j) {  // Cholesky, row by row
            for (int64_t i = 0; i <= j; ++i) {
                double v = S[size_t(j * d + i)];
                for (int64_t l = 0; l < i; ++l) v -= L[size_t(j * d + l)] * L[size_t(i * d + l)];
                if (i == j) {
                    if (!(v > 0)) {
                        throw std::invalid_argument("flow: the mixture's covariance at t = " + std::to_string(t) +
                                                    " is not positive definite");
                    }
                    L[size_t(j * d + j)] = std::sqrt(v);
                    log_det += std::log(L[size_t(j * d + j)]);
                } else {
                    L[size_t(j * d + i)] = v / L[size_t(i * d + i)];
                }
            }
        }
        std::fill(A.begin(), A.end(), 0.0);
        for (int64_t j = 0; j < d; ++j) {  // A = L^-1 by forward substitution, column j
            A[size_t(j * d + j)] = 1.0 / L[size_t(j * d + j)];
            for (int64_t i = j + 1; i < d; ++i) {
                double v = 0;
                for (int64_t l = j; l < i; ++l) v -= L[size_t(i * d + l)] * A[size_t(l * d + j)];
                A[size_t(i * d + j)] = v / L[size_t(i * d + i)];
            }
        }
        for (int64_t i = 0; i < d; ++i) {  // S^-1 = A^T A
            for (int64_t j = 0; j < d; ++j) {
                double v = 0;
                for (int64_t l = std::max(i, j); l < d; ++l) v += A[size_t(l * d + i)] * A[size_t(l * d + j)];
                Sinv[size_t(i * d + j)] = v;
            }
        }
        double trace = 0;
        const double* mu = f.means + k * d;
        for (int64_t i = 0; i < d; ++i) {  // B, and alpha' mu - B alpha mu
            double bmu = 0;
            for (int64_t j = 0; j < d; ++j) {
                double v = 0;
                for (int64_t l = 0; l < d; ++l) {
                    const double m = ada * sigma[i * d + l] + (i == l ? c.sigma_dsigma : 0.0);
                    v += m * Sinv[size_t(l * d + j)];
                }
                td.bmat[size_t((k * d + i) * d + j)] = T(v);
                bmu += v * (a * mu[j]);
                if (i == j) trace += v;
            }
            td.base[size_t(k * d + i)] = T(c.dalpha * mu[i] - bmu);
        }
        for (int64_t j = 0; j < d; ++j) {
            double amu = 0;
            for (int64_t i = 0; i <= j; ++i) {
                td.factor[size_t(k * packed(d) + packed(j) + i)] = T(A[size_t(j * d + i)]);
                amu += A[size_t(j * d + i)] * (a * mu[i]);
            }
            td.offset[size_t(k * d + j)] = T(amu);
        }
        td.log_coef[size_t(k)] = T(std::log(f.weights[k]) - log_det - 0.5 * double(d) * kLog2Pi);
        td.trace[size_t(k)] = T(trace);
    }
    return td;
}

// The time-independent data of an empirical field (flow.hpp): points x_k, x_k - c and
// |x_k - c|^2 about the data's centre c, log w_k.
template <class T>
struct EmpiricalData {
    std::vector<T> points, base, trace, log_coef, centre;
    T h2 = 0;
};

template <class T>
EmpiricalData<T> empirical_data(const MixtureField& f) {
    const int64_t d = f.dim, K = f.k;
    EmpiricalData<T> e;
    e.points.resize(size_t(K * d));
    e.base.resize(size_t(K * d));
    e.trace.resize(size_t(K));
    e.log_coef.resize(size_t(K));
    e.centre.assign(size_t(d), T(0));
    std::vector<double> c(size_t(d), 0.0);
    for (int64_t k = 0; k < K; ++k) {
        for (int64_t j = 0; j < d; ++j) c[size_t(j)] += f.weights[k] * f.means[k * d + j];
    }
    for (int64_t j = 0; j < d; ++j) e.centre[size_t(j)] = T(c[size_t(j)]);
    for (int64_t k = 0; k < K; ++k) {
        double r2 = 0;
        for (int64_t j = 0; j < d; ++j) {
            const double xk = f.means[k * d + j];
            e.points[size_t(k * d + j)] = T(xk);
            e.base[size_t(k * d + j)] = T(xk - c[size_t(j)]);
            r2 += (xk - c[size_t(j)]) * (xk - c[size_t(j)]);
        }
        e.trace[size_t(k)] = T(r2);
        e.log_coef[size_t(k)] = T(std::log(f.weights[k]));
    }
    e.h2 = T(f.bandwidth * f.bandwidth);
    return e;
}

// The time-independent data of a mixture for lanes with their own times: Sigma_k =
// Q_k diag(lambda_k) Q_k^T (from the caller), so that S_k = Q_k diag(alpha^2 lambda + sigma^2) Q_k^T.
template <class T>
struct EigenData {
    std::vector<T> lambda, q, mu, qmu, log_coef;  // (k, d), (k, d, d), (k, d), Q_k^T mu_k (k, d), (k,)
};

template <class T>
EigenData<T> eigen_data(const MixtureField& f) {
    if (!f.eigenvalues || !f.eigenvectors) throw std::invalid_argument("flow: dopri5 needs the eigendecompositions");
    const int64_t d = f.dim, K = f.k;
    EigenData<T> e;
    e.lambda.assign(f.eigenvalues, f.eigenvalues + K * d);
    e.q.assign(f.eigenvectors, f.eigenvectors + K * d * d);
    e.mu.assign(f.means, f.means + K * d);
    e.qmu.resize(size_t(K * d));
    e.log_coef.resize(size_t(K));
    for (int64_t k = 0; k < K; ++k) {
        for (int64_t j = 0; j < d; ++j) {
            if (!(f.eigenvalues[k * d + j] >= 0)) throw std::invalid_argument("flow: a covariance is not positive semi-definite");
            double v = 0;
            for (int64_t i = 0; i < d; ++i) v += f.eigenvectors[(k * d + i) * d + j] * f.means[k * d + i];
            e.qmu[size_t(k * d + j)] = T(v);
        }
        e.log_coef[size_t(k)] = T(std::log(f.weights[k]) - 0.5 * double(d) * kLog2Pi);
    }
    return e;
}

// Path coefficients in lanes (one time per lane, or the same in all).
template <class T, int B>
struct Lanes {
    V<T, B> t, alpha, dalpha, sigma2, sds;
};

template <class T, int B>
Lanes<T, B> lanes_at(const Path& path, const double* t) {
    alignas(64) T v[5][kWidth<T, B>];
    for (int l = 0; l < kWidth<T, B>; ++l) {
        const Coefficients c = coefficients(path, t[l]);
        v[0][l] = T(t[l]), v[1][l] = T(c.alpha), v[2][l] = T(c.dalpha), v[3][l] = T(c.sigma2), v[4][l] = T(c.sigma_dsigma);
    }
    return {simd::load<T, B>(v[0]), simd::load<T, B>(v[1]), simd::load<T, B>(v[2]), simd::load<T, B>(v[3]),
            simd::load<T, B>(v[4])};
}

// A field, its time-independent data: one of a mixture (Cholesky data per stage time for
// fixed steps, eigen data for lanes), an empirical field, a network. The kernels take the
// kind as a template argument, so each compiled kernel holds one field, not all three.
enum class FieldKind { mixture, empirical, network };

template <class T>
struct FieldData {
    FieldKind kind;
    const MixtureField* f = nullptr;
    Path path{};
    const Network<T>* net = nullptr;
    EmpiricalData<T> emp;
    EigenData<T> eig;
    int64_t K = 0, dim = 0, width = 0;  // width: a network's widest layer
};

// What a fixed step needs at one stage time (the same in every lane).
template <class T>
struct Stage {
    TimeData<T> mix;  // mixture fields only
    double t = 0;
    Coefficients c{};
};

// A stage's time and path coefficients in every lane.
template <class T, int B>
GENSAMPLE_INLINE Lanes<T, B> lanes_at(const Stage<T>& st) {
    return {simd::broadcast<B>(T(st.t)), simd::broadcast<B>(T(st.c.alpha)), simd::broadcast<B>(T(st.c.dalpha)),
            simd::broadcast<B>(T(st.c.sigma2)), simd::broadcast<B>(T(st.c.sigma_dsigma))};
}

template <class T>
constexpr T kExpFloor = T(-708);
template <>
constexpr float kExpFloor<float> = -87.0f;

// The empirical field goes through its data in tiles of kTile points (the mixture field
// holds the log-weights of all its components at once).
constexpr int64_t kTile = 64;

// Per-task buffers (vectors of lanes), for blocks of `vectors` vectors (fixed steps).
template <class T, int B>
struct Scratch {
    simd::Buffer<T, B> r, y, uk, a, g;            // the fields
    simd::Buffer<T, B> ys, cs;                    // the mixture in lanes: y and 1 / diag(S) per component
    simd::Buffer<T, B> h0, h1, deriv;             // a network's activations (and tangents), activation slopes
    simd::Buffer<T, B> x, stage, acc, k1, probe;  // fixed-step solvers
    simd::Buffer<T, B> rk;                        // dopri5: 7 stages, x_new, the error (9 d)
    int64_t stride = 0;                           // a network's tangent stride
    Scratch(const FieldData<T>& F, bool div, bool adaptive, int vectors = 1) {
        const size_t d = size_t(F.dim), rows = size_t(vectors) * d;
        for (simd::Buffer<T, B>* b : {&r, &y, &uk, &g, &x, &stage, &acc, &k1, &probe}) b->resize(rows);
        if (F.kind == FieldKind::empirical) a.resize(size_t(std::min(F.K, kTile)));
        if (F.kind == FieldKind::mixture) {
            a.resize(size_t(F.K) * size_t(vectors));
            if (adaptive) ys.resize(size_t(F.K) * d), cs.resize(size_t(F.K) * d);
        }
        if (F.kind == FieldKind::network) {  // values and d tangents, each `vectors` interleaved
            stride = F.width;
            const size_t copies = div ? d + 1 : 1, width = size_t(vectors) * size_t(stride);
            h0.resize(copies * width), h1.resize(copies * width), deriv.resize(width);
        }
        if (adaptive) rk.resize(9 * d);
    }
};

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
                    slopes[l] = T(0.5) * (T(1) + th) + T(0.5) * v * (T(1) - th * th) * k * (T(1) + T(3 * 0.044715) * v * v);
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
                for (int v = 0; v < kN; ++v) in[(j + 1) * W + i * kN + v] = i == j ? simd::broadcast<B>(T(1)) : V<T, B>{};
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

// The empirical field (flow.hpp): attention over the data, a running maximum per tile.
// With s^2 = alpha^2 h^2 + sigma^2, b = (alpha alpha' h^2 + sigma sigma') / s^2:
// u = alpha' xbar + b (x - alpha xbar), div u = d b + (alpha' - alpha b) (alpha / s^2) (sum w |x_k - c|^2 - |xbar - c|^2).
template <class T, int B, bool kDiv, int kDim>
GENSAMPLE_INLINE void empirical_field(const EmpiricalData<T>& E, const Lanes<T, B>& c, int64_t K, int64_t dim,
                                      const V<T, B>* x, Scratch<T, B>& s, V<T, B>* u, V<T, B>& div) {
    const int64_t d = kDim > 0 ? kDim : dim;
    const V<T, B> s2_raw = c.alpha * c.alpha * E.h2 + c.sigma2;
    const auto singular = s2_raw <= T(0);  // t = 1, bandwidth 0: the limit u = x
    const V<T, B> s2 = singular ? simd::broadcast<B>(T(1)) : s2_raw;
    const V<T, B> inv_2s2 = T(0.5) / s2, b = (c.alpha * c.dalpha * E.h2 + c.sds) / s2;
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    V<T, B> m = simd::broadcast<B>(-std::numeric_limits<T>::infinity()), sum{}, sq{};
    V<T, B>* acc = s.g.data();  // sum_k e_k (x_k - c)
    for (int64_t i = 0; i < d; ++i) acc[i] = V<T, B>{};
    for (int64_t k0 = 0; k0 < K; k0 += kTile) {
        const int64_t n = std::min<int64_t>(kTile, K - k0);
        V<T, B> tile_max = simd::broadcast<B>(-std::numeric_limits<T>::infinity());
        for (int64_t k = 0; k < n; ++k) {
            const T* xk = E.points.data() + (k0 + k) * d;
            V<T, B> q{};
#pragma GCC unroll 4
            for (int64_t j = 0; j < d; ++j) {
                const V<T, B> r = simd::fma(-xk[j], c.alpha, x[j]);
                q = simd::fma(r, r, q);
            }
            s.a[size_t(k)] = simd::fma(-inv_2s2, q, E.log_coef[size_t(k0 + k)]);
            tile_max = simd::max<T>(tile_max, s.a[size_t(k)]);
        }
        const V<T, B> next = simd::max<T>(m, tile_max);
        const V<T, B> scale = simd::exp_nonpositive_portable(simd::max<T>(m - next, floor));
        sum *= scale;
        if (kDiv) sq *= scale;
        for (int64_t j = 0; j < d; ++j) acc[j] *= scale;
        m = next;
        for (int64_t k = 0; k < n; ++k) {
            const V<T, B> e = simd::exp_nonpositive_portable(simd::max<T>(s.a[size_t(k)] - m, floor));
            sum += e;
            const T* xk = E.base.data() + (k0 + k) * d;
#pragma GCC unroll 4
            for (int64_t j = 0; j < d; ++j) acc[j] = simd::fma(xk[j], e, acc[j]);
            if (kDiv) sq = simd::fma(E.trace[size_t(k0 + k)], e, sq);
        }
    }
    const V<T, B> inv = T(1) / sum;
    V<T, B> xbar2{};
    for (int64_t j = 0; j < d; ++j) {  // xbar = c + acc / sum
        const V<T, B> centred = acc[j] * inv;
        const V<T, B> xbar = centred + E.centre[size_t(j)];
        const V<T, B> v = c.dalpha * xbar + b * (x[j] - c.alpha * xbar);
        u[j] = singular ? x[j] : v;
        xbar2 += centred * centred;
    }
    if (kDiv) {
        const V<T, B> v = T(d) * b + (c.dalpha - c.alpha * b) * (c.alpha / s2) * (sq * inv - xbar2);
        div = singular ? V<T, B>{} : v;
    }
}

// The mixture field at one time for kN vectors of lanes (x and u: kN rows of d vectors; the
// Cholesky data of that time). The vectors' chains (log-weights, their maximum, the exp,
// the sums) are independent, so the core overlaps them.
// Factors enter as scalar operands of vector multiply-adds (GCC splats them in place).
template <class T, int B, bool kDiv, int kDim, int kN>
GENSAMPLE_INLINE void mixture_field(const TimeData<T>& td, int64_t K, int64_t dim, const V<T, B>* x, Scratch<T, B>& s,
                                    V<T, B>* u, V<T, B>* div) {
    const int64_t d = kDim > 0 ? kDim : dim;
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    V<T, B> vmax[kN];
    for (int v = 0; v < kN; ++v) vmax[v] = simd::broadcast<B>(-std::numeric_limits<T>::infinity());
    for (int64_t k = 0; k < K; ++k) {  // pass 1: log w_k up to a constant, from |A_k x - offset_k|^2
        const T* b = td.offset.data() + k * d;
        const T* f = td.factor.data() + k * packed(d);
        V<T, B> q[kN] = {};
#pragma GCC unroll 4
        for (int64_t j = 0; j < d; ++j) {
            const T* row = f + packed(j);
#pragma GCC unroll 2
            for (int v = 0; v < kN; ++v) {
                const V<T, B>* xv = x + v * d;
                V<T, B> acc = simd::fma(row[0], xv[0], -b[j] + V<T, B>{});
#pragma GCC unroll 4
                for (int64_t i = 1; i <= j; ++i) acc = simd::fma(row[i], xv[i], acc);
                q[v] = simd::fma(acc, acc, q[v]);  // from +0: acc^2 exactly rounded
            }
        }
#pragma GCC unroll 2
        for (int v = 0; v < kN; ++v) {
            V<T, B>& a = s.a[size_t(k * kN + v)];
            a = simd::fma(T(-0.5), q[v], td.log_coef[size_t(k)] + V<T, B>{});
            vmax[v] = simd::max<T>(vmax[v], a);
        }
    }
    // The sums over k stay in registers for a compile-time dimension (in memory each add
    // would wait on the last one's store).
    constexpr int64_t kRows = kDim > 0 ? kN * kDim : 1;
    V<T, B> u_local[kRows], g_local[kRows];
    V<T, B>* sum_u = kDim > 0 ? u_local : u;
    V<T, B>* g = kDim > 0 ? g_local : s.g.data();
    V<T, B> sum[kN] = {}, tr[kN] = {}, ug[kN] = {};
#pragma GCC unroll 8
    for (int64_t i = 0; i < kN * d; ++i) sum_u[i] = V<T, B>{}, g[i] = V<T, B>{};
    for (int64_t k = 0; k < K; ++k) {  // pass 2: the weighted sums
        V<T, B> e[kN];
#pragma GCC unroll 2
        for (int v = 0; v < kN; ++v) {
            e[v] = simd::exp_nonpositive_portable(simd::max<T>(s.a[size_t(k * kN + v)] - vmax[v], floor));
            sum[v] += e[v];
        }
        const T* base = td.base.data() + k * d;
        const T* Bk = td.bmat.data() + k * d * d;
#pragma GCC unroll 4
        for (int64_t i = 0; i < d; ++i) {  // u_k = base_k + B_k x
            const T* row = Bk + i * d;
#pragma GCC unroll 2
            for (int v = 0; v < kN; ++v) {
                const V<T, B>* xv = x + v * d;
                V<T, B> acc = simd::fma(row[0], xv[0], base[i] + V<T, B>{});
#pragma GCC unroll 4
                for (int64_t j = 1; j < d; ++j) acc = simd::fma(row[j], xv[j], acc);
                if (kDiv) s.uk[size_t(v * d + i)] = acc;
                sum_u[v * d + i] = simd::fma(e[v], acc, sum_u[v * d + i]);
            }
        }
        if (kDiv) {
            const T* f = td.factor.data() + k * packed(d);
            const T* b = td.offset.data() + k * d;
            for (int v = 0; v < kN; ++v) {
                const V<T, B>* xv = x + v * d;
                V<T, B>* y = s.y.data() + v * d;
                const V<T, B>* uk = s.uk.data() + v * d;
                for (int64_t j = 0; j < d; ++j) {  // y = A x - offset
                    const T* row = f + packed(j);
                    V<T, B> acc = simd::fma(row[0], xv[0], -b[j] + V<T, B>{});
                    for (int64_t i = 1; i <= j; ++i) acc = simd::fma(row[i], xv[i], acc);
                    y[j] = acc;
                }
                V<T, B> dot{};
                for (int64_t i = 0; i < d; ++i) {  // g_k = -A^T y, and u_k . g_k
                    V<T, B> gi{};
                    for (int64_t j = i; j < d; ++j) gi = simd::fma(-f[packed(j) + i], y[j], gi);
                    g[v * d + i] = simd::fma(e[v], gi, g[v * d + i]);
                    dot = simd::fma(uk[i], gi, dot);
                }
                tr[v] = simd::fma(td.trace[size_t(k)], e[v], tr[v]);
                ug[v] = simd::fma(e[v], dot, ug[v]);
            }
        }
    }
    for (int v = 0; v < kN; ++v) {
        const V<T, B> inv = T(1) / sum[v];
        V<T, B>* uv = u + v * d;
#pragma GCC unroll 4
        for (int64_t i = 0; i < d; ++i) uv[i] = sum_u[v * d + i] * inv;
        if (kDiv) {  // sum_k w_k [tr B_k + (u_k - u) . (g_k - g)] = sum w tr + sum w u_k . g_k - u . g
            V<T, B> cross{};
            for (int64_t i = 0; i < d; ++i) cross = simd::fma(uv[i], g[v * d + i] * inv, cross);
            div[v] = simd::fma(tr[v], inv, ug[v] * inv) - cross;
        }
    }
}

// The mixture field with a time per lane, in each component's eigenbasis: y = Q^T (x - alpha mu),
// S^-1 = Q diag(c) Q^T with c = 1 / (alpha^2 lambda + sigma^2), B = Q diag(b c) Q^T with
// b = alpha alpha' lambda + sigma sigma', u_k = alpha' mu + Q (b c y), g_k = -Q (c y).
template <class T, int B, bool kDiv, int kDim>
GENSAMPLE_INLINE void mixture_lanes(const EigenData<T>& E, const Lanes<T, B>& c, int64_t K, int64_t dim,
                                    const V<T, B>* x, Scratch<T, B>& s, V<T, B>* u, V<T, B>& div) {
    const int64_t d = kDim > 0 ? kDim : dim;
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    const V<T, B> a2 = c.alpha * c.alpha, ada = c.alpha * c.dalpha;
    V<T, B> vmax = simd::broadcast<B>(-std::numeric_limits<T>::infinity());
    for (int64_t k = 0; k < K; ++k) {  // pass 1: y, c and log w_k up to a constant
        const T* mu = E.mu.data() + k * d;
        const T* Q = E.q.data() + k * d * d;
        const T* lambda = E.lambda.data() + k * d;
        V<T, B>* y = s.ys.data() + k * d;
        V<T, B>* cc = s.cs.data() + k * d;
#pragma GCC unroll 4
        for (int64_t i = 0; i < d; ++i) s.r[size_t(i)] = x[i] - c.alpha * mu[i];
        V<T, B> q{}, log_det{};
        for (int64_t j = 0; j < d; ++j) {
            V<T, B> acc = Q[j] * s.r[0];
#pragma GCC unroll 4
            for (int64_t i = 1; i < d; ++i) acc += Q[i * d + j] * s.r[size_t(i)];
            const V<T, B> den = a2 * lambda[j] + c.sigma2;
            y[j] = acc;
            cc[j] = T(1) / den;
            q += acc * acc * cc[j];
            log_det += simd::log_positive(den);
        }
        s.a[size_t(k)] = E.log_coef[size_t(k)] - T(0.5) * (q + log_det);
        vmax = simd::max<T>(vmax, s.a[size_t(k)]);
    }
    V<T, B> sum{}, tr{}, ug{};
    for (int64_t i = 0; i < d; ++i) u[i] = V<T, B>{}, s.g[size_t(i)] = V<T, B>{};
    for (int64_t k = 0; k < K; ++k) {  // pass 2: the weighted sums
        const V<T, B> e = simd::exp_nonpositive_portable(simd::max<T>(s.a[size_t(k)] - vmax, floor));
        sum += e;
        const T* mu = E.mu.data() + k * d;
        const T* Q = E.q.data() + k * d * d;
        const T* lambda = E.lambda.data() + k * d;
        const V<T, B>* y = s.ys.data() + k * d;
        const V<T, B>* cc = s.cs.data() + k * d;
        V<T, B> trk{}, dot_mu{}, dot_y{};
        for (int64_t j = 0; j < d; ++j) {
            const V<T, B> bc = (ada * lambda[j] + c.sds) * cc[j];
            s.y[size_t(j)] = bc * y[j];       // b c y
            s.uk[size_t(j)] = cc[j] * y[j];   // c y
            if (kDiv) {
                trk += bc;
                dot_mu += E.qmu[size_t(k * d + j)] * s.uk[size_t(j)];
                dot_y += s.y[size_t(j)] * s.uk[size_t(j)];
            }
        }
        for (int64_t i = 0; i < d; ++i) {
            const T* row = Q + i * d;
            V<T, B> acc = row[0] * s.y[0], gi = row[0] * s.uk[0];
#pragma GCC unroll 4
            for (int64_t j = 1; j < d; ++j) acc += row[j] * s.y[size_t(j)], gi += row[j] * s.uk[size_t(j)];
            u[i] += e * (c.dalpha * mu[i] + acc);
            if (kDiv) s.g[size_t(i)] -= e * gi;
        }
        if (kDiv) {  // u_k . g_k = -(alpha' (Q^T mu) . (c y) + (b c y) . (c y))
            tr += e * trk;
            ug -= e * (c.dalpha * dot_mu + dot_y);
        }
    }
    const V<T, B> inv = T(1) / sum;
    for (int64_t i = 0; i < d; ++i) u[i] *= inv;
    if (kDiv) {
        V<T, B> cross{};
        for (int64_t i = 0; i < d; ++i) cross += u[i] * (s.g[size_t(i)] * inv);
        div = tr * inv + ug * inv - cross;
    }
}

// The field at one stage time (fixed steps) for kN vectors of lanes: x and u kN rows of d,
// div kN. The mixture and the network take them together; the data's field one at a time.
template <class T, int B, FieldKind kKind, bool kDiv, int kDim, int kN>
GENSAMPLE_INLINE void field_at(const FieldData<T>& F, const Stage<T>& st, const V<T, B>* x, Scratch<T, B>& s,
                               V<T, B>* u, V<T, B>* div) {
    const int64_t d = kDim > 0 ? kDim : F.dim;
    if constexpr (kKind == FieldKind::mixture) {
        mixture_field<T, B, kDiv, kDim, kN>(st.mix, F.K, F.dim, x, s, u, div);
    } else if constexpr (kKind == FieldKind::empirical) {
        for (int v = 0; v < kN; ++v) {
            empirical_field<T, B, kDiv, kDim>(F.emp, lanes_at<T, B>(st), F.K, F.dim, x + v * d, s, u + v * d, div[v]);
        }
    } else {
        network_field<T, B, kDiv, kDim, kN>(*F.net, simd::broadcast<B>(T(st.t)), x, s, u, div);
    }
}

// The field with a time per lane (dopri5).
template <class T, int B, FieldKind kKind, bool kDiv, int kDim>
GENSAMPLE_INLINE void field_lanes(const FieldData<T>& F, const double* t, const V<T, B>* x, Scratch<T, B>& s,
                                  V<T, B>* u, V<T, B>& div) {
    const Lanes<T, B> c = lanes_at<T, B>(F.path, t);
    if constexpr (kKind == FieldKind::mixture) {
        mixture_lanes<T, B, kDiv, kDim>(F.eig, c, F.K, F.dim, x, s, u, div);
    } else if constexpr (kKind == FieldKind::empirical) {
        empirical_field<T, B, kDiv, kDim>(F.emp, c, F.K, F.dim, x, s, u, div);
    } else {
        network_field<T, B, kDiv, kDim, 1>(*F.net, c.t, x, s, u, &div);
    }
}

// Particles [p, p + count) of x into `vectors` rows of d vectors of lanes (padding repeats
// the last particle).
template <class T, int B>
GENSAMPLE_INLINE void load(const T* x, int64_t p, int64_t count, int64_t d, V<T, B>* out, int vectors = 1) {
    constexpr int W = kWidth<T, B>;
    alignas(64) T lane[W];
    for (int v = 0; v < vectors; ++v) {
        for (int64_t i = 0; i < d; ++i) {
            for (int l = 0; l < W; ++l) lane[l] = x[(p + std::min<int64_t>(v * W + l, count - 1)) * d + i];
            out[v * d + i] = simd::load<T, B>(lane);
        }
    }
}

template <class T, int B>
GENSAMPLE_INLINE void store(const V<T, B>* in, int64_t p, int64_t count, int64_t d, T* x, int vectors = 1) {
    alignas(64) T lane[kWidth<T, B>];
    for (int v = 0; v < vectors; ++v) {
        const int64_t lanes = std::min<int64_t>(kWidth<T, B>, count - v * kWidth<T, B>);
        for (int64_t i = 0; i < d; ++i) {
            simd::store(lane, in[v * d + i]);
            for (int64_t l = 0; l < lanes; ++l) x[(p + v * kWidth<T, B> + l) * d + i] = lane[l];
        }
    }
}

// The data of one step: its stage times' data, h, and the solver.
template <class T>
struct Step {
    Solver solver;
    T h;
    const Stage<T>* at[4];  // per stage
    // Euler-Maruyama (flow.hpp): x += h (u + score_u u - score_x x) + kick z, noise stream
    bool sde = false;
    T score_u = 0, score_x = 0, kick = 0;
    uint64_t key = 0;
    int64_t row0 = 0;
};

// One step for particles [p0, p1) of x, in place; ld (when kDiv) += the step's div integral.
// Blocks of kN vectors of lanes: the stages of one block are a chain, so kN > 1 gives the
// core independent work to overlap (each lane's operations, hence its bits, are unchanged).
// Every solver's stages go through one call of the field: each call site is a full inlined
// copy of the field, and the copies were most of the build's time.
template <class T, int B, FieldKind kKind, bool kDiv, int kDim, int kN>
GENSAMPLE_INLINE void step_range(const FieldData<T>& F, const Step<T>& st, T* x, double* ld, int64_t p0, int64_t p1) {
    constexpr int64_t W = kWidth<T, B>;
    const int64_t d = kDim > 0 ? kDim : F.dim, rows = kN * d;
    Scratch<T, B> s(F, kDiv, false, kN);
    const T h = st.h;
    const int n_stages = stages(st.solver);
    alignas(64) T lanes[kWidth<T, B>];
    V<T, B>* X = s.x.data();
    V<T, B>* k = s.stage.data();
    V<T, B>* acc = s.acc.data();    // the next stage's point
    V<T, B>* first = s.k1.data();   // heun: k1; rk4: k1 + 2 k2 + 2 k3 + k4 so far
    for (int64_t p = p0; p < p1; p += kN * W) {
        const int64_t count = std::min<int64_t>(kN * W, p1 - p);
        load<T, B>(x, p, count, d, X, kN);
        V<T, B> div[kN] = {}, div_sum[kN] = {}, div1[kN] = {};
        for (int stage = 0; stage < n_stages; ++stage) {
            field_at<T, B, kKind, kDiv, kDim, kN>(F, *st.at[stage], stage == 0 ? X : acc, s, k, div);
            switch (st.solver) {
                case Solver::euler:
                    if (st.sde) {
                        alignas(64) double z[kWidth<T, B> * 64];  // count <= width rows of d <= 64 (integrate checks)
                        for (int v = 0; v < kN && v * W < count; ++v) {
                            const int64_t begin = p + v * W, lanes_v = std::min<int64_t>(W, count - v * W);
                            normal_rows(st.key, st.row0 + begin, st.row0 + begin + lanes_v, d, z);
                            for (int64_t i = 0; i < d; ++i) {
                                for (int l = 0; l < kWidth<T, B>; ++l) lanes[l] = l < lanes_v ? T(z[l * d + i]) : T(0);
                                const V<T, B> zi = simd::load<T, B>(lanes);
                                const int64_t r = v * d + i;
                                const V<T, B> drift = k[r] + (st.score_u * k[r] - st.score_x * X[r]);
                                X[r] = simd::fma(st.kick, zi, simd::fma(h, drift, X[r]));  // Euler's bits at kick 0
                            }
                        }
                    } else {
                        for (int64_t i = 0; i < rows; ++i) X[i] = simd::fma(h, k[i], X[i]);
                        for (int v = 0; v < kN; ++v) div_sum[v] = div[v];
                    }
                    break;
                case Solver::midpoint:  // x += h k(t + h/2, x + h/2 k1)
                    if (stage == 0) {
                        for (int64_t i = 0; i < rows; ++i) acc[i] = simd::fma(T(0.5) * h, k[i], X[i]);
                    } else {
                        for (int64_t i = 0; i < rows; ++i) X[i] = simd::fma(h, k[i], X[i]);
                        for (int v = 0; v < kN; ++v) div_sum[v] = div[v];
                    }
                    break;
                case Solver::heun:  // x += h/2 (k1 + k(t + h, x + h k1))
                    if (stage == 0) {
                        for (int64_t i = 0; i < rows; ++i) first[i] = k[i], acc[i] = simd::fma(h, k[i], X[i]);
                        for (int v = 0; v < kN; ++v) div1[v] = div[v];
                    } else {
                        for (int64_t i = 0; i < rows; ++i) X[i] = simd::fma(T(0.5) * h, first[i] + k[i], X[i]);
                        for (int v = 0; v < kN; ++v) div_sum[v] = T(0.5) * (div1[v] + div[v]);
                    }
                    break;
                case Solver::rk4:  // x += h/6 (k1 + 2 k2 + 2 k3 + k4)
                    if (stage == 0) {
                        for (int64_t i = 0; i < rows; ++i) first[i] = k[i], acc[i] = simd::fma(T(0.5) * h, k[i], X[i]);
                        for (int v = 0; v < kN; ++v) div_sum[v] = div[v];
                    } else {
                        const T weight = stage == 3 ? T(1) : T(2);
                        const T next = stage == 2 ? h : T(0.5) * h;
                        for (int64_t i = 0; i < rows; ++i) {
                            first[i] = simd::fma(weight, k[i], first[i]);
                            acc[i] = simd::fma(next, k[i], X[i]);
                        }
                        for (int v = 0; v < kN; ++v) div_sum[v] = simd::fma(weight, div[v], div_sum[v]);
                    }
                    if (stage == 3) {
                        for (int64_t i = 0; i < rows; ++i) X[i] = simd::fma(h / T(6), first[i], X[i]);
                        for (int v = 0; v < kN; ++v) div_sum[v] = div_sum[v] / T(6);
                    }
                    break;
            }
        }
        store<T, B>(X, p, count, d, x, kN);
        if (kDiv) {
            for (int v = 0; v < kN && v * W < count; ++v) {
                simd::store(lanes, div_sum[v]);
                const int64_t lanes_v = std::min<int64_t>(W, count - v * W);
                for (int64_t l = 0; l < lanes_v; ++l) ld[p + v * W + l] += double(h) * double(lanes[l]);
            }
        }
    }
}

// dopri5 (flow.hpp): the Dormand-Prince tableau, as scipy's RK45 has it.
constexpr double kC[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
constexpr double kA[6][5] = {{1.0 / 5},
                             {3.0 / 40, 9.0 / 40},
                             {44.0 / 45, -56.0 / 15, 32.0 / 9},
                             {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                             {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                             {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784}};
constexpr double kB[6] = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84};
constexpr double kE[7] = {-71.0 / 57600, 0, 71.0 / 16695, -71.0 / 1920, 17253.0 / 339200, -22.0 / 525, 1.0 / 40};

struct Adaptive {
    Tolerances tol;
    const double* stops;  // t0, then n_stops stops
    int64_t n_stops, n;   // n: all particles (the snapshots' stride)
};

// RMS over d coordinates of v / scale, per lane, in double; with `extra`, the larger of that
// and the squared ratio extra[lane] of one more quantity (the log-density, when it is
// integrated), which the mean over d coordinates would otherwise dilute d-fold.
template <class T, int B>
GENSAMPLE_INLINE void rms_lanes(const V<T, B>* v, const V<T, B>* scale, int64_t d, double* out,
                                const double* extra = nullptr) {
    V<T, B> sum{};
    for (int64_t i = 0; i < d; ++i) {
        const V<T, B> r = v[i] / scale[i];
        sum += r * r;
    }
    alignas(64) T lanes[kWidth<T, B>];
    simd::store(lanes, sum);
    for (int l = 0; l < kWidth<T, B>; ++l) {
        const double mean = double(lanes[l]) / double(d);
        out[l] = std::sqrt(extra ? std::max(mean, extra[l]) : mean);
    }
}

template <class T, int B>
GENSAMPLE_INLINE V<T, B> lanes_of(const double* v) {
    alignas(64) T lanes[kWidth<T, B>];
    for (int l = 0; l < kWidth<T, B>; ++l) lanes[l] = T(v[l]);
    return simd::load<T, B>(lanes);
}

// dopri5 for particles [p0, p1): blocks of kWidth particles step together, each lane with its
// own time and step size, until every lane has finished or failed.
template <class T, int B, FieldKind kKind, bool kDiv, int kDim>
GENSAMPLE_INLINE void adaptive_range(const FieldData<T>& F, const Adaptive& A, T* x, double* ld, T* snaps,
                                     uint8_t* status, Stats& stats, int64_t p0, int64_t p1) {
    constexpr int W = kWidth<T, B>;
    const int64_t d = kDim > 0 ? kDim : F.dim;
    Scratch<T, B> s(F, kDiv, true);
    V<T, B>* X = s.x.data();
    V<T, B>* K[7];
    for (int i = 0; i < 7; ++i) K[i] = s.rk.data() + i * d;
    V<T, B>* Xn = s.rk.data() + 7 * d;
    V<T, B>* err = s.rk.data() + 8 * d;
    V<T, B>* probe = s.probe.data();
    V<T, B>* scale = s.acc.data();
    const double t0 = A.stops[0], t_end = A.stops[A.n_stops];
    const double direction = t_end >= t0 ? 1.0 : -1.0, interval = std::fabs(t_end - t0);
    const T rtol = T(A.tol.rtol), atol = T(A.tol.atol);
    for (int64_t p = p0; p < p1; p += W) {
        const int64_t count = std::min<int64_t>(W, p1 - p);
        load<T, B>(x, p, count, d, X);
        double t[W], h_abs[W], h[W], t_new[W], ts[W], norm[W], d0[W], d1[W], d2[W], ldl[W] = {};
        int64_t stop[W], attempts[W];
        bool running[W], rejected[W];
        V<T, B> dv[7] = {};  // divergences: only written when kDiv
        for (int l = 0; l < W; ++l) t[l] = t0, stop[l] = 1, attempts[l] = 0, running[l] = interval > 0, rejected[l] = false;
        if (interval == 0) {
            for (int64_t l = 0; l < count; ++l) status[p + l] = uint8_t(Status::finished);
            continue;
        }
        // Hairer's initial step (scipy's select_initial_step), one extra evaluation: K[0] at
        // (t0, x), then K[1] at a probe (one call site for both; its divergence is not used).
        double h0[W];
        for (int e = 0; e < 2; ++e) {
            if (e == 1) {
                for (int64_t i = 0; i < d; ++i) scale[i] = atol + rtol * (X[i] < T(0) ? -X[i] : X[i]);
                rms_lanes<T, B>(X, scale, d, d0);
                rms_lanes<T, B>(K[0], scale, d, d1);
                for (int l = 0; l < W; ++l) {
                    h0[l] = d0[l] < 1e-5 || d1[l] < 1e-5 ? 1e-6 : 0.01 * d0[l] / d1[l];
                    h0[l] = std::min(h0[l], interval);
                    h[l] = h0[l] * direction;
                    ts[l] = t0 + h[l];
                }
                const V<T, B> hv = lanes_of<T, B>(h);
                for (int64_t i = 0; i < d; ++i) probe[i] = X[i] + hv * K[0][i];
            }
            field_lanes<T, B, kKind, kDiv, kDim>(F, e == 0 ? t : ts, e == 0 ? X : probe, s, K[e], dv[e]);
        }
        for (int64_t i = 0; i < d; ++i) err[i] = K[1][i] - K[0][i];
        rms_lanes<T, B>(err, scale, d, d2);
        for (int l = 0; l < W; ++l) {
            d2[l] /= h0[l];
            const double h1 = d1[l] <= 1e-15 && d2[l] <= 1e-15 ? std::max(1e-6, h0[l] * 1e-3)
                                                             : std::pow(0.01 / std::max(d1[l], d2[l]), 0.2);
            h_abs[l] = std::min(std::min(100 * h0[l], h1), interval);
        }
        int64_t evaluations = 2 * count, accepted = 0, rejected_total = 0, loops = 0;
        while (true) {
            bool any = false;
            for (int l = 0; l < W; ++l) {  // this attempt's step per lane (0 for stopped lanes)
                h[l] = 0, t_new[l] = t[l];
                if (!running[l]) continue;
                const double min_step = 10 * std::fabs(std::nextafter(t[l], direction * INFINITY) - t[l]);
                if (rejected[l] && h_abs[l] < min_step) {
                    running[l] = false;
                    if (l < count) status[p + l] = uint8_t(Status::step_underflow);
                    continue;
                }
                if (attempts[l] >= A.tol.max_steps) {
                    running[l] = false;
                    if (l < count) status[p + l] = uint8_t(Status::max_steps);
                    continue;
                }
                if (!rejected[l]) h_abs[l] = std::max(h_abs[l], min_step);
                const double bound = A.stops[stop[l]];
                t_new[l] = t[l] + h_abs[l] * direction;
                if (direction * (t_new[l] - bound) > 0) t_new[l] = bound;
                h[l] = t_new[l] - t[l];
                h_abs[l] = std::fabs(h[l]);
                ++attempts[l];
                any = true;
            }
            if (!any) break;
            if ((++loops & 63) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
            const V<T, B> hl = lanes_of<T, B>(h);
            // K[stage] at t + c h, x + h sum_j a_j K[j]; the last at (t_new, x_new), for the
            // error estimate and as the next step's K[0].
            for (int stage = 1; stage < 7; ++stage) {
                if (stage < 6) {
                    for (int64_t i = 0; i < d; ++i) {
                        V<T, B> sum = T(kA[stage - 1][0]) * K[0][i];
                        for (int j = 1; j < stage; ++j) sum += T(kA[stage - 1][j]) * K[j][i];
                        probe[i] = X[i] + sum * hl;
                    }
                    for (int l = 0; l < W; ++l) ts[l] = stage == 5 ? t_new[l] : t[l] + kC[stage] * h[l];
                } else {
                    for (int64_t i = 0; i < d; ++i) {
                        V<T, B> sum = T(kB[0]) * K[0][i];
                        for (int j = 1; j < 6; ++j) sum += T(kB[j]) * K[j][i];
                        Xn[i] = X[i] + hl * sum;
                    }
                }
                field_lanes<T, B, kKind, kDiv, kDim>(F, stage < 6 ? ts : t_new, stage < 6 ? probe : Xn, s, K[stage],
                                                  dv[stage]);
            }
            for (int64_t i = 0; i < d; ++i) {
                V<T, B> sum = T(kE[0]) * K[0][i];
                for (int j = 1; j < 7; ++j) sum += T(kE[j]) * K[j][i];
                err[i] = sum * hl;
                const V<T, B> ax = X[i] < T(0) ? -X[i] : X[i], an = Xn[i] < T(0) ? -Xn[i] : Xn[i];
                scale[i] = atol + simd::max<T>(ax, an) * rtol;
            }
            alignas(64) T take[W], xs[W], divs[W], div_errs[W];
            double div_norm[W];
            if (kDiv) {
                // The log-density is integrated as one more quantity whose error the step
                // must keep within tolerance on its own: a step that gets x right but the
                // divergence integral wrong is rejected. Without it, stiff fields (variances of
                // 1e-6) gave log-densities 20 nats off with every status 0.
                V<T, B> ddiv = T(kB[0]) * dv[0], ediv = T(kE[0]) * dv[0];
                for (int j = 1; j < 6; ++j) ddiv += T(kB[j]) * dv[j];
                for (int j = 1; j < 7; ++j) ediv += T(kE[j]) * dv[j];
                simd::store(divs, ddiv);
                simd::store(div_errs, ediv);
                for (int l = 0; l < W; ++l) {
                    const double l_new = ldl[l] + h[l] * double(divs[l]);
                    const double r = h[l] * double(div_errs[l]) /
                                     (double(atol) + std::max(std::fabs(ldl[l]), std::fabs(l_new)) * double(rtol));
                    div_norm[l] = r * r;
                }
            }
            rms_lanes<T, B>(err, scale, d, norm, kDiv ? div_norm : nullptr);
            for (int l = 0; l < W; ++l) {
                take[l] = T(0);
                if (h[l] == 0 && !running[l]) continue;
                if (l < count) evaluations += 6;
                bool finite = std::isfinite(norm[l]);
                for (int64_t i = 0; i < d && finite; ++i) {
                    simd::store(xs, Xn[i]);
                    finite = std::isfinite(double(xs[l]));
                }
                if (!finite) {
                    running[l] = false;
                    if (l < count) status[p + l] = uint8_t(Status::not_finite);
                    continue;
                }
                if (norm[l] < 1) {  // accept
                    double factor = norm[l] == 0 ? 10.0 : std::min(10.0, 0.9 * std::pow(norm[l], -0.2));
                    if (rejected[l]) factor = std::min(1.0, factor);
                    h_abs[l] *= factor;
                    rejected[l] = false;
                    t[l] = t_new[l];
                    take[l] = T(1);
                    if (kDiv) ldl[l] += h[l] * double(divs[l]);
                    if (l < count) ++accepted;
                } else {
                    h_abs[l] *= std::max(0.2, 0.9 * std::pow(norm[l], -0.2));
                    rejected[l] = true;
                    if (l < count) ++rejected_total;
                }
            }
            const V<T, B> sel = simd::load<T, B>(take);
            for (int64_t i = 0; i < d; ++i) {
                X[i] = sel > T(0) ? Xn[i] : X[i];
                K[0][i] = sel > T(0) ? K[6][i] : K[0][i];
            }
            dv[0] = sel > T(0) ? dv[6] : dv[0];
            for (int l = 0; l < W; ++l) {  // the lanes that reached their stop
                if (!(take[l] > T(0)) || t[l] != A.stops[stop[l]]) continue;
                if (snaps && l < count) {
                    alignas(64) T v[W];
                    for (int64_t i = 0; i < d; ++i) {
                        simd::store(v, X[i]);
                        snaps[((stop[l] - 1) * A.n + p + l) * d + i] = v[l];
                    }
                }
                if (++stop[l] > A.n_stops) {
                    running[l] = false;
                    if (l < count) status[p + l] = uint8_t(Status::finished);
                }
            }
        }
        store<T, B>(X, p, count, d, x);
        if (kDiv) {
            for (int64_t l = 0; l < count; ++l) ld[p + l] += ldl[l];
        }
        stats.evaluations += evaluations, stats.accepted += accepted, stats.rejected += rejected_total;
    }
}

// Vectors per block of fixed steps, so that the core overlaps their chains (the bits are the
// same either way): two at the widths of AVX2 and AVX-512 (the mixture 10-20% faster than
// one on a Zen 3 at AVX2's, 10-15% on AVX-512); one on SSE2.
constexpr int vectors_per_block(int bytes) { return bytes >= 32 ? 2 : 1; }

// Particles in the widest version's block (AVX-512: two 64-byte vectors), which task sizes
// are whole multiples of, so that they suit every version.
template <class T>
constexpr int64_t kWidestBlock = vectors_per_block(64) * (64 / int64_t(sizeof(T)));

// One kernel per field kind; small dimensions of the mixture and the data's fields get their
// loops unrolled at compile time (a network's time is in its hidden layers: one kernel for
// every d).
template <class T, int B, FieldKind kKind, bool kDiv, int kN>
GENSAMPLE_INLINE void step_dim(const FieldData<T>& F, const Step<T>& st, T* x, double* ld, int64_t p0, int64_t p1) {
    switch (F.dim) {
        case 1: return step_range<T, B, kKind, kDiv, 1, kN>(F, st, x, ld, p0, p1);
        case 2: return step_range<T, B, kKind, kDiv, 2, kN>(F, st, x, ld, p0, p1);
        case 3: return step_range<T, B, kKind, kDiv, 3, kN>(F, st, x, ld, p0, p1);
        default: return step_range<T, B, kKind, kDiv, 0, kN>(F, st, x, ld, p0, p1);
    }
}

template <class T, int B, bool kDiv>
GENSAMPLE_INLINE void step_any(const FieldData<T>& F, const Step<T>& st, T* x, double* ld, int64_t p0, int64_t p1) {
    constexpr int kN = vectors_per_block(B);
    switch (F.kind) {
        case FieldKind::mixture: return step_dim<T, B, FieldKind::mixture, kDiv, kN>(F, st, x, ld, p0, p1);
        case FieldKind::empirical: return step_dim<T, B, FieldKind::empirical, kDiv, kN>(F, st, x, ld, p0, p1);
        case FieldKind::network: return step_range<T, B, FieldKind::network, kDiv, 0, kN>(F, st, x, ld, p0, p1);
    }
}

template <class T, int B, FieldKind kKind, bool kDiv>
GENSAMPLE_INLINE void adaptive_dim(const FieldData<T>& F, const Adaptive& A, T* x, double* ld, T* snaps,
                                   uint8_t* status, Stats& stats, int64_t p0, int64_t p1) {
    switch (F.dim) {
        case 1: return adaptive_range<T, B, kKind, kDiv, 1>(F, A, x, ld, snaps, status, stats, p0, p1);
        case 2: return adaptive_range<T, B, kKind, kDiv, 2>(F, A, x, ld, snaps, status, stats, p0, p1);
        case 3: return adaptive_range<T, B, kKind, kDiv, 3>(F, A, x, ld, snaps, status, stats, p0, p1);
        default: return adaptive_range<T, B, kKind, kDiv, 0>(F, A, x, ld, snaps, status, stats, p0, p1);
    }
}

template <class T, int B, bool kDiv>
GENSAMPLE_INLINE void adaptive_any(const FieldData<T>& F, const Adaptive& A, T* x, double* ld, T* snaps,
                                   uint8_t* status, Stats& stats, int64_t p0, int64_t p1) {
    switch (F.kind) {
        case FieldKind::mixture:
            return adaptive_dim<T, B, FieldKind::mixture, kDiv>(F, A, x, ld, snaps, status, stats, p0, p1);
        case FieldKind::empirical:
            return adaptive_dim<T, B, FieldKind::empirical, kDiv>(F, A, x, ld, snaps, status, stats, p0, p1);
        case FieldKind::network:
            return adaptive_range<T, B, FieldKind::network, kDiv, 0>(F, A, x, ld, snaps, status, stats, p0, p1);
    }
}

template <class T, int B, FieldKind kKind>
GENSAMPLE_INLINE void velocity_range(const FieldData<T>& F, const Stage<T>& st, const T* x, T* u, double* div,
                                     int64_t p0, int64_t p1) {
    const int64_t d = F.dim;
    Scratch<T, B> s(F, div != nullptr, false);
    simd::Buffer<T, B> out(static_cast<size_t>(d));
    alignas(64) T lanes[kWidth<T, B>];
    for (int64_t p = p0; p < p1; p += kWidth<T, B>) {
        const int64_t count = std::min<int64_t>(kWidth<T, B>, p1 - p);
        load<T, B>(x, p, count, d, s.x.data());
        V<T, B> dv{};
        if (div) {
            field_at<T, B, kKind, true, 0, 1>(F, st, s.x.data(), s, out.data(), &dv);
            simd::store(lanes, dv);
            for (int64_t l = 0; l < count; ++l) div[p + l] = double(lanes[l]);
        } else {
            field_at<T, B, kKind, false, 0, 1>(F, st, s.x.data(), s, out.data(), &dv);
        }
        store<T, B>(out.data(), p, count, d, u);
    }
}

template <class T, int B>
GENSAMPLE_INLINE void velocity_any(const FieldData<T>& F, const Stage<T>& st, const T* x, T* u, double* div,
                                   int64_t p0, int64_t p1) {
    switch (F.kind) {
        case FieldKind::mixture: return velocity_range<T, B, FieldKind::mixture>(F, st, x, u, div, p0, p1);
        case FieldKind::empirical: return velocity_range<T, B, FieldKind::empirical>(F, st, x, u, div, p0, p1);
        case FieldKind::network: return velocity_range<T, B, FieldKind::network>(F, st, x, u, div, p0, p1);
    }
}

// The entry points: one version per instruction set at its register width (dispatch.hpp).
#define GENSAMPLE_FLOW_STEP(T, NAME, BYTES)                                                                       \
    void NAME(bool div, const FieldData<T>& F, const Step<T>& st, T* x, double* ld, int64_t p0, int64_t p1) {     \
        if (div) {                                                                                                \
            step_any<T, BYTES, true>(F, st, x, ld, p0, p1);                                                       \
        } else {                                                                                                  \
            step_any<T, BYTES, false>(F, st, x, ld, p0, p1);                                                      \
        }                                                                                                         \
    }
#define GENSAMPLE_FLOW_ADAPTIVE(T, NAME, BYTES)                                                                   \
    void NAME(bool div, const FieldData<T>& F, const Adaptive& A, T* x, double* ld, T* snaps, uint8_t* status,    \
              Stats& stats, int64_t p0, int64_t p1) {                                                             \
        if (div) {                                                                                                \
            adaptive_any<T, BYTES, true>(F, A, x, ld, snaps, status, stats, p0, p1);                              \
        } else {                                                                                                  \
            adaptive_any<T, BYTES, false>(F, A, x, ld, snaps, status, stats, p0, p1);                             \
        }                                                                                                         \
    }
#define GENSAMPLE_FLOW_VELOCITY(T, NAME, BYTES)                                                                   \
    void NAME(const FieldData<T>& F, const Stage<T>& st, const T* x, T* u, double* div, int64_t p0, int64_t p1) { \
        velocity_any<T, BYTES>(F, st, x, u, div, p0, p1);                                                         \
    }
#define GENSAMPLE_STEP_F64(BYTES) GENSAMPLE_FLOW_STEP(double, step_f64, BYTES)
#define GENSAMPLE_STEP_F32(BYTES) GENSAMPLE_FLOW_STEP(float, step_f32, BYTES)
#define GENSAMPLE_ADAPTIVE_F64(BYTES) GENSAMPLE_FLOW_ADAPTIVE(double, adaptive_f64, BYTES)
#define GENSAMPLE_ADAPTIVE_F32(BYTES) GENSAMPLE_FLOW_ADAPTIVE(float, adaptive_f32, BYTES)
#define GENSAMPLE_VELOCITY_F64(BYTES) GENSAMPLE_FLOW_VELOCITY(double, velocity_f64, BYTES)
#define GENSAMPLE_VELOCITY_F32(BYTES) GENSAMPLE_FLOW_VELOCITY(float, velocity_f32, BYTES)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_STEP_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_STEP_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_ADAPTIVE_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_ADAPTIVE_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_VELOCITY_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_VELOCITY_F32)
#undef GENSAMPLE_STEP_F64
#undef GENSAMPLE_STEP_F32
#undef GENSAMPLE_ADAPTIVE_F64
#undef GENSAMPLE_ADAPTIVE_F32
#undef GENSAMPLE_VELOCITY_F64
#undef GENSAMPLE_VELOCITY_F32
#undef GENSAMPLE_FLOW_STEP
#undef GENSAMPLE_FLOW_ADAPTIVE
#undef GENSAMPLE_FLOW_VELOCITY

void run_step(bool div, const FieldData<double>& F, const Step<double>& st, double* x, double* ld, int64_t p0,
              int64_t p1) {
    step_f64(div, F, st, x, ld, p0, p1);
}
void run_step(bool div, const FieldData<float>& F, const Step<float>& st, float* x, double* ld, int64_t p0,
              int64_t p1) {
    step_f32(div, F, st, x, ld, p0, p1);
}
void run_adaptive(bool div, const FieldData<double>& F, const Adaptive& A, double* x, double* ld, double* snaps,
                  uint8_t* status, Stats& stats, int64_t p0, int64_t p1) {
    adaptive_f64(div, F, A, x, ld, snaps, status, stats, p0, p1);
}
void run_adaptive(bool div, const FieldData<float>& F, const Adaptive& A, float* x, double* ld, float* snaps,
                  uint8_t* status, Stats& stats, int64_t p0, int64_t p1) {
    adaptive_f32(div, F, A, x, ld, snaps, status, stats, p0, p1);
}
void run_velocity(const FieldData<double>& F, const Stage<double>& st, const double* x, double* u, double* div,
                  int64_t p0, int64_t p1) {
    velocity_f64(F, st, x, u, div, p0, p1);
}
void run_velocity(const FieldData<float>& F, const Stage<float>& st, const float* x, float* u, double* div,
                  int64_t p0, int64_t p1) {
    velocity_f32(F, st, x, u, div, p0, p1);
}

// The field's time-independent data, checked; eigen data only for dopri5.
template <class T>
FieldData<T> field_data(const Field<T>& field, bool adaptive) {
    FieldData<T> F;
    F.path = field.path;
    if (field.net) {
        const Network<T>& net = *field.net;
        if (net.layers.empty() || net.dim < 1) throw std::invalid_argument("flow: empty network");
        if (net.layers.front().in != net.dim + 1 || net.layers.back().out != net.dim) {
            throw std::invalid_argument("flow: the network must map d + 1 inputs (x, t) to d outputs");
        }
        F.width = net.dim + 1;
        for (size_t i = 0; i < net.layers.size(); ++i) {
            if (i > 0 && net.layers[i].in != net.layers[i - 1].out) {
                throw std::invalid_argument("flow: the network's layer widths do not chain");
            }
            F.width = std::max(F.width, net.layers[i].out);
        }
        F.kind = FieldKind::network;
        F.net = field.net;
        F.dim = net.dim;
        return F;
    }
    const MixtureField& f = field.mixture;
    if (f.k < 1 || f.dim < 1) throw std::invalid_argument("flow: empty mixture");
    F.f = &field.mixture;
    F.K = f.k;
    F.dim = f.dim;
    if (f.empirical) {
        F.kind = FieldKind::empirical;
        F.emp = empirical_data<T>(f);
    } else {
        F.kind = FieldKind::mixture;
        if (adaptive) F.eig = eigen_data<T>(f);
    }
    return F;
}

template <class T>
Stage<T> stage_at(const FieldData<T>& F, double t) {
    Stage<T> st;
    const Coefficients c = coefficients(F.path, t);
    if (F.kind == FieldKind::mixture) st.mix = mixture_data<T>(*F.f, c, t);
    st.t = t;
    st.c = c;
    return st;
}

// Particles per task: about 2^17 multiply-adds per stage, in whole widest blocks (a task
// of one vector on AVX-512 would pay for two).
template <class T>
int64_t grain(const FieldData<T>& F) {
    int64_t work = F.K * (F.dim * F.dim + F.dim + 1);
    if (F.net) {
        work = 0;
        for (const Layer<T>& l : F.net->layers) work += l.in * l.out;
    }
    constexpr int64_t block = kWidestBlock<T>;
    const int64_t points = std::max<int64_t>(block, (int64_t(1) << 17) / std::max<int64_t>(work, 1));
    return (points + block - 1) / block * block;
}

}  // namespace

template <class T>
void integrate(const Field<T>& field, Solver solver, const double* grid, int64_t steps, T* x, int64_t n,
               double* log_det, const int64_t* snap_steps, int64_t n_snap, T* snapshots, const Noise* noise,
               int n_threads) {
    const FieldData<T> F = field_data(field, false);
    const int64_t d = F.dim;
    if (noise && (solver != Solver::euler || log_det)) throw std::invalid_argument("flow: the SDE takes Euler steps");
    if (noise && d > 64) throw std::invalid_argument("flow: the SDE sampler supports up to 64 dimensions");
    const int64_t per_task = grain(F);
    int64_t next_snap = 0;
    auto snapshot = [&](int64_t done) {
        while (next_snap < n_snap && snap_steps[next_snap] == done) {
            std::memcpy(snapshots + next_snap * n * d, x, size_t(n * d) * sizeof(T));
            ++next_snap;
        }
    };
    snapshot(0);
    for (int64_t s = 0; s < steps; ++s) {
        const double t = grid[s], h = grid[s + 1] - grid[s];
        const Stage<T> start = stage_at(F, t);
        const Stage<T> mid = solver == Solver::midpoint || solver == Solver::rk4 ? stage_at(F, t + 0.5 * h) : Stage<T>{};
        const Stage<T> end = solver == Solver::heun || solver == Solver::rk4 ? stage_at(F, grid[s + 1]) : Stage<T>{};
        Step<T> st{solver, T(h), {&start, &start, &start, &start}};
        if (solver == Solver::midpoint) st.at[1] = &mid;
        if (solver == Solver::heun) st.at[1] = &end;
        if (solver == Solver::rk4) st.at[1] = &mid, st.at[2] = &mid, st.at[3] = &end;
        if (noise) {  // the score from the velocity (flow.hpp)
            const Coefficients c = coefficients(F.path, t);
            const double D = c.dalpha * c.sigma2 - c.alpha * c.sigma_dsigma, half = 0.5 * noise->sigma[s] * noise->sigma[s];
            if (!(t < 1.0 && h > 0 && D > 0)) throw std::invalid_argument("flow: the SDE runs forward on [t0, 1)");
            st.sde = true;
            st.score_u = T(half * c.alpha / D);
            st.score_x = T(half * c.dalpha / D);
            st.kick = T(noise->sigma[s] * std::sqrt(h));
            st.key = subkey(noise->key, uint64_t(s));
            st.row0 = noise->row0;
        }
        parallel_for(n, per_task, n_threads,
                     [&](int64_t p0, int64_t p1) { run_step(log_det != nullptr, F, st, x, log_det, p0, p1); });
        snapshot(s + 1);
    }
}

template <class T>
Stats integrate_adaptive(const Field<T>& field, const Tolerances& tol, const double* stops, int64_t n_stops, T* x,
                         int64_t n, double* log_det, T* snapshots, uint8_t* status, int n_threads) {
    const FieldData<T> F = field_data(field, true);
    if (n_stops < 1) throw std::invalid_argument("flow: dopri5 needs at least one stop");
    if (!(tol.rtol > 0) || !(tol.atol > 0) || !std::isfinite(tol.rtol) || !std::isfinite(tol.atol) || tol.max_steps < 1) {
        throw std::invalid_argument("flow: rtol and atol must be finite and positive, max_steps >= 1");
    }
    const Adaptive A{tol, stops, n_stops, n};
    std::mutex lock;
    Stats total;
    // Blocks of one vector: particles in a block wait for the slowest, so keep them few.
    parallel_for(n, 2 * kWidestBlock<T>, n_threads, [&](int64_t p0, int64_t p1) {
        Stats local;
        run_adaptive(log_det != nullptr, F, A, x, log_det, snapshots, status, local, p0, p1);
        const std::lock_guard<std::mutex> guard(lock);
        total.evaluations += local.evaluations, total.accepted += local.accepted, total.rejected += local.rejected;
    });
    return total;
}

template <class T>
void velocity(const Field<T>& field, double t, const T* x, int64_t n, T* u, double* div, int n_threads) {
    const FieldData<T> F = field_data(field, false);
    const Stage<T> st = stage_at(F, t);
    parallel_for(n, grain(F), n_threads, [&](int64_t p0, int64_t p1) { run_velocity(F, st, x, u, div, p0, p1); });
}

template void integrate<double>(const Field<double>&, Solver, const double*, int64_t, double*, int64_t, double*,
                                const int64_t*, int64_t, double*, const Noise*, int);
template void integrate<float>(const Field<float>&, Solver, const double*, int64_t, float*, int64_t, double*,
                               const int64_t*, int64_t, float*, const Noise*, int);
template Stats integrate_adaptive<double>(const Field<double>&, const Tolerances&, const double*, int64_t, double*,
                                          int64_t, double*, double*, uint8_t*, int);
template Stats integrate_adaptive<float>(const Field<float>&, const Tolerances&, const double*, int64_t, float*,
                                         int64_t, double*, float*, uint8_t*, int);
template void velocity<double>(const Field<double>&, double, const double*, int64_t, double*, double*, int);
template void velocity<float>(const Field<float>&, double, const float*, int64_t, float*, double*, int);

}  // namespace gensample::flow
