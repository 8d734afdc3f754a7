// Flows, the fixed-step solvers (euler, midpoint, heun, rk4, and the SDE's steps): one
// step for a range of particles, blocks of vectors of lanes in registers.
//
// A room of flow.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=off: every instruction set gives the same bits). Which source file
// a loop is compiled in decides its bits: move code between flow.cpp's rooms only.
#pragma once

#include "fields.hpp"

namespace gensample::flow {
namespace {

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
    V<T, B>* acc = s.acc.data();   // the next stage's point
    V<T, B>* first = s.k1.data();  // heun: k1; rk4: k1 + 2 k2 + 2 k3 + k4 so far
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

}  // namespace
}  // namespace gensample::flow
