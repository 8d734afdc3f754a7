// The KDE engine (kde.hpp): tiled kernel sums, their gradients, and the exact samplers.
#include "gensample/kde.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "gensample/dispatch.hpp"
#include "gensample/draws.hpp"
#include "gensample/fastmath.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/random.hpp"

namespace gensample::kde {
namespace {

constexpr double kHalfPi = 1.57079632679489661923;
constexpr int64_t kQueries = 16;  // queries of a task: each tile is read once for all of them

// kLanes partial sums (and maxima) per reduction: wider than any vector, so the loops
// vectorise without reassociation, and the order of additions is fixed by the code: every
// instruction set and thread count gives the same bits.
template <class T>
struct Lanes;
template <>
struct Lanes<double> {
    static constexpr int kLanes = 8;
    static constexpr double kExpFloor = -708.0;  // exp of it is still a normal double
};
template <>
struct Lanes<float> {
    static constexpr int kLanes = 16;
    static constexpr float kExpFloor = -87.0f;
};

constexpr bool is_smooth(Kernel k) { return k == Kernel::gaussian || k == Kernel::exponential; }

template <class T>
GENSAMPLE_INLINE double lane_sum(const T* v) {
    constexpr int L = Lanes<T>::kLanes;
    T lanes[L] = {};
    for (int i = 0; i < kTile; i += L) {
        for (int l = 0; l < L; ++l) lanes[l] += v[i + l];
    }
    double s = 0;
    for (int l = 0; l < L; ++l) s += double(lanes[l]);
    return s;
}

template <class T>
GENSAMPLE_INLINE T lane_max(const T* v) {
    constexpr int L = Lanes<T>::kLanes;
    T lanes[L];
    for (int l = 0; l < L; ++l) lanes[l] = -std::numeric_limits<T>::infinity();
    for (int i = 0; i < kTile; i += L) {
        for (int l = 0; l < L; ++l) lanes[l] = v[i + l] > lanes[l] ? v[i + l] : lanes[l];
    }
    T m = lanes[0];
    for (int l = 1; l < L; ++l) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

// Squared distances from y to the kTile points of a tile, one coordinate at a time.
template <class T>
GENSAMPLE_INLINE void squared_distances(const T* tile, const T* y, int64_t dim, T* d2) {
    for (int i = 0; i < kTile; ++i) d2[i] = T(0);
    for (int64_t k = 0; k < dim; ++k) {
        const T yk = y[k];
        const T* zk = tile + k * kTile;
        for (int i = 0; i < kTile; ++i) {
            const T t = yk - zk[i];
            d2[i] += t * t;
        }
    }
}

// Running state of one query: log-sum-exp as (max, sum) for the smooth kernels, a plain
// sum for the compact ones; grad holds sum_i (term_i * coef_i) (z_i - y) at the same scale.
struct QueryState {
    double max = -std::numeric_limits<double>::infinity();
    double sum = 0;
};

// grad[k] += sum_i e[i] (z_ik - y_k) for one tile.
template <class T>
GENSAMPLE_INLINE void add_gradient(const T* tile, const T* y, int64_t dim, const T* e, double* grad) {
    alignas(64) T t[kTile];
    for (int64_t k = 0; k < dim; ++k) {
        const T yk = y[k];
        const T* zk = tile + k * kTile;
        for (int i = 0; i < kTile; ++i) t[i] = e[i] * (zk[i] - yk);
        grad[k] += lane_sum(t);
    }
}

// Gaussian (f = exp(-r^2 / 2)) and exponential (f = exp(-r)) kernels: log-sum-exp.
template <class T, Kernel K, bool kGrad>
GENSAMPLE_INLINE void smooth_tile(const T* tile, const T* log_weight, const T* y, int64_t dim, const T* d2,
                                  QueryState& st, double* grad) {
    alignas(64) T a[kTile], e[kTile];
    for (int i = 0; i < kTile; ++i) {
        a[i] = K == Kernel::gaussian ? log_weight[i] - T(0.5) * d2[i] : log_weight[i] - std::sqrt(d2[i]);
    }
    const T tile_max = lane_max(a);
    if (!(tile_max > -std::numeric_limits<T>::infinity())) return;  // padding only, or overflowed distances
    if (double(tile_max) > st.max) {
        const double rescale = std::exp(st.max - double(tile_max));
        st.sum *= rescale;
        if (kGrad) {
            for (int64_t k = 0; k < dim; ++k) grad[k] *= rescale;
        }
        st.max = double(tile_max);
    }
    const T m = T(st.max);
    for (int i = 0; i < kTile; ++i) {
        const T arg = a[i] - m;  // <= 0; clamped so that exp stays on its fast, normal path
        e[i] = fastmath::exp_nonpositive(arg > Lanes<T>::kExpFloor ? arg : Lanes<T>::kExpFloor);
    }
    st.sum += lane_sum(e);
    if (kGrad) {
        if (K == Kernel::exponential) {  // d/dy exp(-r) = exp(-r) (z - y) / r
            for (int i = 0; i < kTile; ++i) {
                const T r = std::sqrt(d2[i]);
                e[i] = r > T(0) ? e[i] / r : T(0);
            }
        }
        add_gradient(tile, y, dim, e, grad);
    }
}

// Compact kernels on |u| < 1: tophat 1, epanechnikov 1 - r^2, linear 1 - r, cosine
// cos(pi r / 2). Plain sums of w_i f(r_i) (weights scaled by their maximum).
template <class T, Kernel K, bool kGrad>
GENSAMPLE_INLINE void compact_tile(const T* tile, const T* weight, const T* y, int64_t dim, const T* d2,
                                   QueryState& st, double* grad) {
    alignas(64) T f[kTile], c[kTile];
    for (int i = 0; i < kTile; ++i) {
        const T r2 = d2[i];
        const bool inside = r2 < T(1);
        T value = T(0), coef = T(0);  // f(r), and -f'(r) / r (the gradient's factor on z - y)
        if (K == Kernel::tophat) {
            value = T(1);
        } else if (K == Kernel::epanechnikov) {
            value = T(1) - r2;
            coef = T(2);
        } else if (K == Kernel::linear) {
            const T r = std::sqrt(r2);
            value = T(1) - r;
            coef = r > T(0) ? T(1) / r : T(0);
        } else {  // cosine: cos(pi r / 2) = sin(pi (1 - r) / 2), accurate as r -> 1
            const double r = std::sqrt(double(r2));
            double s, co;
            fastmath::sincos_turns(0.25 * (1.0 - (r < 1.0 ? r : 1.0)), s, co);
            value = T(s);
            coef = r > 0 ? T(kHalfPi * co / r) : T(0);
        }
        f[i] = inside ? weight[i] * value : T(0);
        c[i] = inside ? weight[i] * coef : T(0);
    }
    st.sum += lane_sum(f);
    if (kGrad) add_gradient(tile, y, dim, c, grad);
}

// Queries [q0, q1): log-density (out[j]) or its gradient (out[j * dim + k]).
template <class T, Kernel K, bool kGrad>
GENSAMPLE_INLINE void query_block(const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset, T* out) {
    const int64_t dim = data.dim, nq = q1 - q0;
    QueryState st[kQueries];
    std::vector<double> grad(kGrad ? size_t(nq * dim) : 0, 0.0);
    alignas(64) T d2[kTile];
    for (int64_t t = 0; t < data.tiles; ++t) {
        const T* tile = data.points + t * dim * kTile;
        for (int64_t j = 0; j < nq; ++j) {
            const T* yj = y + (q0 + j) * dim;
            double* gj = kGrad ? grad.data() + j * dim : nullptr;
            squared_distances(tile, yj, dim, d2);
            if (is_smooth(K)) {
                smooth_tile<T, K, kGrad>(tile, data.log_weight + t * kTile, yj, dim, d2, st[j], gj);
            } else {
                compact_tile<T, K, kGrad>(tile, data.weight + t * kTile, yj, dim, d2, st[j], gj);
            }
        }
        if ((t & 1023) == 1023) poll_interrupt_in_task();
    }
    for (int64_t j = 0; j < nq; ++j) {
        if (kGrad) {
            for (int64_t k = 0; k < dim; ++k) out[(q0 + j) * dim + k] = T(grad[size_t(j * dim + k)] / st[j].sum);
        } else {
            const double log_sum = is_smooth(K) ? st[j].max + std::log(st[j].sum)
                                                : std::log(st[j].sum) + data.log_weight_max;
            out[q0 + j] = T(log_sum + double(offset));
        }
    }
}

template <class T, bool kGrad>
GENSAMPLE_INLINE void block_any(Kernel kernel, const Tiles<T>& data, const T* y, int64_t q0, int64_t q1, T offset,
                                T* out) {
    switch (kernel) {
        case Kernel::gaussian: return query_block<T, Kernel::gaussian, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::tophat: return query_block<T, Kernel::tophat, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::epanechnikov: return query_block<T, Kernel::epanechnikov, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::exponential: return query_block<T, Kernel::exponential, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::linear: return query_block<T, Kernel::linear, kGrad>(data, y, q0, q1, offset, out);
        case Kernel::cosine: return query_block<T, Kernel::cosine, kGrad>(data, y, q0, q1, offset, out);
    }
    throw std::invalid_argument("kde: unknown kernel");
}

// One clone per instruction set (dispatch.hpp); the templates above inline into each.
GENSAMPLE_DISPATCH
void block_f64(Kernel kernel, bool grad, const Tiles<double>& data, const double* y, int64_t q0, int64_t q1,
               double offset, double* out) {
    if (grad) {
        block_any<double, true>(kernel, data, y, q0, q1, offset, out);
    } else {
        block_any<double, false>(kernel, data, y, q0, q1, offset, out);
    }
}

GENSAMPLE_DISPATCH
void block_f32(Kernel kernel, bool grad, const Tiles<float>& data, const float* y, int64_t q0, int64_t q1,
               float offset, float* out) {
    if (grad) {
        block_any<float, true>(kernel, data, y, q0, q1, offset, out);
    } else {
        block_any<float, false>(kernel, data, y, q0, q1, offset, out);
    }
}

template <class T>
void check(const Tiles<T>& data) {
    if (data.tiles < 1 || data.dim < 1) throw std::invalid_argument("kde: no data");
}

}  // namespace

void log_density(Kernel kernel, const Tiles<double>& data, const double* y, int64_t m, double offset, double* out,
                 int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f64(kernel, false, data, y, q0, q1, offset, out); });
}

void log_density(Kernel kernel, const Tiles<float>& data, const float* y, int64_t m, float offset, float* out,
                 int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f32(kernel, false, data, y, q0, q1, offset, out); });
}

void grad_log_density(Kernel kernel, const Tiles<double>& data, const double* y, int64_t m, double* out,
                      int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f64(kernel, true, data, y, q0, q1, 0.0, out); });
}

void grad_log_density(Kernel kernel, const Tiles<float>& data, const float* y, int64_t m, float* out,
                      int n_threads) {
    check(data);
    parallel_for(m, kQueries, n_threads,
                 [&](int64_t q0, int64_t q1) { block_f32(kernel, true, data, y, q0, q1, 0.0f, out); });
}

// ---- sampling ------------------------------------------------------------------------

namespace {

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
