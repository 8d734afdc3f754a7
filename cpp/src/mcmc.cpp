// Markov chains (mcmc.hpp): the three phases of a step, per chain, and the driver.
#include "gensample/mcmc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/philox_tile.hpp"
#include "gensample/random.hpp"

namespace gensample::mcmc {
namespace {

// Dual averaging (Hoffman and Gelman 2014, section 3.2), with Stan's constants.
constexpr double kGamma = 0.05, kT0 = 10, kKappa = 0.75;
// An energy error above this is a divergence (Stan's threshold).
constexpr double kDivergence = 1000;

// The step's normals z (count, dim) and uniforms u (count,) of chains [c0, c0 + count):
// blocks (c, step, j) as mcmc.hpp lays them out, a Philox tile at a time. Box-Muller runs
// on every block of a tile in one branch-free loop (vectorised in each clone; the uniform's
// block gets a transform it does not use), then the values go to their places.
GENSAMPLE_DISPATCH
void draw_step(uint64_t key, int64_t step, int64_t c0, int64_t count, int64_t dim, double* z, double* u) {
    const int64_t slots = (dim + 1) / 2 + 1;
    const int64_t n_blocks = count * slots;
    const PhiloxTileFn philox = philox_tile();
    const Key k(key);
    PhiloxLanes ctr{}, words;
    alignas(64) double cos_branch[kPhiloxTile], sin_branch[kPhiloxTile], uniform[kPhiloxTile];
    int64_t fill_a = 0, fill_j = 0, use_a = 0, use_j = 0;  // chain and slot of the next block (no division)
    for (int64_t q = 0; q < n_blocks; q += kPhiloxTile) {
        const int m = int(std::min<int64_t>(kPhiloxTile, n_blocks - q));
        for (int b = 0; b < m; ++b) {
            const uint64_t c = uint64_t(c0 + fill_a);
            ctr.x0[b] = c & 0xFFFFFFFFu;
            ctr.x1[b] = c >> 32;
            ctr.x2[b] = uint64_t(uint32_t(step));
            ctr.x3[b] = uint64_t(fill_j);
            if (++fill_j == slots) fill_j = 0, ++fill_a;
        }
        philox(k.k0, k.k1, ctr, words);
        for (int b = 0; b < kPhiloxTile; ++b) {
            const uint64_t w0 = (words.x0[b] & 0xFFFFFFFFu) | (words.x1[b] << 32);
            const uint64_t w1 = (words.x2[b] & 0xFFFFFFFFu) | (words.x3[b] << 32);
            box_muller(w0, w1, cos_branch[b], sin_branch[b]);
            uniform[b] = u01_from_u64(w0);
        }
        for (int b = 0; b < m; ++b) {
            const int64_t a = use_a, j = use_j;
            if (++use_j == slots) use_j = 0, ++use_a;
            if (j == slots - 1) {
                u[a] = uniform[b];
                continue;
            }
            z[a * dim + 2 * j] = cos_branch[b];
            if (2 * j + 1 < dim) z[a * dim + 2 * j + 1] = sin_branch[b];
        }
    }
}

// Per-thread scratch for the normals of a range of chains.
std::vector<double>& scratch(size_t size) {
    thread_local std::vector<double> buffer;
    if (buffer.size() < size) buffer.resize(size);
    return buffer;
}

template <class T>
void check(const Settings& s, const Chains<T>& ch) {
    if (ch.n < 0 || ch.dim < 1) throw std::invalid_argument("mcmc: no chains");
    if (s.method == Method::hmc && s.n_leapfrog < 1) throw std::invalid_argument("mcmc: n_leapfrog must be >= 1");
    if (s.thin < 1) throw std::invalid_argument("mcmc: thin must be >= 1");
    if (s.warmup > 0 && (s.adapt == nullptr || s.da_iter == nullptr))
        throw std::invalid_argument("mcmc: warm-up needs its schedule");
}

// Chains per task: each task takes its chains through every step of the call, so a block
// of chains stays in cache; small enough that two threads share even 100 chains.
int64_t grain(int64_t n, int64_t dim) {
    const int64_t by_size = std::max<int64_t>(8, 4096 / dim);
    return std::clamp<int64_t>((n + 15) / 16, 8, by_size);
}

}  // namespace

template <class T>
void begin(const Settings& s, const Chains<T>& ch, uint64_t key, int64_t step, int64_t c0, int64_t c1) {
    const int64_t d = ch.dim, count = c1 - c0;
    std::vector<double>& z = scratch(size_t(count * d));
    draw_step(key, step, c0, count, d, z.data(), ch.uniform + c0);
    for (int64_t c = c0; c < c1; ++c) {
        const double* zd = z.data() + (c - c0) * d;
        T* zc = ch.momentum + c * d;  // the normals in T (float32 chains round them)
        for (int64_t i = 0; i < d; ++i) zc[i] = T(zd[i]);
        const T* x = ch.x + c * d;
        const T* g = ch.grad + c * d;
        T* xn = ch.x_new + c * d;
        const T eps = ch.step[c];
        double kinetic = 0;
        if (s.method == Method::hmc) {
            T* p = ch.momentum + c * d;
            const T* im = ch.inv_mass + c * d;
            const T half = eps / T(2);
            for (int64_t i = 0; i < d; ++i) {
                p[i] = zc[i] / std::sqrt(im[i]);
                kinetic += double(p[i]) * double(p[i]) * double(im[i]);
                p[i] += half * g[i];
                xn[i] = x[i] + eps * (im[i] * p[i]);
            }
            ch.energy[c] = kinetic / 2 - double(ch.logp[c]);
        } else {
            const T scale = std::sqrt(T(2) * eps);
            for (int64_t i = 0; i < d; ++i) {
                xn[i] = (x[i] + eps * g[i]) + scale * zc[i];
                kinetic += double(zc[i]) * double(zc[i]);
            }
            ch.energy[c] = kinetic / 2;  // -log q(x_new | x) up to its constant
        }
    }
}

template <class T>
void leapfrog(const Settings& s, const Chains<T>& ch, int64_t c0, int64_t c1) {
    (void)s;
    const int64_t d = ch.dim;
    for (int64_t c = c0; c < c1; ++c) {
        T* p = ch.momentum + c * d;
        T* xn = ch.x_new + c * d;
        const T* g = ch.grad_new + c * d;
        const T* im = ch.inv_mass + c * d;
        const T eps = ch.step[c];
        for (int64_t i = 0; i < d; ++i) {
            p[i] += eps * g[i];
            xn[i] += eps * (im[i] * p[i]);
        }
    }
}

template <class T>
void finish(const Settings& s, const Chains<T>& ch, const Draws<T>& out, int64_t step, int64_t c0, int64_t c1) {
    const int64_t d = ch.dim;
    const bool warm = step < s.warmup;
    const uint8_t flags = warm ? s.adapt[step] : 0;
    const int64_t after = step - s.warmup + 1;
    const bool kept = !warm && after % s.thin == 0;
    const int64_t slot = after / s.thin - 1;
    for (int64_t c = c0; c < c1; ++c) {
        const T* x = ch.x + c * d;
        const T* xn = ch.x_new + c * d;
        const T* gn = ch.grad_new + c * d;
        const T eps = ch.step[c];
        double log_alpha;
        if (s.method == Method::hmc) {
            T* p = ch.momentum + c * d;
            const T* im = ch.inv_mass + c * d;
            const T half = eps / T(2);
            double kinetic = 0;
            for (int64_t i = 0; i < d; ++i) {
                p[i] += half * gn[i];
                kinetic += double(p[i]) * double(p[i]) * double(im[i]);
            }
            log_alpha = ch.energy[c] - (kinetic / 2 - double(ch.logp_new[c]));
        } else if (s.method == Method::mala) {
            double reverse = 0;  // |x - x_new - eps grad_new|^2
            for (int64_t i = 0; i < d; ++i) {
                const double r = double((x[i] - xn[i]) - eps * gn[i]);
                reverse += r * r;
            }
            log_alpha = (double(ch.logp_new[c]) - double(ch.logp[c])) + (ch.energy[c] - reverse / (4 * double(eps)));
        } else {
            log_alpha = 0;
        }
        // NaN (an infinite or undefined energy) rejects; so does log(u) = -inf never
        // accepting a NaN.
        const bool accept = std::log(ch.uniform[c]) < log_alpha;
        const double alpha = log_alpha >= 0 ? 1.0 : (log_alpha < 0 ? std::exp(log_alpha) : 0.0);
        if (accept) {
            std::copy(xn, xn + d, ch.x + c * d);
            std::copy(gn, gn + d, ch.grad + c * d);
            ch.logp[c] = ch.logp_new[c];
        }
        if (warm) {
            if (flags & kAdaptStep) {
                const double t = double(s.da_iter[step]);
                const double eta = 1 / (t + kT0);
                ch.h_bar[c] = (1 - eta) * ch.h_bar[c] + eta * (s.target_accept - alpha);
                ch.log_step[c] = ch.mu[c] - std::sqrt(t) / kGamma * ch.h_bar[c];
                const double w = std::pow(t, -kKappa);
                ch.log_step_bar[c] = w * ch.log_step[c] + (1 - w) * ch.log_step_bar[c];
                ch.step[c] = T(std::exp(ch.log_step[c]));
            }
            if (flags & kCollectMass) {  // Welford
                const double k = double(++ch.mass_count[c]);
                double* mean = ch.mass_mean + c * d;
                double* m2 = ch.mass_m2 + c * d;
                for (int64_t i = 0; i < d; ++i) {
                    const double v = double(ch.x[c * d + i]);
                    const double delta = v - mean[i];
                    mean[i] += delta / k;
                    m2[i] += delta * (v - mean[i]);
                }
            }
            if (flags & kUpdateMass) {  // Stan's regularised variance, then restart
                const double k = double(ch.mass_count[c]);
                double* mean = ch.mass_mean + c * d;
                double* m2 = ch.mass_m2 + c * d;
                for (int64_t i = 0; i < d; ++i) {
                    const double var = k > 1 ? m2[i] / (k - 1) : 1.0;
                    ch.inv_mass[c * d + i] = T((k / (k + 5)) * var + 1e-3 * (5 / (k + 5)));
                    mean[i] = 0, m2[i] = 0;
                }
                ch.mass_count[c] = 0;
                ch.mu[c] = std::log(10 * double(ch.step[c]));
                ch.h_bar[c] = 0;
                ch.log_step_bar[c] = 0;
            }
            if (flags & kFinalStep) ch.step[c] = T(std::exp(ch.log_step_bar[c]));
        } else {
            ch.accept_sum[c] += alpha;
            if (s.method != Method::ula && !(log_alpha > -kDivergence)) ++ch.divergent[c];
            if (s.method == Method::ula && !std::isfinite(double(ch.logp[c]))) ++ch.divergent[c];
        }
        if (kept) {
            if (out.x) std::copy(ch.x + c * d, ch.x + (c + 1) * d, out.x + (c * s.n_kept + slot) * d);
            if (out.logp) out.logp[c * s.n_kept + slot] = ch.logp[c];
        }
    }
}

template <class T>
void run(const Settings& s, const Chains<T>& ch, const Draws<T>& out, const Target<T>& target, uint64_t key,
         int64_t step0, int64_t step1, int n_threads) {
    check(s, ch);
    const int64_t d = ch.dim;
    parallel_for(ch.n, grain(ch.n, d), n_threads, [&](int64_t c0, int64_t c1) {
        const int64_t m = c1 - c0;
        if (step0 == 0) target(ch.x + c0 * d, m, ch.logp + c0, ch.grad + c0 * d);
        for (int64_t step = step0; step < step1; ++step) {
            begin(s, ch, key, step, c0, c1);
            target(ch.x_new + c0 * d, m, ch.logp_new + c0, ch.grad_new + c0 * d);
            if (s.method == Method::hmc) {
                for (int l = 1; l < s.n_leapfrog; ++l) {
                    leapfrog(s, ch, c0, c1);
                    target(ch.x_new + c0 * d, m, ch.logp_new + c0, ch.grad_new + c0 * d);
                }
            }
            finish(s, ch, out, step, c0, c1);
            if (interrupt_requested_in_task()) return;  // parallel_for throws
        }
    });
}

template <class T>
void begin_all(const Settings& s, const Chains<T>& ch, uint64_t key, int64_t step, int n_threads) {
    check(s, ch);
    parallel_for(ch.n, grain(ch.n, ch.dim), n_threads,
                 [&](int64_t c0, int64_t c1) { begin(s, ch, key, step, c0, c1); });
}

template <class T>
void leapfrog_all(const Settings& s, const Chains<T>& ch, int n_threads) {
    check(s, ch);
    parallel_for(ch.n, grain(ch.n, ch.dim), n_threads, [&](int64_t c0, int64_t c1) { leapfrog(s, ch, c0, c1); });
}

template <class T>
void finish_all(const Settings& s, const Chains<T>& ch, const Draws<T>& out, int64_t step, int n_threads) {
    check(s, ch);
    parallel_for(ch.n, grain(ch.n, ch.dim), n_threads,
                 [&](int64_t c0, int64_t c1) { finish(s, ch, out, step, c0, c1); });
}

double normal_quantile(double p) {
    if (!(p > 0 && p < 1)) {
        if (p == 0) return -std::numeric_limits<double>::infinity();
        if (p == 1) return std::numeric_limits<double>::infinity();
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double q = p < 0.5 ? p : 1 - p;  // exact for p >= 0.5 (Sterbenz)
    const double t = std::sqrt(-2 * std::log(q));
    double z = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
    constexpr double kSqrt2Pi = 2.5066282746310002, kInvSqrt2 = 0.70710678118654752;
    const bool centre = q > 0.25;  // there q - 1/2 is exact, and erf keeps Phi's small change
    for (int i = 0; i < 3; ++i) {  // Halley on Phi(z) - q, Phi(z) = erfc(-z / sqrt 2) / 2
        const double e = centre ? std::erf(z * kInvSqrt2) / 2 - (q - 0.5) : std::erfc(-z * kInvSqrt2) / 2 - q;
        const double u = e * kSqrt2Pi * std::exp(z * z / 2);
        z -= u / (1 + z * u / 2);
    }
    return p < 0.5 ? z : -z;
}

#define GENSAMPLE_MCMC(T)                                                                                         \
    template void run<T>(const Settings&, const Chains<T>&, const Draws<T>&, const Target<T>&, uint64_t, int64_t, \
                         int64_t, int);                                                                           \
    template void begin_all<T>(const Settings&, const Chains<T>&, uint64_t, int64_t, int);                        \
    template void leapfrog_all<T>(const Settings&, const Chains<T>&, int);                                        \
    template void finish_all<T>(const Settings&, const Chains<T>&, const Draws<T>&, int64_t, int);
GENSAMPLE_MCMC(double)
GENSAMPLE_MCMC(float)
#undef GENSAMPLE_MCMC

}  // namespace gensample::mcmc
