// Markov chains driven by a score: unadjusted Langevin (ULA), Metropolis-adjusted Langevin
// (MALA) and Hamiltonian Monte Carlo (HMC, a fixed number of leapfrog steps).
//
// Chains never meet: every operation is per chain, so chain c's path is a pure function of
// (key, c) whatever the number of chains, the thread count or the grouping of chains into
// tasks. Step s of chain c reads only the Philox blocks with counter (c, s, j):
//   j = 0 .. S - 1, S = ceil(dim / 2): the step's standard normals, Box-Muller on the two
//       64-bit words of block j giving coordinates 2j (cosine) and 2j + 1 (sine), as
//       random.hpp's normal rows (float32 chains round them);
//   j = S: the accept/reject uniform, a 53-bit u in [0, 1) from words (0, 1).
// Steps count from 0 through warm-up and then sampling.
//
// A step is three phases over a range of chains, with the target evaluated at x_new in
// between: begin (the proposal, or the momentum and the first leapfrog step), leapfrog
// (HMC's steps 2 .. L), finish (accept or reject, adapt the step size, store the draw).
// The C++ driver `run` composes them for closed-form targets, a block of chains through all
// its steps in cache; a Python target is driven by calling the phases over all chains, so
// both give the same chains from the same target values.
#pragma once

#include <cstdint>
#include <functional>

namespace gensample::mcmc {

enum class Method { ula, mala, hmc };

// Per-step adaptation flags (Stan's windowed warm-up, drawn up by the caller).
enum Adapt : uint8_t {
    kAdaptStep = 1,    // dual averaging of the step size toward target_accept
    kCollectMass = 2,  // add the new state to the chain's variance estimate
    kUpdateMass = 4,   // after this step: inverse mass = the estimate; restart dual averaging
    kFinalStep = 8,    // after this step: the step size becomes the dual average
};

struct Settings {
    Method method = Method::mala;
    int n_leapfrog = 1;
    int64_t warmup = 0;                // steps [0, warmup) are warm-up, the rest are kept (thinned)
    int64_t thin = 1;                  // sampling step s is kept when (s - warmup + 1) % thin == 0
    int64_t n_kept = 0;                // kept draws per chain (the output's second axis)
    double target_accept = 0.5;        // dual averaging's delta
    const uint8_t* adapt = nullptr;    // (warmup,) Adapt flags
    const int32_t* da_iter = nullptr;  // (warmup,) dual averaging's t (1, 2, ..., restarted)
};

// The state of n chains in arrays the caller owns, so that a run can go on in segments.
// Energies and adaptation in float64, positions in T.
template <class T>
struct Chains {
    int64_t n = 0, dim = 0;
    T* x;                  // (n, dim) the current state
    T* grad;               // (n, dim) its score
    T* logp;               // (n,) its log-density
    T* x_new;              // (n, dim) the proposal
    T* grad_new;           // (n, dim)
    T* logp_new;           // (n,)
    T* momentum;           // (n, dim) HMC's momentum
    T* inv_mass;           // (n, dim) HMC's diagonal inverse mass matrix
    T* step;               // (n,) the step size in use
    double* uniform;       // (n,) this step's accept/reject uniform (drawn by begin)
    double* energy;        // (n,) the proposal's log-density correction (see finish)
    double* log_step;      // (n,) dual averaging: log step of this iteration
    double* log_step_bar;  // (n,) its weighted average
    double* h_bar;         // (n,) the average acceptance deficit
    double* mu;            // (n,) log(10 step) at the last restart
    double* mass_mean;     // (n, dim) Welford mean of the collected states
    double* mass_m2;       // (n, dim) Welford sum of squared deviations
    int64_t* mass_count;   // (n,)
    double* accept_sum;    // (n,) sum of acceptance probabilities over sampling steps
    int64_t* divergent;    // (n,) sampling steps whose energy error was not finite or > 1000
};

// Kept draws: (n, n_kept, dim) and (n, n_kept), either may be null.
template <class T>
struct Draws {
    T* x = nullptr;
    T* logp = nullptr;
};

template <class T>
void begin(const Settings& s, const Chains<T>& ch, uint64_t key, int64_t step, int64_t c0, int64_t c1);
template <class T>
void leapfrog(const Settings& s, const Chains<T>& ch, int64_t c0, int64_t c1);
template <class T>
void finish(const Settings& s, const Chains<T>& ch, const Draws<T>& out, int64_t step, int64_t c0, int64_t c1);

// log p and the score of m points (m, dim), into logp (m,) and grad (m, dim), on the
// calling thread.
template <class T>
using Target = std::function<void(const T* x, int64_t m, T* logp, T* grad)>;

// Steps [step0, step1) of every chain, chains in tasks across n_threads. With step0 == 0
// the target is first evaluated at x.
template <class T>
void run(const Settings& s, const Chains<T>& ch, const Draws<T>& out, const Target<T>& target, uint64_t key,
         int64_t step0, int64_t step1, int n_threads);

// The same three phases over all chains, for a target evaluated by the caller.
template <class T>
void begin_all(const Settings& s, const Chains<T>& ch, uint64_t key, int64_t step, int n_threads);
template <class T>
void leapfrog_all(const Settings& s, const Chains<T>& ch, int n_threads);
template <class T>
void finish_all(const Settings& s, const Chains<T>& ch, const Draws<T>& out, int64_t step, int n_threads);

// The standard normal quantile Phi^-1(p) (the diagnostics' normal scores): a rational
// start (Abramowitz and Stegun 26.2.23, error below 4.5e-4) refined by three Halley steps
// on erfc, so within a few ulps of scipy.special.ndtri; -inf at 0, inf at 1, NaN outside.
double normal_quantile(double p);

}  // namespace gensample::mcmc
