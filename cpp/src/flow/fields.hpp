// Flows, the closed-form fields: the empirical field (attention over the data), the
// mixture field at one time and with a time per lane, and the dispatch over field kinds.
//
// A room of flow.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=off: every instruction set gives the same bits). Which source file
// a loop is compiled in decides its bits: move code between flow.cpp's rooms only.
#pragma once

#include "network.hpp"

namespace gensample::flow {
namespace {

// The empirical field (flow.hpp): attention over the data, a running maximum per tile.
// With s^2 = alpha^2 h^2 + sigma^2, b = (alpha alpha' h^2 + sigma sigma') / s^2:
// u = alpha' xbar + b (x - alpha xbar), div u = d b + (alpha' - alpha b) (alpha / s^2) (sum w |x_k - c|^2 - |xbar -
// c|^2).
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
            s.y[size_t(j)] = bc * y[j];      // b c y
            s.uk[size_t(j)] = cc[j] * y[j];  // c y
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

}  // namespace
}  // namespace gensample::flow
