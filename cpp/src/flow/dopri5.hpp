// Flows, dopri5: the Dormand-Prince pair with a time and a step per lane, error control
// on the state and (when integrated) the log-density.
//
// A room of flow.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=off: every instruction set gives the same bits). Which source file
// a loop is compiled in decides its bits: move code between flow.cpp's rooms only.
#pragma once

#include "fixed_step.hpp"

namespace gensample::flow {
namespace {

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
        for (int l = 0; l < W; ++l)
            t[l] = t0, stop[l] = 1, attempts[l] = 0, running[l] = interval > 0, rejected[l] = false;
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

}  // namespace
}  // namespace gensample::flow
