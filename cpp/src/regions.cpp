#include "gensample/regions.hpp"

#include "gensample/parallel.hpp"
#include "gensample/random.hpp"

namespace gensample {
namespace {

template <class T>
void sample_impl(uint64_t key, int64_t first, int64_t n, int64_t dim, const double* low, const double* width, T* out,
                 int n_threads) {
    parallel_for(n, rows_per_task(dim), n_threads, [&](int64_t r0, int64_t r1) {
        T* x = out + r0 * dim;
        uniform_rows(key, first + r0, first + r1, dim, x);  // u in place, then mapped while in cache
        for (int64_t i = r0; i < r1; ++i, x += dim) {
            for (int64_t j = 0; j < dim; ++j) x[j] = T(low[j] + width[j] * double(x[j]));
        }
    });
}

template <class T>
void contains_impl(const T* x, int64_t n, int64_t dim, const double* low, const double* high, uint8_t* inside,
                   int n_threads) {
    parallel_for(n, rows_per_task(dim), n_threads, [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0; i < r1; ++i) {
            const T* row = x + i * dim;
            bool in = true;
            for (int64_t j = 0; j < dim; ++j) {
                const double v = double(row[j]);
                in &= (v >= low[j]) & (v <= high[j]);
            }
            inside[i] = uint8_t(in);
        }
    });
}

}  // namespace

void box_sample(uint64_t key, int64_t first, int64_t n, int64_t dim, const double* low, const double* width,
                double* out, int n_threads) {
    sample_impl(key, first, n, dim, low, width, out, n_threads);
}

void box_sample(uint64_t key, int64_t first, int64_t n, int64_t dim, const double* low, const double* width, float* out,
                int n_threads) {
    sample_impl(key, first, n, dim, low, width, out, n_threads);
}

void box_contains(const double* x, int64_t n, int64_t dim, const double* low, const double* high, uint8_t* inside,
                  int n_threads) {
    contains_impl(x, n, dim, low, high, inside, n_threads);
}

void box_contains(const float* x, int64_t n, int64_t dim, const double* low, const double* high, uint8_t* inside,
                  int n_threads) {
    contains_impl(x, n, dim, low, high, inside, n_threads);
}

}  // namespace gensample
