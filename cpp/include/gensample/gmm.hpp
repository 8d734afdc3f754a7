// Gaussian mixtures: fused log-densities, responsibilities, scores, EM statistics, the
// k-means initialisation and the sampler.
//
// Component k has weight w_k, mean mu_k and covariance S_k = L_k L_k^T. The engine reads
// the whitening factor A_k = L_k^-1 (lower triangular, A_k^T A_k = S_k^-1), so that
//
//     log w_k N(x; mu_k, S_k) = c_k - |A_k (x - mu_k)|^2 / 2,
//     c_k = log w_k - log|L_k| - (d / 2) log(2 pi).
//
// Points travel in lanes (8 doubles, 16 floats: simd.hpp): a block of points meets every
// component with the component's parameters broadcast, and the log-sum-exp over the
// components is a per-lane maximum and sum, in registers. Every point is computed on its
// own, in a fixed order, so results never depend on the thread count; the EM sums go
// through chunks whose size depends only on n and are added in chunk order.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace gensample::gmm {

// factor: packed lower rows of A_k, (k, d (d + 1) / 2) (row j starts at j (j + 1) / 2),
// or only the diagonals, (k, d), when `diagonal` (covariances "diag" and "spherical").
//
// Coordinates are taken about a centre m (the mixture's mean, say): points enter as x - m,
// and y = A_k (x - m) - b_k with b_k = A_k (mu_k - m), so the inner loop is pure
// multiply-adds on the point's own coordinates, and the shift is as small as the spread of
// the components, not their distance from the origin.
template <class T>
struct Mixture {
    const T* centre;    // (dim,): m
    const T* mean;      // (k, dim): mu_k - m
    const T* offset;    // (k, dim): b_k
    const T* factor;    // see above
    const T* log_coef;  // (k,): c_k
    int64_t k;
    int64_t dim;
    bool diagonal;
};

// log p(x_j) for m points x (m, dim), into out (m,).
void log_density(const Mixture<double>& g, const double* x, int64_t m, double* out, int n_threads);
void log_density(const Mixture<float>& g, const float* x, int64_t m, float* out, int n_threads);

// log p(k | x_j) into log_resp (m, k), and log p(x_j) into out (m,).
void log_responsibilities(const Mixture<double>& g, const double* x, int64_t m, double* log_resp, double* out,
                          int n_threads);
void log_responsibilities(const Mixture<float>& g, const float* x, int64_t m, float* log_resp, float* out,
                          int n_threads);

// p(k | x_j) into resp (m, k), from the log-sum's own exps (no second exp), and log p(x_j)
// into out (m,).
void responsibilities(const Mixture<double>& g, const double* x, int64_t m, double* resp, double* out, int n_threads);
void responsibilities(const Mixture<float>& g, const float* x, int64_t m, float* resp, float* out, int n_threads);

// The score grad_x log p(x_j) = -sum_k p(k | x_j) A_k^T A_k (x_j - mu_k), into out (m, dim).
void grad_log_density(const Mixture<double>& g, const double* x, int64_t m, double* out, int n_threads);
void grad_log_density(const Mixture<float>& g, const float* x, int64_t m, float* out, int n_threads);

// log p(x_j) into logp (m,) and the score into grad (m, dim) on the calling thread, for a
// caller that runs its own tasks (the Markov chains of mcmc.cpp): the same values as
// log_density and grad_log_density, with the factors' row blocks built once.
template <class T>
class Scorer {
  public:
    explicit Scorer(const Mixture<T>& g);
    void operator()(const T* x, int64_t m, T* logp, T* grad) const;

  private:
    Mixture<T> g_;
    std::shared_ptr<const void> blocks_;
};
extern template class Scorer<double>;
extern template class Scorer<float>;

// One fused E-step pass: with r_nk = p(k | x_n) and sample weights v_n,
//   weight[k]                   = sum_n v_n r_nk
//   first[k, i]                 = sum_n v_n r_nk (x_ni - mu_ki)     (mu_k itself, not centred)
//   second[k, i, j] (j <= i)    = sum_n v_n r_nk (x_ni - mu_ki) (x_nj - mu_kj)  (packed rows,
//                                 k * d (d + 1) / 2), or its diagonal only (k * d) when !full
//   log_likelihood              = sum_n v_n log p(x_n)
// Sums are taken about the current means: the M-step's new mean is mu + first / weight and
// its covariance second / weight - (first / weight)^2, without cancellation near the fixed
// point.
struct Moments {
    std::vector<double> weight, first, second;
    double log_likelihood = 0;
};
Moments em_moments(const Mixture<double>& g, const double* x, const double* v, int64_t n, bool full, int n_threads);

// Points per chunk of the EM sums (a function of n only, so of no thread count).
int64_t em_chunk(int64_t n);

// Greedy k-means++ seeding (Arthur & Vassilvitskii 2007 with `trials` candidates per step,
// as scikit-learn): the indices of k seeds among the n points with weights v (v_n > 0 for
// at least k distinct points; the caller checks). Step s reads row s of
// gs.random.uniform(key, (k, trials)): u[0, 0] picks the first seed with probability
// proportional to v; u[s, t] the t-th candidate of step s proportional to v D^2, the
// weighted squared distance to the nearest seed so far (the first index whose running sum
// exceeds u * total). The candidate that leaves the smallest total v D^2 wins (the first
// on ties). Running sums go left to right.
std::vector<int64_t> kmeans_plusplus(const double* x, const double* v, int64_t n, int64_t dim, int64_t k, int trials,
                                     uint64_t key, int n_threads);

// One Lloyd step: labels[n] = the nearest centre (the first on ties); per centre the
// weight and the weighted coordinate sums (k, dim); returns the weighted inertia.
double lloyd_step(const double* x, const double* v, int64_t n, int64_t dim, const double* centres, int64_t k,
                  int64_t* labels, double* weight, double* sums, int n_threads);

// Sampler: chol (k, dim, dim) holds each L_k (lower, row-major); prob and alias are
// Vose's table over the weights. Row `row` of the sample with stream `key` is
//     x = mu_c + L_c z,
// c the alias pick from block (row, 0, 0) of `key` (as the KDE and region samplers) and
// z row `row` of gs.random.normal(subkey(key, 1), dim). labels (count,), when not null,
// receives each row's c.
struct SampleModel {
    const double* mean;
    const double* chol;
    int64_t k;
    int64_t dim;
    const double* prob;
    const uint32_t* alias;
};
void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, double* out, int64_t* labels,
            int n_threads);
void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, float* out, int64_t* labels,
            int n_threads);

}  // namespace gensample::gmm
