// The KDE samplers (kde.hpp): a data point picked by weight, plus the kernel's noise.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "gensample/draws.hpp"
#include "gensample/kde.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/random.hpp"

namespace gensample::kde {
namespace {

constexpr double kHalfPi = 1.57079632679489661923;

// The radius from one attempt's uniforms u; false when the cosine kernel rejects it.
bool radius_of(Kernel kernel, int64_t dim, const double* u, double& radius) {
    const double d = double(dim);
    switch (kernel) {
        case Kernel::gaussian: radius = 1.0; return true;
        case Kernel::tophat: radius = std::pow(u[0], 1.0 / d); return true;
        case Kernel::epanechnikov: radius = std::pow(u[0], 1.0 / d) * std::pow(u[1], 1.0 / (d + 2.0)); return true;
        case Kernel::linear: radius = std::pow(u[0], 1.0 / d) * std::pow(u[1], 1.0 / (d + 1.0)); return true;
        case Kernel::exponential: {
            double s = 0;
            for (int64_t k = 0; k < dim; ++k) s -= std::log(1.0 - u[k]);
            radius = s;
            return true;
        }
        case Kernel::cosine: {
            radius = std::pow(u[0], 1.0 / d) * std::pow(u[1], 1.0 / (d + 1.0));
            return u[2] * (kHalfPi * (1.0 - radius)) < std::sin(kHalfPi * (1.0 - radius));
        }
    }
    throw std::invalid_argument("kde: unknown kernel");
}

constexpr int kMaxAttempts = 1000;  // the cosine kernel accepts with probability >= 2/pi

template <class T>
void sample_impl(const SampleModel& md, uint64_t key, int64_t r0, int64_t count, T* out, int n_threads) {
    if (md.n < 1 || md.dim < 1) throw std::invalid_argument("kde: no data");
    const int64_t dim = md.dim;
    const int ku = radius_uniforms(md.kernel, dim);
    const uint64_t noise_key = subkey(key, 1);
    const Key pick_key(key);
    const uint64_t n = uint64_t(md.n);
    bool diagonal = true;
    for (int64_t i = 0; i < dim; ++i) {
        for (int64_t j = 0; j < i; ++j) diagonal &= md.chol[i * dim + j] == 0.0;
    }
    parallel_for(count, 512, n_threads, [&](int64_t a, int64_t b) {
        const int64_t rows = b - a;
        std::vector<double> v(static_cast<size_t>(rows * dim)), u(static_cast<size_t>(rows * ku));
        std::vector<double> retry(static_cast<size_t>(ku));
        std::vector<uint32_t> pick(static_cast<size_t>(rows));
        normal_rows(noise_key, r0 + a, r0 + b, dim, v.data());
        if (ku > 0) uniform_rows(subkey(key, 2), r0 + a, r0 + b, ku, u.data());
        for_each_draw(
            pick_key, nullptr, r0 + a, rows, 1, 0,
            [&](const uint64_t* w) {
                uint64_t c, lo;
                mul_64x64(w[0], n, c, lo);
                GENSAMPLE_PREFETCH(md.prob + c);
                GENSAMPLE_PREFETCH(md.alias + c);
            },
            [&](int64_t k, uint64_t row, const uint64_t* w) {
                pick[size_t(k)] = alias_pick(md.prob, md.alias, n, w[0], w[1], pick_key, row);
            });
        for (int64_t k = 0; k < rows; ++k) {
            double* vk = v.data() + k * dim;
            if (md.kernel != Kernel::gaussian) {
                const int64_t row = r0 + a + k;
                const double* uk = u.data() + k * ku;
                double radius = 0;
                for (int attempt = 0; !radius_of(md.kernel, dim, uk, radius); uk = retry.data()) {
                    if (++attempt == kMaxAttempts) throw std::logic_error("kde: cosine radius rejected too often");
                    uniform_rows(subkey(key, 2 + uint64_t(attempt)), row, row + 1, ku, retry.data());
                }
                double norm2 = 0;
                for (int64_t j = 0; j < dim; ++j) norm2 += vk[j] * vk[j];
                if (norm2 > 0) {
                    const double scale = radius / std::sqrt(norm2);
                    for (int64_t j = 0; j < dim; ++j) vk[j] *= scale;
                } else {  // a zero normal vector (probability ~2^-53 in 1-D): direction e_0
                    vk[0] = radius;
                }
            }
            const double* x = md.points + int64_t(pick[size_t(k)]) * dim;
            T* o = out + (a + k) * dim;
            if (diagonal) {  // the same bits as the full product: the other terms add +0
                for (int64_t i = 0; i < dim; ++i) o[i] = T(x[i] + md.chol[i * dim + i] * vk[i]);
                continue;
            }
            for (int64_t i = 0; i < dim; ++i) {  // x + L v, L lower triangular
                double s = 0;
                for (int64_t j = 0; j <= i; ++j) s += md.chol[i * dim + j] * vk[j];
                o[i] = T(x[i] + s);
            }
        }
    });
}

}  // namespace

void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, double* out, int n_threads) {
    sample_impl(model, key, r0, count, out, n_threads);
}

void sample(const SampleModel& model, uint64_t key, int64_t r0, int64_t count, float* out, int n_threads) {
    sample_impl(model, key, r0, count, out, n_threads);
}

}  // namespace gensample::kde
