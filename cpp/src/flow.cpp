// Flows (flow.hpp): the Gaussian mixture's marginal velocity on the linear path, and the
// fixed-step solvers that carry particles along it.
//
// Time-outer: for each step the per-time data of its stage times are computed once, then
// every block of particles takes the whole step (all stages) in registers. Compiled with
// the global -ffp-contract=off, so every instruction set gives the same bits.
#include "gensample/flow.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/random.hpp"
#include "gensample/simd.hpp"

namespace gensample::flow {
namespace {

using simd::V;

template <class T>
constexpr int kWidth = simd::Vec<T>::kWidth;

constexpr double kLog2Pi = 1.8378770664093454836;

inline int64_t packed(int64_t d) { return d * (d + 1) / 2; }

// What the velocity needs at one time t, per component k (all in T for the lanes).
template <class T>
struct TimeData {
    std::vector<T> offset;    // (k, d): A_k t mu_k, so that A_k (x - t mu_k) = A_k x - offset_k
    std::vector<T> base;      // (k, d): mu_k - B_k t mu_k, so that u_k = base_k + B_k x
    std::vector<T> factor;    // (k, d (d + 1) / 2): A_k = chol(S_k)^-1, packed lower rows
    std::vector<T> bmat;      // (k, d, d): B_k
    std::vector<T> log_coef;  // (k,): log pi_k - log|chol S_k| - d/2 log(2 pi)
    std::vector<T> trace;     // (k,): tr B_k
    // empirical fields (flow.hpp): offset holds t x_k, base x_k - c, trace |x_k - c|^2 for
    // the data's centre c, log_coef log w_k; and the scalars below.
    bool empirical = false;
    bool singular = false;  // t = 1 with bandwidth 0
    T t = 0, inv_2s2 = 0, b = 0, t_over_s2 = 0;
    std::vector<T> centre;  // (d,)
};

// An empirical field's data at time t.
template <class T>
TimeData<T> empirical_data(const MixtureField& f, double t) {
    const int64_t d = f.dim, K = f.k;
    TimeData<T> td;
    td.empirical = true;
    td.offset.resize(size_t(K * d));
    td.base.resize(size_t(K * d));
    td.trace.resize(size_t(K));
    td.log_coef.resize(size_t(K));
    td.centre.assign(size_t(d), T(0));
    std::vector<double> c(size_t(d), 0.0);
    for (int64_t k = 0; k < K; ++k) {
        for (int64_t j = 0; j < d; ++j) c[size_t(j)] += f.weights[k] * f.means[k * d + j];
    }
    for (int64_t j = 0; j < d; ++j) td.centre[size_t(j)] = T(c[size_t(j)]);
    for (int64_t k = 0; k < K; ++k) {
        double r2 = 0;
        for (int64_t j = 0; j < d; ++j) {
            const double xk = f.means[k * d + j];
            td.offset[size_t(k * d + j)] = T(t * xk);
            td.base[size_t(k * d + j)] = T(xk - c[size_t(j)]);
            r2 += (xk - c[size_t(j)]) * (xk - c[size_t(j)]);
        }
        td.trace[size_t(k)] = T(r2);
        td.log_coef[size_t(k)] = T(std::log(f.weights[k]));
    }
    const double h2 = f.bandwidth * f.bandwidth, s2 = t * t * h2 + (1 - t) * (1 - t);
    td.singular = !(s2 > 0);
    if (!td.singular) {
        td.t = T(t);
        td.inv_2s2 = T(0.5 / s2);
        td.b = T((t * h2 - (1 - t)) / s2);
        td.t_over_s2 = T(t / s2);
    }
    return td;
}

// S = t^2 Sigma + (1 - t)^2 I, its Cholesky factor L, A = L^-1, S^-1 = A^T A and
// B = (t Sigma - (1 - t) I) S^-1, all in double, for every component.
template <class T>
TimeData<T> time_data(const MixtureField& f, double t) {
    if (f.empirical) return empirical_data<T>(f, t);
    const int64_t d = f.dim, K = f.k;
    TimeData<T> td;
    td.offset.resize(size_t(K * d));
    td.base.resize(size_t(K * d));
    td.factor.resize(size_t(K * packed(d)));
    td.bmat.resize(size_t(K * d * d));
    td.log_coef.resize(size_t(K));
    td.trace.resize(size_t(K));
    std::vector<double> S(size_t(d * d)), L(size_t(d * d)), A(size_t(d * d)), Sinv(size_t(d * d));
    const double s = (1 - t) * (1 - t);
    for (int64_t k = 0; k < K; ++k) {
        const double* sigma = f.covariances + k * d * d;
        for (int64_t i = 0; i < d * d; ++i) S[size_t(i)] = t * t * sigma[i];
        for (int64_t i = 0; i < d; ++i) S[size_t(i * d + i)] += s;
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
        for (int64_t i = 0; i < d; ++i) {  // B = (t Sigma - (1 - t) I) S^-1, and mu - B t mu
            double bmu = 0;
            for (int64_t j = 0; j < d; ++j) {
                double v = 0;
                for (int64_t l = 0; l < d; ++l) {
                    const double m = t * sigma[i * d + l] - (i == l ? 1 - t : 0.0);
                    v += m * Sinv[size_t(l * d + j)];
                }
                td.bmat[size_t((k * d + i) * d + j)] = T(v);
                bmu += v * (t * mu[j]);
                if (i == j) trace += v;
            }
            td.base[size_t(k * d + i)] = T(mu[i] - bmu);
        }
        for (int64_t j = 0; j < d; ++j) {
            double amu = 0;
            for (int64_t i = 0; i <= j; ++i) {
                td.factor[size_t(k * packed(d) + packed(j) + i)] = T(A[size_t(j * d + i)]);
                amu += A[size_t(j * d + i)] * (t * mu[i]);
            }
            td.offset[size_t(k * d + j)] = T(amu);
        }
        td.log_coef[size_t(k)] = T(std::log(f.weights[k]) - log_det - 0.5 * double(d) * kLog2Pi);
        td.trace[size_t(k)] = T(trace);
    }
    return td;
}

template <class T>
constexpr T kExpFloor = T(-708);
template <>
constexpr float kExpFloor<float> = -87.0f;

// The empirical field goes through its data in tiles of kTile points (the mixture field
// holds the log-weights of all its components at once).
constexpr int64_t kTile = 64;

// Per-task buffers (vectors of lanes).
template <class T>
struct Scratch {
    simd::Buffer<T> r, y, uk, a, g;            // field()
    simd::Buffer<T> x, stage, acc, k1, probe;  // the solver
    Scratch(int64_t d, int64_t k)  // k: log-weights held at once (components, or a tile)
        : r(size_t(d)), y(size_t(d)), uk(size_t(d)), a(size_t(k)),
          g(size_t(d)), x(size_t(d)), stage(size_t(d)),
          acc(size_t(d)), k1(size_t(d)), probe(size_t(d)) {}
};

// The empirical field (flow.hpp): attention over the data, a running maximum per tile.
template <class T, bool kDiv, int kDim>
GENSAMPLE_INLINE void empirical_field(const TimeData<T>& td, int64_t K, int64_t dim, const V<T>* x, Scratch<T>& s,
                                      V<T>* u, V<T>& div) {
    const int64_t d = kDim > 0 ? kDim : dim;
    if (td.singular) {  // t = 1, bandwidth 0: the limit u = x
        for (int64_t i = 0; i < d; ++i) u[i] = x[i];
        if (kDiv) div = V<T>{};
        return;
    }
    const V<T> floor = simd::broadcast(kExpFloor<T>);
    V<T> m = simd::broadcast(-std::numeric_limits<T>::infinity()), sum{}, sq{};
    V<T>* acc = s.g.data();  // sum_k e_k (x_k - c)
    for (int64_t i = 0; i < d; ++i) acc[i] = V<T>{};
    for (int64_t k0 = 0; k0 < K; k0 += kTile) {
        const int64_t n = std::min<int64_t>(kTile, K - k0);
        V<T> tile_max = simd::broadcast(-std::numeric_limits<T>::infinity());
        for (int64_t k = 0; k < n; ++k) {
            const T* tx = td.offset.data() + (k0 + k) * d;
            V<T> q{};
#pragma GCC unroll 4
            for (int64_t j = 0; j < d; ++j) {
                const V<T> r = x[j] - tx[j];
                q += r * r;
            }
            s.a[size_t(k)] = td.log_coef[size_t(k0 + k)] - td.inv_2s2 * q;
            tile_max = simd::max<T>(tile_max, s.a[size_t(k)]);
        }
        const V<T> next = simd::max<T>(m, tile_max);
        const V<T> scale = simd::exp_nonpositive(simd::max<T>(m - next, floor));
        sum *= scale;
        if (kDiv) sq *= scale;
        for (int64_t j = 0; j < d; ++j) acc[j] *= scale;
        m = next;
        for (int64_t k = 0; k < n; ++k) {
            const V<T> e = simd::exp_nonpositive(simd::max<T>(s.a[size_t(k)] - m, floor));
            sum += e;
            const T* xk = td.base.data() + (k0 + k) * d;
#pragma GCC unroll 4
            for (int64_t j = 0; j < d; ++j) acc[j] += xk[j] * e;
            if (kDiv) sq += td.trace[size_t(k0 + k)] * e;
        }
    }
    const V<T> inv = T(1) / sum;
    V<T> xbar2{};
    for (int64_t j = 0; j < d; ++j) {  // u = xbar + b (x - t xbar), xbar = c + acc / sum
        const V<T> centred = acc[j] * inv;
        const V<T> xbar = centred + td.centre[size_t(j)];
        u[j] = xbar + td.b * (x[j] - td.t * xbar);
        xbar2 += centred * centred;
    }
    if (kDiv) div = T(d) * td.b + (T(1) - td.t * td.b) * td.t_over_s2 * (sq * inv - xbar2);
}

// u (d vectors) at the lanes' points x, and div u when kDiv (else div is untouched).
// kDim > 0: the dimension, known at compile time (small d: loops unroll into registers).
// Factors enter as scalar operands of vector multiply-adds (GCC splats them in place).
template <class T, bool kDiv, int kDim>
GENSAMPLE_INLINE void field(const TimeData<T>& td, int64_t K, int64_t dim, const V<T>* x, Scratch<T>& s, V<T>* u,
                            V<T>& div) {
    if (td.empirical) return empirical_field<T, kDiv, kDim>(td, K, dim, x, s, u, div);
    const int64_t d = kDim > 0 ? kDim : dim;
    const V<T> floor = simd::broadcast(kExpFloor<T>);
    V<T> vmax = simd::broadcast(-std::numeric_limits<T>::infinity());
    for (int64_t k = 0; k < K; ++k) {  // pass 1: log w_k up to a constant, from |A_k x - offset_k|^2
        const T* b = td.offset.data() + k * d;
        const T* f = td.factor.data() + k * packed(d);
        V<T> q{};
#pragma GCC unroll 4
        for (int64_t j = 0; j < d; ++j) {
            const T* row = f + packed(j);
            V<T> acc = row[0] * x[0] - b[j];
#pragma GCC unroll 4
            for (int64_t i = 1; i <= j; ++i) acc += row[i] * x[i];
            q += acc * acc;
        }
        s.a[size_t(k)] = td.log_coef[size_t(k)] - T(0.5) * q;
        vmax = simd::max<T>(vmax, s.a[size_t(k)]);
    }
    V<T> sum{}, tr{}, ug{};
#pragma GCC unroll 4
    for (int64_t i = 0; i < d; ++i) u[i] = V<T>{}, s.g[size_t(i)] = V<T>{};
    for (int64_t k = 0; k < K; ++k) {  // pass 2: the weighted sums
        const V<T> e = simd::exp_nonpositive(simd::max<T>(s.a[size_t(k)] - vmax, floor));
        sum += e;
        const T* base = td.base.data() + k * d;
        const T* B = td.bmat.data() + k * d * d;
#pragma GCC unroll 4
        for (int64_t i = 0; i < d; ++i) {  // u_k = base_k + B_k x
            const T* row = B + i * d;
            V<T> acc = row[0] * x[0] + base[i];
#pragma GCC unroll 4
            for (int64_t j = 1; j < d; ++j) acc += row[j] * x[j];
            if (kDiv) s.uk[size_t(i)] = acc;
            u[i] += e * acc;
        }
        if (kDiv) {
            const T* f = td.factor.data() + k * packed(d);
            const T* b = td.offset.data() + k * d;
            for (int64_t j = 0; j < d; ++j) {  // y = A x - offset
                const T* row = f + packed(j);
                V<T> acc = row[0] * x[0] - b[j];
                for (int64_t i = 1; i <= j; ++i) acc += row[i] * x[i];
                s.y[size_t(j)] = acc;
            }
            V<T> dot{};
            for (int64_t i = 0; i < d; ++i) {  // g_k = -A^T y, and u_k . g_k
                V<T> gi{};
                for (int64_t j = i; j < d; ++j) gi -= f[packed(j) + i] * s.y[size_t(j)];
                s.g[size_t(i)] += e * gi;
                dot += s.uk[size_t(i)] * gi;
            }
            tr += e * td.trace[size_t(k)];
            ug += e * dot;
        }
    }
    const V<T> inv = T(1) / sum;
#pragma GCC unroll 4
    for (int64_t i = 0; i < d; ++i) u[i] *= inv;
    if (kDiv) {  // sum_k w_k [tr B_k + (u_k - u) . (g_k - g)] = sum w tr + sum w u_k . g_k - u . g
        V<T> cross{};
        for (int64_t i = 0; i < d; ++i) cross += u[i] * (s.g[size_t(i)] * inv);
        div = tr * inv + ug * inv - cross;
    }
}

// Particles [p, p + count) of x into lanes (padding repeats the last particle).
template <class T>
GENSAMPLE_INLINE void load(const T* x, int64_t p, int64_t count, int64_t d, V<T>* out) {
    alignas(64) T lane[kWidth<T>];
    for (int64_t i = 0; i < d; ++i) {
        for (int l = 0; l < kWidth<T>; ++l) lane[l] = x[(p + std::min<int64_t>(l, count - 1)) * d + i];
        out[i] = simd::load<T>(lane);
    }
}

template <class T>
GENSAMPLE_INLINE void store(const V<T>* in, int64_t p, int64_t count, int64_t d, T* x) {
    alignas(64) T lane[kWidth<T>];
    for (int64_t i = 0; i < d; ++i) {
        simd::store(lane, in[i]);
        for (int64_t l = 0; l < count; ++l) x[(p + l) * d + i] = lane[l];
    }
}

// The data of one step: its stage times' TimeData, h, and the solver.
template <class T>
struct Step {
    Solver solver;
    T h;
    const TimeData<T>* at[4];  // per stage
    // Euler-Maruyama (flow.hpp): the step's start time, sigma, and its noise stream
    bool sde = false;
    T t = 0, sigma = 0;
    uint64_t key = 0;
    int64_t row0 = 0;
};

// One step for particles [p0, p1) of x, in place; ld (when kDiv) += the step's div integral.
template <class T, bool kDiv, int kDim>
GENSAMPLE_INLINE void step_range(const Step<T>& st, int64_t K, int64_t dim, T* x, double* ld, int64_t p0, int64_t p1) {
    const int64_t d = kDim > 0 ? kDim : dim;
    Scratch<T> s(d, st.at[0]->empirical ? std::min(K, kTile) : K);
    const T h = st.h;
    alignas(64) T lanes[kWidth<T>];
    for (int64_t p = p0; p < p1; p += kWidth<T>) {
        const int64_t count = std::min<int64_t>(kWidth<T>, p1 - p);
        load(x, p, count, d, s.x.data());
        V<T> div{}, div_sum{};
        V<T>* k = s.stage.data();
        V<T>* acc = s.acc.data();
        // k1 at (t, x)
        field<T, kDiv, kDim>(*st.at[0], K, d, s.x.data(), s, k, div);
        if (st.solver == Solver::euler && st.sde) {
            // x += h (u + sigma^2 / 2 (t u - x) / (1 - t)) + sigma sqrt(h) z
            alignas(64) double z[kWidth<T> * 64];  // count <= width rows of d <= 64 (integrate checks)
            normal_rows(st.key, st.row0 + p, st.row0 + p + count, d, z);
            const T drift = T(0.5) * st.sigma * st.sigma / (T(1) - st.t), kick = st.sigma * T(std::sqrt(double(h)));
            for (int64_t i = 0; i < d; ++i) {
                for (int l = 0; l < kWidth<T>; ++l) lanes[l] = l < count ? T(z[l * d + i]) : T(0);
                const V<T> zi = simd::load<T>(lanes);
                s.x[size_t(i)] += h * (k[i] + drift * (st.t * k[i] - s.x[size_t(i)])) + kick * zi;
            }
        } else if (st.solver == Solver::euler) {
            for (int64_t i = 0; i < d; ++i) s.x[size_t(i)] += h * k[i];
            div_sum = div;
        } else if (st.solver == Solver::midpoint) {
            for (int64_t i = 0; i < d; ++i) acc[i] = s.x[size_t(i)] + (T(0.5) * h) * k[i];
            field<T, kDiv, kDim>(*st.at[1], K, d, acc, s, k, div);
            for (int64_t i = 0; i < d; ++i) s.x[size_t(i)] += h * k[i];
            div_sum = div;
        } else if (st.solver == Solver::heun) {
            simd::Buffer<T>& k1 = s.k1;
            for (int64_t i = 0; i < d; ++i) k1[size_t(i)] = k[i], acc[i] = s.x[size_t(i)] + h * k[i];
            const V<T> div1 = div;
            field<T, kDiv, kDim>(*st.at[1], K, d, acc, s, k, div);
            for (int64_t i = 0; i < d; ++i) s.x[size_t(i)] += (T(0.5) * h) * (k1[size_t(i)] + k[i]);
            div_sum = T(0.5) * (div1 + div);
        } else {  // rk4: x += h/6 (k1 + 2 k2 + 2 k3 + k4)
            simd::Buffer<T>& total = s.k1;
            V<T>* probe = s.probe.data();
            for (int64_t i = 0; i < d; ++i) total[size_t(i)] = k[i], probe[i] = s.x[size_t(i)] + (T(0.5) * h) * k[i];
            div_sum = div;
            for (int stage = 1; stage < 4; ++stage) {
                for (int64_t i = 0; i < d; ++i) acc[i] = probe[i];
                field<T, kDiv, kDim>(*st.at[stage], K, d, acc, s, k, div);
                const T weight = stage == 3 ? T(1) : T(2);
                const T next = stage == 2 ? h : T(0.5) * h;
                for (int64_t i = 0; i < d; ++i) {
                    total[size_t(i)] += weight * k[i];
                    probe[i] = s.x[size_t(i)] + next * k[i];
                }
                div_sum += weight * div;
            }
            for (int64_t i = 0; i < d; ++i) s.x[size_t(i)] += (h / T(6)) * total[size_t(i)];
            div_sum = div_sum / T(6);
        }
        store(s.x.data(), p, count, d, x);
        if (kDiv) {
            simd::store(lanes, div_sum);
            for (int64_t l = 0; l < count; ++l) ld[p + l] += double(h) * double(lanes[l]);
        }
    }
}

// One clone per instruction set (dispatch.hpp).
// Small dimensions get their loops unrolled at compile time.
template <class T, bool kDiv>
GENSAMPLE_INLINE void step_any(const Step<T>& st, int64_t K, int64_t d, T* x, double* ld, int64_t p0, int64_t p1) {
    switch (d) {
        case 1: return step_range<T, kDiv, 1>(st, K, d, x, ld, p0, p1);
        case 2: return step_range<T, kDiv, 2>(st, K, d, x, ld, p0, p1);
        case 3: return step_range<T, kDiv, 3>(st, K, d, x, ld, p0, p1);
        default: return step_range<T, kDiv, 0>(st, K, d, x, ld, p0, p1);
    }
}

GENSAMPLE_DISPATCH
void step_f64(bool div, const Step<double>& st, int64_t K, int64_t d, double* x, double* ld, int64_t p0, int64_t p1) {
    if (div) {
        step_any<double, true>(st, K, d, x, ld, p0, p1);
    } else {
        step_any<double, false>(st, K, d, x, ld, p0, p1);
    }
}

GENSAMPLE_DISPATCH
void step_f32(bool div, const Step<float>& st, int64_t K, int64_t d, float* x, double* ld, int64_t p0, int64_t p1) {
    if (div) {
        step_any<float, true>(st, K, d, x, ld, p0, p1);
    } else {
        step_any<float, false>(st, K, d, x, ld, p0, p1);
    }
}

template <class T, int kDim>
GENSAMPLE_INLINE void velocity_range(const TimeData<T>& td, int64_t K, int64_t dim, const T* x, T* u, double* div,
                                     int64_t p0, int64_t p1) {
    const int64_t d = kDim > 0 ? kDim : dim;
    Scratch<T> s(d, td.empirical ? std::min(K, kTile) : K);
    simd::Buffer<T> out(static_cast<size_t>(d));
    alignas(64) T lanes[kWidth<T>];
    for (int64_t p = p0; p < p1; p += kWidth<T>) {
        const int64_t count = std::min<int64_t>(kWidth<T>, p1 - p);
        load(x, p, count, d, s.x.data());
        V<T> dv{};
        if (div) {
            field<T, true, kDim>(td, K, d, s.x.data(), s, out.data(), dv);
            simd::store(lanes, dv);
            for (int64_t l = 0; l < count; ++l) div[p + l] = double(lanes[l]);
        } else {
            field<T, false, kDim>(td, K, d, s.x.data(), s, out.data(), dv);
        }
        store(out.data(), p, count, d, u);
    }
}

GENSAMPLE_DISPATCH
void velocity_f64(const TimeData<double>& td, int64_t K, int64_t d, const double* x, double* u, double* div,
                  int64_t p0, int64_t p1) {
    velocity_range<double, 0>(td, K, d, x, u, div, p0, p1);
}

GENSAMPLE_DISPATCH
void velocity_f32(const TimeData<float>& td, int64_t K, int64_t d, const float* x, float* u, double* div, int64_t p0,
                  int64_t p1) {
    velocity_range<float, 0>(td, K, d, x, u, div, p0, p1);
}

void run_step(bool div, const Step<double>& st, int64_t K, int64_t d, double* x, double* ld, int64_t p0, int64_t p1) {
    step_f64(div, st, K, d, x, ld, p0, p1);
}
void run_step(bool div, const Step<float>& st, int64_t K, int64_t d, float* x, double* ld, int64_t p0, int64_t p1) {
    step_f32(div, st, K, d, x, ld, p0, p1);
}
void run_velocity(const TimeData<double>& td, int64_t K, int64_t d, const double* x, double* u, double* div,
                  int64_t p0, int64_t p1) {
    velocity_f64(td, K, d, x, u, div, p0, p1);
}
void run_velocity(const TimeData<float>& td, int64_t K, int64_t d, const float* x, float* u, double* div, int64_t p0,
                  int64_t p1) {
    velocity_f32(td, K, d, x, u, div, p0, p1);
}

void check(const MixtureField& f) {
    if (f.k < 1 || f.dim < 1) throw std::invalid_argument("flow: empty mixture");
}

// Particles per task: about 2^17 component-coordinate products per stage.
int64_t grain(const MixtureField& f, int width) {
    const int64_t work = f.k * (f.dim * f.dim + f.dim + 1);
    const int64_t points = std::max<int64_t>(width, (int64_t(1) << 17) / work);
    return (points + width - 1) / width * width;
}

}  // namespace

template <class T>
void integrate(const MixtureField& field, Solver solver, const double* grid, int64_t steps, T* x, int64_t n,
               double* log_det, const int64_t* snap_steps, int64_t n_snap, T* snapshots, const Noise* noise,
               int n_threads) {
    check(field);
    if (noise && (solver != Solver::euler || log_det)) throw std::invalid_argument("flow: the SDE takes Euler steps");
    if (noise && field.dim > 64) throw std::invalid_argument("flow: the SDE sampler supports up to 64 dimensions");
    const int64_t d = field.dim;
    int64_t next_snap = 0;
    auto snapshot = [&](int64_t done) {
        while (next_snap < n_snap && snap_steps[next_snap] == done) {
            std::memcpy(snapshots + next_snap * n * d, x, size_t(n * d) * sizeof(T));
            ++next_snap;
        }
    };
    snapshot(0);
    const int64_t per_task = grain(field, kWidth<T>);
    for (int64_t s = 0; s < steps; ++s) {
        const double t = grid[s], h = grid[s + 1] - grid[s];
        const TimeData<T> start = time_data<T>(field, t);
        const TimeData<T> mid = solver == Solver::midpoint || solver == Solver::rk4
                                    ? time_data<T>(field, t + 0.5 * h) : TimeData<T>{};
        const TimeData<T> end = solver == Solver::heun || solver == Solver::rk4 ? time_data<T>(field, grid[s + 1])
                                                                                : TimeData<T>{};
        Step<T> st{solver, T(h), {&start, &start, &start, &start}};
        if (solver == Solver::midpoint) st.at[1] = &mid;
        if (solver == Solver::heun) st.at[1] = &end;
        if (solver == Solver::rk4) st.at[1] = &mid, st.at[2] = &mid, st.at[3] = &end;
        if (noise) {
            if (!(t < 1.0 && h > 0)) throw std::invalid_argument("flow: the SDE runs forward on [t0, 1)");
            st.sde = true;
            st.t = T(t);
            st.sigma = T(noise->sigma[s]);
            st.key = subkey(noise->key, uint64_t(s));
            st.row0 = noise->row0;
        }
        parallel_for(n, per_task, n_threads,
                     [&](int64_t p0, int64_t p1) { run_step(log_det != nullptr, st, field.k, d, x, log_det, p0, p1); });
        snapshot(s + 1);
    }
}

template <class T>
void velocity(const MixtureField& field, double t, const T* x, int64_t n, T* u, double* div, int n_threads) {
    check(field);
    const TimeData<T> td = time_data<T>(field, t);
    parallel_for(n, grain(field, kWidth<T>), n_threads,
                 [&](int64_t p0, int64_t p1) { run_velocity(td, field.k, field.dim, x, u, div, p0, p1); });
}

template void integrate<double>(const MixtureField&, Solver, const double*, int64_t, double*, int64_t, double*,
                                const int64_t*, int64_t, double*, const Noise*, int);
template void integrate<float>(const MixtureField&, Solver, const double*, int64_t, float*, int64_t, double*,
                               const int64_t*, int64_t, float*, const Noise*, int);
template void velocity<double>(const MixtureField&, double, const double*, int64_t, double*, double*, int);
template void velocity<float>(const MixtureField&, double, const float*, int64_t, float*, double*, int);

}  // namespace gensample::flow
