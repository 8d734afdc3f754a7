// Flows, the fields' data: per-time Cholesky data of a mixture, the eigen data for lanes
// with their own times, an empirical field's points, path coefficients in lanes, and the
// per-task scratch buffers.
//
// A room of flow.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=off: every instruction set gives the same bits). Which source file
// a loop is compiled in decides its bits: move code between flow.cpp's rooms only.
#pragma once

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

// The kernels take the vector width in bytes, B, as a template argument: each instruction
// set's version runs at its register width (dispatch.hpp). Every operation is lane by lane
// and fused by simd::fma, so the width changes no bit of a particle's result.
using kernel::kExpFloor;
using kernel::kWidth;
using kernel::packed;
using kernel::V;

constexpr double kLog2Pi = 1.8378770664093454836;

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
            if (!(f.eigenvalues[k * d + j] >= 0))
                throw std::invalid_argument("flow: a covariance is not positive semi-definite");
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
        v[0][l] = T(t[l]), v[1][l] = T(c.alpha), v[2][l] = T(c.dalpha), v[3][l] = T(c.sigma2),
        v[4][l] = T(c.sigma_dsigma);
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

// The empirical field goes through its data in tiles of kTile points (the mixture field
// holds the log-weights of all its components at once).
constexpr int64_t kTile = 64;

// Per-task buffers (vectors of lanes), for blocks of `vectors` vectors (fixed steps).
template <class T, int B>
struct Scratch {
    simd::Buffer<T, B> r, y, uk, a, g;            // the fields
    simd::Buffer<T, B> ys, cs;                    // the mixture in lanes: y and 1 / diag(S) per component
    simd::Buffer<T, B> h0, h1, deriv, deriv2;     // a network's activations (and tangents), activation slopes
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
            h0.resize(copies * width), h1.resize(copies * width), deriv.resize(width), deriv2.resize(width);
        }
        if (adaptive) rk.resize(9 * d);
    }
};

}  // namespace
}  // namespace gensample::flow
