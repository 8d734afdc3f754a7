// Flows (flow.hpp): the entry points that run the solvers over tasks of particles. The
// fields and solvers live in the rooms of cpp/src/flow/, included here in order: data,
// network, fields, fixed_step, dopri5.
// Compiled with the global -ffp-contract=off (rooms included), so every instruction set
// gives the same bits.
#include "gensample/flow.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "flow/dopri5.hpp"
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

// Vectors per block of fixed steps, so that the core overlaps their chains (the bits are the
// same either way): two at the widths of AVX2 and AVX-512, whose registers hold both
// blocks' chains; one on SSE2, whose 16 narrow registers do not.
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
GENSAMPLE_INLINE void velocity_any(const FieldData<T>& F, const Stage<T>& st, const T* x, T* u, double* div, int64_t p0,
                                   int64_t p1) {
    switch (F.kind) {
        case FieldKind::mixture: return velocity_range<T, B, FieldKind::mixture>(F, st, x, u, div, p0, p1);
        case FieldKind::empirical: return velocity_range<T, B, FieldKind::empirical>(F, st, x, u, div, p0, p1);
        case FieldKind::network: return velocity_range<T, B, FieldKind::network>(F, st, x, u, div, p0, p1);
    }
}

// A decoder's forward pass for particles [p0, p1): blocks of kN vectors, as the fixed steps.
template <class T, int B>
GENSAMPLE_INLINE void forward_range(const FieldData<T>& F, const T* z, T* y, int64_t p0, int64_t p1) {
    constexpr int kN = vectors_per_block(B);
    constexpr int64_t W = kWidth<T, B>;
    const Network<T>& net = *F.net;
    const int64_t q = net.layers.front().in, d = net.layers.back().out;
    simd::Buffer<T, B> h0(size_t(kN * F.width)), h1(size_t(kN * F.width)), zin(size_t(kN * q)), out(size_t(kN * d));
    for (int64_t p = p0; p < p1; p += kN * W) {
        const int64_t count = std::min<int64_t>(kN * W, p1 - p);
        load<T, B>(z, p, count, q, zin.data(), kN);
        network_forward<T, B, kN>(net, zin.data(), h0.data(), h1.data(), out.data());
        store<T, B>(out.data(), p, count, d, y, kN);
    }
}

// The entry points: one version per instruction set at its register width (dispatch.hpp).
#define GENSAMPLE_FLOW_STEP(T, NAME, BYTES)                                                                   \
    void NAME(bool div, const FieldData<T>& F, const Step<T>& st, T* x, double* ld, int64_t p0, int64_t p1) { \
        if (div) {                                                                                            \
            step_any<T, BYTES, true>(F, st, x, ld, p0, p1);                                                   \
        } else {                                                                                              \
            step_any<T, BYTES, false>(F, st, x, ld, p0, p1);                                                  \
        }                                                                                                     \
    }
#define GENSAMPLE_FLOW_ADAPTIVE(T, NAME, BYTES)                                                                \
    void NAME(bool div, const FieldData<T>& F, const Adaptive& A, T* x, double* ld, T* snaps, uint8_t* status, \
              Stats& stats, int64_t p0, int64_t p1) {                                                          \
        if (div) {                                                                                             \
            adaptive_any<T, BYTES, true>(F, A, x, ld, snaps, status, stats, p0, p1);                           \
        } else {                                                                                               \
            adaptive_any<T, BYTES, false>(F, A, x, ld, snaps, status, stats, p0, p1);                          \
        }                                                                                                      \
    }
#define GENSAMPLE_FLOW_VELOCITY(T, NAME, BYTES)                                                                   \
    void NAME(const FieldData<T>& F, const Stage<T>& st, const T* x, T* u, double* div, int64_t p0, int64_t p1) { \
        velocity_any<T, BYTES>(F, st, x, u, div, p0, p1);                                                         \
    }
#define GENSAMPLE_STEP_F64(BYTES) GENSAMPLE_FLOW_STEP(double, step_f64, BYTES)
#define GENSAMPLE_STEP_F32(BYTES) GENSAMPLE_FLOW_STEP(float, step_f32, BYTES)
#define GENSAMPLE_ADAPTIVE_F64(BYTES) GENSAMPLE_FLOW_ADAPTIVE(double, adaptive_f64, BYTES)
#define GENSAMPLE_ADAPTIVE_F32(BYTES) GENSAMPLE_FLOW_ADAPTIVE(float, adaptive_f32, BYTES)
#define GENSAMPLE_FLOW_FORWARD(T, NAME, BYTES)                                   \
    void NAME(const FieldData<T>& F, const T* z, T* y, int64_t p0, int64_t p1) { \
        forward_range<T, BYTES>(F, z, y, p0, p1);                                \
    }
#define GENSAMPLE_FORWARD_F64(BYTES) GENSAMPLE_FLOW_FORWARD(double, forward_f64, BYTES)
#define GENSAMPLE_FORWARD_F32(BYTES) GENSAMPLE_FLOW_FORWARD(float, forward_f32, BYTES)
#define GENSAMPLE_VELOCITY_F64(BYTES) GENSAMPLE_FLOW_VELOCITY(double, velocity_f64, BYTES)
#define GENSAMPLE_VELOCITY_F32(BYTES) GENSAMPLE_FLOW_VELOCITY(float, velocity_f32, BYTES)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_STEP_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_STEP_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_ADAPTIVE_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_ADAPTIVE_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_VELOCITY_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_VELOCITY_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_FORWARD_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_FORWARD_F32)
#undef GENSAMPLE_STEP_F64
#undef GENSAMPLE_STEP_F32
#undef GENSAMPLE_ADAPTIVE_F64
#undef GENSAMPLE_ADAPTIVE_F32
#undef GENSAMPLE_VELOCITY_F64
#undef GENSAMPLE_VELOCITY_F32
#undef GENSAMPLE_FLOW_STEP
#undef GENSAMPLE_FLOW_ADAPTIVE
#undef GENSAMPLE_FLOW_VELOCITY
#undef GENSAMPLE_FORWARD_F64
#undef GENSAMPLE_FORWARD_F32
#undef GENSAMPLE_FLOW_FORWARD

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
void run_velocity(const FieldData<float>& F, const Stage<float>& st, const float* x, float* u, double* div, int64_t p0,
                  int64_t p1) {
    velocity_f32(F, st, x, u, div, p0, p1);
}

void run_forward(const FieldData<double>& F, const double* z, double* y, int64_t p0, int64_t p1) {
    forward_f64(F, z, y, p0, p1);
}
void run_forward(const FieldData<float>& F, const float* z, float* y, int64_t p0, int64_t p1) {
    forward_f32(F, z, y, p0, p1);
}

// A network's layers checked: widths that chain, LayerNorms of their layer's width. Returns
// the widest layer.
template <class T>
int64_t network_width(const Network<T>& net) {
    if (net.layers.empty()) throw std::invalid_argument("network: no layers");
    int64_t width = net.layers.front().in;
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const Layer<T>& L = net.layers[i];
        if (L.in < 1 || L.out < 1) throw std::invalid_argument("network: a layer has no inputs or outputs");
        if (i > 0 && L.in != net.layers[i - 1].out) {
            throw std::invalid_argument("network: the layer widths do not chain");
        }
        width = std::max(width, L.out);
    }
    return width;
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
        F.width = network_width(net);
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
        const Stage<T> mid =
            solver == Solver::midpoint || solver == Solver::rk4 ? stage_at(F, t + 0.5 * h) : Stage<T>{};
        const Stage<T> end = solver == Solver::heun || solver == Solver::rk4 ? stage_at(F, grid[s + 1]) : Stage<T>{};
        Step<T> st{solver, T(h), {&start, &start, &start, &start}};
        if (solver == Solver::midpoint) st.at[1] = &mid;
        if (solver == Solver::heun) st.at[1] = &end;
        if (solver == Solver::rk4) st.at[1] = &mid, st.at[2] = &mid, st.at[3] = &end;
        if (noise) {  // the score from the velocity (flow.hpp)
            const Coefficients c = coefficients(F.path, t);
            const double D = c.dalpha * c.sigma2 - c.alpha * c.sigma_dsigma,
                         half = 0.5 * noise->sigma[s] * noise->sigma[s];
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
    if (!(tol.rtol > 0) || !(tol.atol > 0) || !std::isfinite(tol.rtol) || !std::isfinite(tol.atol) ||
        tol.max_steps < 1) {
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

template <class T>
void forward(const Network<T>& net, const T* z, int64_t n, T* out, int n_threads) {
    FieldData<T> F;
    F.kind = FieldKind::network;
    F.net = &net;
    F.width = network_width(net);
    F.dim = net.layers.back().out;
    // Tasks of at least 8 widest blocks: a task's buffers (a wide layer's worth) are then
    // allocated once for 256 rows or more, not for every 32.
    const int64_t per_task = std::max<int64_t>(grain(F), 8 * kWidestBlock<T>);
    parallel_for(n, per_task, n_threads, [&](int64_t p0, int64_t p1) { run_forward(F, z, out, p0, p1); });
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
template void forward<double>(const Network<double>&, const double*, int64_t, double*, int);
template void forward<float>(const Network<float>&, const float*, int64_t, float*, int);

}  // namespace gensample::flow
