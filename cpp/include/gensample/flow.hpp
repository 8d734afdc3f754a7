// Flows: fixed-step ODE solvers that carry particles along dx/dt = u_t(x), with the exact
// marginal velocity of a Gaussian mixture on the linear (CondOT) path.
//
// Path: x_t = t x1 + (1 - t) x0, x0 ~ N(0, I), x1 ~ sum_k pi_k N(mu_k, Sigma_k). Then
// p_t = sum_k pi_k N(t mu_k, S_k) with S_k = t^2 Sigma_k + (1 - t)^2 I, and
//
//     u_t(x) = sum_k w_k u_k,   u_k = mu_k + B_k (x - t mu_k),   B_k = (t Sigma_k - (1 - t) I) S_k^-1,
//     w_k = pi_k N(x; t mu_k, S_k) / p_t(x),
//     div u_t(x) = sum_k w_k [tr B_k + (u_k - u) . (g_k - g)],   g_k = -S_k^-1 (x - t mu_k), g = sum_k w_k g_k
//
// (Lipman et al. 2023; "Flow Matching Guide and Code", arXiv 2412.06264), finite at t = 1.
// Everything that depends on t alone (S_k's whitening factor, B_k, the log-normaliser) is
// computed once per stage time for all particles; particles ride in SIMD lanes and each
// one's path depends only on its own start, so results never depend on the thread count
// or the batch.
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
struct MixtureField {
    const double* weights;
    const double* means;
    const double* covariances;
    int64_t k;
    int64_t dim;
    bool empirical = false;
    double bandwidth = 0;
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
//     dX = [u_t + (sigma_t^2 / 2) grad log p_t] dt + sigma_t dW,   grad log p_t(x) = (t u_t(x) - x) / (1 - t),
// sigma (steps,) the diffusion at each step's start; the noise of particle i at step s is
// row row0 + i of gs.random.normal(subkey(key, s), d), so a particle's path depends only
// on its row, never on the batch.
struct Noise {
    const double* sigma;
    uint64_t key;
    int64_t row0;
};

// Integrates the n particles x (n, d), in place, over the time grid `grid` (steps + 1
// increasing or decreasing times in [0, 1]). When `log_det` is not null it accumulates,
// per particle, the integral of div u_t along the path (with the same solver weights), so
// that log p_t1(x_t1) = log p_t0(x_t0) - log_det. `snapshots` (n_snap, n, d), when not
// null, receives the state after the grid steps listed in `snap_steps` (ascending step
// indices in [0, steps]; 0 is the start).
// `noise`, when not null, makes each Euler step an Euler-Maruyama step of the SDE above.
template <class T>
void integrate(const MixtureField& field, Solver solver, const double* grid, int64_t steps, T* x, int64_t n,
               double* log_det, const int64_t* snap_steps, int64_t n_snap, T* snapshots, const Noise* noise,
               int n_threads);

// u_t(x) (n, d) and, when div is not null, div u_t(x) (n,), at one time t.
template <class T>
void velocity(const MixtureField& field, double t, const T* x, int64_t n, T* u, double* div, int n_threads);

}  // namespace gensample::flow
