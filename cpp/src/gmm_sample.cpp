// The Gaussian mixture sampler (gmm.hpp): a component picked by weight, then mu + L z.
#include <stdexcept>
#include <vector>

#include "gensample/draws.hpp"
#include "gensample/gmm.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/random.hpp"

namespace gensample::gmm {
namespace {

template <class T>
void sample_impl(const SampleModel& md, uint64_t key, int64_t r0, int64_t count, T* out, int64_t* labels,
                 int n_threads) {
    if (md.k < 1 || md.dim < 1) throw std::invalid_argument("gmm: no components");
    const int64_t dim = md.dim;
    const uint64_t noise_key = subkey(key, 1);
    const Key pick_key(key);
    const uint64_t k = uint64_t(md.k);
    parallel_for(count, 512, n_threads, [&](int64_t a, int64_t b) {
        const int64_t rows = b - a;
        std::vector<double> z(static_cast<size_t>(rows * dim));
        std::vector<uint32_t> pick(static_cast<size_t>(rows));
        normal_rows(noise_key, r0 + a, r0 + b, dim, z.data());
        for_each_draw(pick_key, nullptr, r0 + a, rows, 1, 0, [&](int64_t j, uint64_t row, const uint64_t* w) {
            pick[size_t(j)] = alias_pick(md.prob, md.alias, k, w[0], w[1], pick_key, row);
        });
        for (int64_t j = 0; j < rows; ++j) {
            const int64_t c = int64_t(pick[size_t(j)]);
            if (labels) labels[a + j] = c;
            const double* mu = md.mean + c * dim;
            const double* L = md.chol + c * dim * dim;
            const double* zj = z.data() + j * dim;
            T* o = out + (a + j) * dim;
            for (int64_t i = 0; i < dim; ++i) {  // mu + L z, L lower triangular, terms in order
                double s = 0;
                for (int64_t l = 0; l <= i; ++l) s += L[i * dim + l] * zj[l];
                o[i] = T(mu[i] + s);
            }
        }
    });
}

}  // namespace

void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, double* out, int64_t* labels,
            int n_threads) {
    sample_impl(model, key, r0, count, out, labels, n_threads);
}

void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, float* out, int64_t* labels,
            int n_threads) {
    sample_impl(model, key, r0, count, out, labels, n_threads);
}

}  // namespace gensample::gmm
