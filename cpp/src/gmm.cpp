// The Gaussian mixture engine (gmm.hpp): log-densities, responsibilities, scores and the
// fused E-step sums.
//
// Compiled with -ffp-contract=fast, as kde.cpp: the FMA clones fuse the triangular
// products and the exp polynomial, so a value may differ in the last bits between
// instruction sets; it never depends on the thread count. No random stream reads it.
// Each instruction set runs on vectors of its own register width (density_f64 and its
// siblings): a point's values do not depend on the width, the EM sums (added lane by lane) do.
// The passes live in the rooms of cpp/src/gmm/, included here in order: whitening,
// density, em, blocks; this file holds the entry points.
#include "gensample/gmm.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/simd.hpp"
#include "gmm/blocks.hpp"

namespace gensample::gmm {
namespace {

// One version per instruction set (dispatch.hpp) and mode, each on vectors of its register
// width: wider than the registers, GCC keeps the vectors in memory between operations. One
// function per mode: in one function, the register allocation of the log-density's blocks
// (all 16 of AVX2's registers) moves with the other modes' code, and the score's blocks
// spill an accumulator in the innermost loop.
#define GENSAMPLE_GMM_MODE(NAME, T, M, BYTES)                                              \
    void NAME(const Mixture<T>& g, const T* x, int64_t p0, int64_t p1, const Outputs& o) { \
        run_any<T, BYTES, M>(g, x, p0, p1, o);                                             \
    }
#define GENSAMPLE_GMM_DENSITY_F64(BYTES) GENSAMPLE_GMM_MODE(density_f64, double, Mode::density, BYTES)
#define GENSAMPLE_GMM_DENSITY_F32(BYTES) GENSAMPLE_GMM_MODE(density_f32, float, Mode::density, BYTES)
#define GENSAMPLE_GMM_RESP_F64(BYTES) GENSAMPLE_GMM_MODE(resp_f64, double, Mode::responsibilities, BYTES)
#define GENSAMPLE_GMM_RESP_F32(BYTES) GENSAMPLE_GMM_MODE(resp_f32, float, Mode::responsibilities, BYTES)
#define GENSAMPLE_GMM_SCORE_F64(BYTES) GENSAMPLE_GMM_MODE(score_f64, double, Mode::score, BYTES)
#define GENSAMPLE_GMM_SCORE_F32(BYTES) GENSAMPLE_GMM_MODE(score_f32, float, Mode::score, BYTES)
#define GENSAMPLE_GMM_MOMENTS(BYTES)                                                                        \
    void moments_f64(const Mixture<double>& g, const double* x, int64_t p0, int64_t p1, const Outputs& o) { \
        run_moments<BYTES>(g, x, p0, p1, o);                                                                \
    }
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_DENSITY_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_DENSITY_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_RESP_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_RESP_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_SCORE_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_SCORE_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_MOMENTS)
#undef GENSAMPLE_GMM_MODE
#undef GENSAMPLE_GMM_DENSITY_F64
#undef GENSAMPLE_GMM_DENSITY_F32
#undef GENSAMPLE_GMM_RESP_F64
#undef GENSAMPLE_GMM_RESP_F32
#undef GENSAMPLE_GMM_SCORE_F64
#undef GENSAMPLE_GMM_SCORE_F32
#undef GENSAMPLE_GMM_MOMENTS

void run(Mode mode, const Mixture<double>& g, const double* x, int64_t p0, int64_t p1, const Outputs& o) {
    switch (mode) {
        case Mode::density: return density_f64(g, x, p0, p1, o);
        case Mode::responsibilities: return resp_f64(g, x, p0, p1, o);
        case Mode::score: return score_f64(g, x, p0, p1, o);
        case Mode::moments: return moments_f64(g, x, p0, p1, o);
    }
}
void run(Mode mode, const Mixture<float>& g, const float* x, int64_t p0, int64_t p1, const Outputs& o) {
    switch (mode) {
        case Mode::density: return density_f32(g, x, p0, p1, o);
        case Mode::responsibilities: return resp_f32(g, x, p0, p1, o);
        case Mode::score: return score_f32(g, x, p0, p1, o);
        case Mode::moments: break;
    }
    throw std::invalid_argument("gmm: the E-step sums are float64 only");
}

template <class T>
void check(const Mixture<T>& g) {
    if (g.k < 1 || g.dim < 1) throw std::invalid_argument("gmm: no components");
}

// Points per task: about 2^20 component-coordinate pairs (tens of microseconds of work,
// long beside a task's start and end), in whole blocks of density_blocks (kVectors vectors
// of AVX-512, so also of AVX2). Outputs are per point, so the split does not change them.
template <class T>
int64_t grain(const Mixture<T>& g) {
    constexpr int64_t kUnit = kVectors * kWidth<T, 64>;
    const int64_t work = g.k * (g.diagonal ? g.dim + 1 : packed(g.dim) + 1);
    const int64_t points = std::max<int64_t>(kUnit, (int64_t(1) << 20) / work);
    return (points + kUnit - 1) / kUnit * kUnit;
}

// The factors in RowBlocks form for every pass over full covariances in general dimension
// (d > 4; below, factor_small reads the packed rows): K (d + 8) d / 2 values, d rounded up
// to a multiple of 8.
template <class T>
std::unique_ptr<RowBlocks<T>> row_blocks_for(const Mixture<T>& g) {
    if (g.diagonal || g.dim <= 4) return nullptr;
    return std::make_unique<RowBlocks<T>>(g);
}

template <class T>
void for_points(Mode mode, const Mixture<T>& g, const T* x, int64_t m, Outputs o, int n_threads) {
    check(g);
    const auto blocks = row_blocks_for(g);
    o.row_blocks = blocks.get();
    parallel_for(m, grain(g), n_threads, [&](int64_t p0, int64_t p1) { run(mode, g, x, p0, p1, o); });
}

template <class T>
void density(const Mixture<T>& g, const T* x, int64_t m, T* out, int n_threads) {
    Outputs o;
    o.out = out;
    for_points(Mode::density, g, x, m, o, n_threads);
}

template <class T>
void responsibilities_pass(const Mixture<T>& g, const T* x, int64_t m, T* resp, T* out, bool probabilities,
                           int n_threads) {
    Outputs o;
    o.out = out;
    o.log_resp = resp;
    o.probabilities = probabilities;
    for_points(Mode::responsibilities, g, x, m, o, n_threads);
}

}  // namespace

void log_density(const Mixture<double>& g, const double* x, int64_t m, double* out, int n_threads) {
    density(g, x, m, out, n_threads);
}

void log_density(const Mixture<float>& g, const float* x, int64_t m, float* out, int n_threads) {
    density(g, x, m, out, n_threads);
}

void log_responsibilities(const Mixture<double>& g, const double* x, int64_t m, double* log_resp, double* out,
                          int n_threads) {
    responsibilities_pass(g, x, m, log_resp, out, false, n_threads);
}

void log_responsibilities(const Mixture<float>& g, const float* x, int64_t m, float* log_resp, float* out,
                          int n_threads) {
    responsibilities_pass(g, x, m, log_resp, out, false, n_threads);
}

void responsibilities(const Mixture<double>& g, const double* x, int64_t m, double* resp, double* out, int n_threads) {
    responsibilities_pass(g, x, m, resp, out, true, n_threads);
}

void responsibilities(const Mixture<float>& g, const float* x, int64_t m, float* resp, float* out, int n_threads) {
    responsibilities_pass(g, x, m, resp, out, true, n_threads);
}

void grad_log_density(const Mixture<double>& g, const double* x, int64_t m, double* out, int n_threads) {
    Outputs o;
    o.out = out;
    for_points(Mode::score, g, x, m, o, n_threads);
}

void grad_log_density(const Mixture<float>& g, const float* x, int64_t m, float* out, int n_threads) {
    Outputs o;
    o.out = out;
    for_points(Mode::score, g, x, m, o, n_threads);
}

template <class T>
Scorer<T>::Scorer(const Mixture<T>& g) : g_(g), blocks_(row_blocks_for(g)) {
    check(g);
}

template <class T>
void Scorer<T>::operator()(const T* x, int64_t m, T* logp, T* grad) const {
    Outputs o;
    o.out = grad;
    o.log_density = logp;
    o.row_blocks = blocks_.get();
    run(Mode::score, g_, x, 0, m, o);
}

template class Scorer<double>;
template class Scorer<float>;

int64_t em_chunk(int64_t n) {
    const int64_t per = std::max<int64_t>(2048, (n + 255) / 256);  // at most 256 chunks
    return (per + 15) / 16 * 16;
}

Moments em_moments(const Mixture<double>& g, const double* x, const double* v, int64_t n, bool full, int n_threads) {
    check(g);
    const int64_t d = g.dim, K = g.k, m2 = full ? packed(d) : d;
    const int64_t stride = K * (1 + d + m2) + 1;
    const int64_t chunk = em_chunk(n), chunks = (n + chunk - 1) / chunk;
    std::vector<double> partial(static_cast<size_t>(chunks * stride), 0.0);
    const auto blocks = row_blocks_for(g);
    parallel_for(chunks, 1, n_threads, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            Outputs o;
            o.row_blocks = blocks.get();
            o.v = v;
            o.partial = partial.data() + c * stride;
            o.full = full;
            run(Mode::moments, g, x, c * chunk, std::min(n, (c + 1) * chunk), o);
        }
    });
    Moments mo;
    mo.weight.assign(size_t(K), 0.0);
    mo.first.assign(size_t(K * d), 0.0);
    mo.second.assign(size_t(K * m2), 0.0);
    for (int64_t c = 0; c < chunks; ++c) {  // in chunk order
        const double* p = partial.data() + c * stride;
        for (int64_t i = 0; i < K; ++i) mo.weight[size_t(i)] += p[i];
        for (int64_t i = 0; i < K * d; ++i) mo.first[size_t(i)] += p[K + i];
        for (int64_t i = 0; i < K * m2; ++i) mo.second[size_t(i)] += p[K + K * d + i];
        mo.log_likelihood += p[stride - 1];
    }
    return mo;
}

}  // namespace gensample::gmm
