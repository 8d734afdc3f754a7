// The k-means initialisation of the mixtures (gmm.hpp): greedy k-means++ seeds and Lloyd
// steps. Compiled without fused multiply-adds (the global flags), so the seeds are the
// same bits as the NumPy twin's (reference/gmm.py) on every instruction set.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "gensample/gmm.hpp"
#include "gensample/parallel.hpp"
#include "gensample/random.hpp"

namespace gensample::gmm {
namespace {

// |a - b|^2, coordinates in order.
inline double distance2(const double* a, const double* b, int64_t dim) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) {
        const double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

// The first index whose running sum of mass exceeds u * total (sums left to right).
int64_t pick(const std::vector<double>& mass, double u) {
    double total = 0;
    for (double m : mass) total += m;
    if (!(total > 0)) throw std::invalid_argument("k-means++: fewer distinct points than components");
    const double target = u * total;
    double running = 0;
    for (size_t i = 0; i < mass.size(); ++i) {
        running += mass[i];
        if (running > target) return int64_t(i);
    }
    for (size_t i = mass.size(); i-- > 0;) {  // rounding: the last point with mass
        if (mass[i] > 0) return int64_t(i);
    }
    return 0;
}

constexpr int64_t kGrain = 4096;

}  // namespace

std::vector<int64_t> kmeans_plusplus(const double* x, const double* v, int64_t n, int64_t dim, int64_t k, int trials,
                                     uint64_t key, int n_threads) {
    if (n < 1 || dim < 1 || k < 1 || trials < 1) throw std::invalid_argument("k-means++: empty input");
    std::vector<double> u(static_cast<size_t>(k * trials));
    uniform_rows(key, 0, k, trials, u.data());
    std::vector<int64_t> seeds(static_cast<size_t>(k));
    std::vector<double> nearest(static_cast<size_t>(n)), mass(v, v + n), candidate(static_cast<size_t>(n)),
        best(static_cast<size_t>(n));
    seeds[0] = pick(mass, u[0]);
    parallel_for(n, kGrain, n_threads, [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) nearest[size_t(i)] = distance2(x + i * dim, x + seeds[0] * dim, dim);
    });
    for (int64_t s = 1; s < k; ++s) {
        for (int64_t i = 0; i < n; ++i) mass[size_t(i)] = v[i] * nearest[size_t(i)];
        double best_potential = std::numeric_limits<double>::infinity();
        for (int t = 0; t < trials; ++t) {
            const int64_t c = pick(mass, u[size_t(s * trials + t)]);
            parallel_for(n, kGrain, n_threads, [&](int64_t a, int64_t b) {
                for (int64_t i = a; i < b; ++i) {
                    candidate[size_t(i)] = std::min(nearest[size_t(i)], distance2(x + i * dim, x + c * dim, dim));
                }
            });
            double potential = 0;
            for (int64_t i = 0; i < n; ++i) potential += v[i] * candidate[size_t(i)];
            if (potential < best_potential) {
                best_potential = potential;
                seeds[size_t(s)] = c;
                best.swap(candidate);
            }
        }
        nearest.swap(best);
    }
    return seeds;
}

double lloyd_step(const double* x, const double* v, int64_t n, int64_t dim, const double* centres, int64_t k,
                  int64_t* labels, double* weight, double* sums, int n_threads) {
    const int64_t chunk = em_chunk(n), chunks = (n + chunk - 1) / chunk;
    const int64_t stride = k * (1 + dim) + 1;
    std::vector<double> partial(static_cast<size_t>(chunks * stride), 0.0);
    parallel_for(chunks, 1, n_threads, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            double* p = partial.data() + c * stride;
            for (int64_t i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i) {
                const double* xi = x + i * dim;
                int64_t label = 0;
                double d2 = distance2(xi, centres, dim);
                for (int64_t j = 1; j < k; ++j) {
                    const double dj = distance2(xi, centres + j * dim, dim);
                    if (dj < d2) d2 = dj, label = j;
                }
                labels[i] = label;
                p[label] += v[i];
                for (int64_t j = 0; j < dim; ++j) p[k + label * dim + j] += v[i] * xi[j];
                p[stride - 1] += v[i] * d2;
            }
        }
    });
    std::fill(weight, weight + k, 0.0);
    std::fill(sums, sums + k * dim, 0.0);
    double inertia = 0;
    for (int64_t c = 0; c < chunks; ++c) {
        const double* p = partial.data() + c * stride;
        for (int64_t j = 0; j < k; ++j) weight[j] += p[j];
        for (int64_t j = 0; j < k * dim; ++j) sums[j] += p[k + j];
        inertia += p[stride - 1];
    }
    return inertia;
}

}  // namespace gensample::gmm
