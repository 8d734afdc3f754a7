// Flows: ODE solvers that carry particles along dx/dt = u_t(x) (fixed steps, and dopri5
// with a step size per particle), for the exact marginal velocity of a Gaussian mixture or
// of a dataset, and for a network of Linear layers.
//
// Path (affine): x_t = alpha_t x1 + sigma_t x0, x0 ~ N(0, I), x1 ~ sum_k pi_k N(mu_k, Sigma_k).
// Then p_t = sum_k pi_k N(alpha mu_k, S_k) with S_k = alpha^2 Sigma_k + sigma^2 I, and
//
//     u_t(x) = sum_k w_k u_k,   u_k = alpha' mu_k + B_k (x - alpha mu_k),
//     B_k = (alpha alpha' Sigma_k + sigma sigma' I) S_k^-1,   w_k = pi_k N(x; alpha mu_k, S_k) / p_t(x),
//     div u_t(x) = sum_k w_k [tr B_k + (u_k - u) . (g_k - g)],   g_k = -S_k^-1 (x - alpha mu_k), g = sum_k w_k g_k
//
// (Lipman et al. 2023; "Flow Matching Guide and Code", arXiv 2412.06264); the linear path
// (alpha = t, sigma = 1 - t) gives B_k = (t Sigma_k - (1 - t) I) S_k^-1, finite at t = 1.
// Fixed steps: everything that depends on t alone (S_k's whitening factor, B_k, the
// log-normaliser) is computed once per stage time for all particles. dopri5: each lane has
// its own time, and the mixture is evaluated from the eigendecomposition of Sigma_k. Each
// particle's path depends only on its own start, so results never depend on the thread
// count or the batch.
#pragma once

#include <cstdint>
#include <vector>

namespace gensample::flow {

// The mixture p_1, float64: pi (k,), mu (k, d), Sigma (k, d, d) row-major.
//
// `empirical`: the components are data points (means, with weights) and every covariance
// is bandwidth^2 I (covariances unused; bandwidth 0: the points themselves). Then S_k =
// s^2 I for all k, the weights are a softmax of -|x - t x_k|^2 / (2 s^2) and
//     u = xbar + b (x - t xbar),   xbar = sum_k w_k x_k,   b = (t h^2 - (1 - t)) / s^2,
//     div u = d b + (1 - t b) (t / s^2) (sum_k w_k |x_k|^2 - |xbar|^2),
// attention over the data with a running maximum per tile: O(k d) per particle. At t = 1
// with bandwidth 0 the field is singular; there u = x and div u = 0 (the limit of a
// mixture, u_1(x) = E[x1 - x0 | x1 = x] = x).
// The probability path: linear (CondOT), cosine (alpha = sin(pi t / 2), sigma =
// cos(pi t / 2)) or variance preserving (alpha = exp(-T(1 - t) / 2), sigma^2 = 1 - alpha^2,
// T(s) = beta_min s + (beta_max - beta_min) s^2 / 2; Song et al. 2021, Lipman et al. 2023).
enum class PathKind : int { linear = 0, cosine = 1, vp = 2 };

struct Path {
    PathKind kind = PathKind::linear;
    double beta_min = 0.1, beta_max = 20.0;
};

// alpha_t, alpha'_t, sigma_t^2 and sigma_t sigma'_t (finite where sigma_t = 0).
struct Coefficients {
    double alpha, dalpha, sigma2, sigma_dsigma;
};
Coefficients coefficients(const Path& path, double t);

// `eigenvalues` (k, d) and `eigenvectors` (k, d, d; column j belongs to eigenvalue j) of
// Sigma_k are needed only by the adaptive solver.
struct MixtureField {
    const double* weights;
    const double* means;
    const double* covariances;
    int64_t k;
    int64_t dim;
    bool empirical = false;
    double bandwidth = 0;
    const double* eigenvalues = nullptr;
    const double* eigenvectors = nullptr;
};

enum class Solver : int { euler = 0, midpoint = 1, heun = 2, rk4 = 3 };

// Stages of a solver (field evaluations per step).
inline int stages(Solver s) {
    switch (s) {
        case Solver::euler: return 1;
        case Solver::midpoint:
        case Solver::heun: return 2;
        case Solver::rk4: return 4;
    }
    return 0;
}

// Euler-Maruyama for the SDE with the same marginals (solver must be euler):
//     dX = [u_t + (s_t^2 / 2) grad log p_t] dt + s_t dW,
//     grad log p_t(x) = (alpha u_t(x) - alpha' x) / (alpha' sigma^2 - alpha sigma sigma')
// (the linear path: (t u_t(x) - x) / (1 - t)),
// sigma (steps,) the diffusion s_t at each step's start; the noise of particle i at step s is
// row row0 + i of gs.random.normal(subkey(key, s), d), so a particle's path depends only
// on its row, never on the batch.
struct Noise {
    const double* sigma;
    uint64_t key;
    int64_t row0;
};

// A network: Linear layers, each followed by its ops in order; weight (out, in) row-major,
// bias (out,), in the particles' type T. As a velocity field its input is [x, t] (d + 1) and
// its output u (d); as a decoder (forward()) any widths.
enum class Activation : int {
    identity = 0,
    relu = 1,
    silu = 2,
    gelu = 3,
    tanh = 4,
    gelu_tanh = 5,
    leaky_relu = 6,
    sigmoid = 7,
    softplus = 8,
    elu = 9,
};

// One op after a layer's Linear map: an activation, elementwise, with its parameters (leaky_relu's
// negative slope, softplus's beta and threshold, elu's alpha); or, when gamma is set, a
// LayerNorm over the layer's outputs, (h - mean) / sqrt(var + eps) * gamma + beta, gamma and
// beta (out,).
template <class T>
struct Op {
    Activation activation = Activation::identity;
    T param = 0, param2 = 0;
    const T* gamma = nullptr;
    const T* beta = nullptr;
    T eps = 0;
};

template <class T>
struct Layer {
    const T* weight;
    const T* bias;
    int64_t in;
    int64_t out;
    std::vector<Op<T>> ops;
};

template <class T>
struct Network {
    std::vector<Layer<T>> layers;
    int64_t dim;
};

// What to integrate: a mixture field (net null) or a network; the path gives the mixture
// field's velocity and the SDE's score.
template <class T>
struct Field {
    MixtureField mixture{};
    const Network<T>* net = nullptr;
    Path path{};
};

// Integrates the n particles x (n, d), in place, over the time grid `grid` (steps + 1
// increasing or decreasing times in [0, 1]). When `log_det` is not null it accumulates,
// per particle, the integral of div u_t along the path (with the same solver weights), so
// that log p_t1(x_t1) = log p_t0(x_t0) - log_det. `snapshots` (n_snap, n, d), when not
// null, receives the state after the grid steps listed in `snap_steps` (ascending step
// indices in [0, steps]; 0 is the start).
// `noise`, when not null, makes each Euler step an Euler-Maruyama step of the SDE above.
template <class T>
void integrate(const Field<T>& field, Solver solver, const double* grid, int64_t steps, T* x, int64_t n,
               double* log_det, const int64_t* snap_steps, int64_t n_snap, T* snapshots, const Noise* noise,
               int n_threads);

// dopri5 (Dormand-Prince 5(4)) with error control per particle, as scipy's RK45 does for
// one trajectory: the same tableau, initial step (Hairer's rule, one extra evaluation),
// RMS error norm over the particle's coordinates with scale atol + rtol max(|y|, |y_new|),
// factor 0.9 err^(-1/5) within [0.2, 10] (at most 1 right after a rejection). Particles
// ride in lanes, each with its own time and step; a step never crosses the next stop, so
// the field is never evaluated outside [t0, t1] and the stops are hit exactly.
struct Tolerances {
    double rtol, atol;
    int64_t max_steps;  // attempts (accepted + rejected) per particle
};

enum class Status : uint8_t { finished = 0, max_steps = 1, step_underflow = 2, not_finite = 3 };

struct Stats {
    int64_t evaluations = 0, accepted = 0, rejected = 0;
};

// stops: t0 then n_stops times, monotone, ending at t1. x (n, d) ends at the last stop (or
// where a particle failed); `snapshots` (n_stops, n, d) when not null receives the states at
// the stops (left untouched after a failure); `log_det` as integrate(); `status` (n,) gets
// each particle's Status.
template <class T>
Stats integrate_adaptive(const Field<T>& field, const Tolerances& tol, const double* stops, int64_t n_stops, T* x,
                         int64_t n, double* log_det, T* snapshots, uint8_t* status, int n_threads);

// u_t(x) (n, d) and, when div is not null, div u_t(x) (n,), at one time t.
template <class T>
void velocity(const Field<T>& field, double t, const T* x, int64_t n, T* u, double* div, int n_threads);

// The network's output (n, last layer's out) at its inputs z (n, first layer's in): a
// decoder's forward pass, row by row the same bits for any thread count.
template <class T>
void forward(const Network<T>& net, const T* z, int64_t n, T* out, int n_threads);

}  // namespace gensample::flow
