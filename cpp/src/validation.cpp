// The input checks' pass (validation.hpp). Memory-bound: one read of each value, on all
// threads, where NumPy's np.isfinite(c).all() writes a temporary and reads it again on one.
#include "gensample/validation.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/simd.hpp"

namespace gensample::validation {
namespace {

constexpr int64_t kGrain = int64_t(1) << 16;  // values per task: some 10 us of reading

// x * 0 is 0 for every finite x and NaN for inf and NaN, and a NaN survives the sums: one
// add per value, no branch. The maximum ignores NaN, which the sums catch. Two vectors per
// step, on registers of the target's width (B bytes).
template <class T, int B>
GENSAMPLE_INLINE Scan scan_range(const T* x, int64_t n) {
    using Vt = simd::VN<T, B>;
    using Bits = typename simd::VecN<T, B>::bits;
    constexpr int kW = simd::VecN<T, B>::kWidth;
    constexpr auto kMagnitude = ~(typename simd::VecN<T, B>::Unsigned(1) << (8 * sizeof(T) - 1));
    Vt zero0{}, zero1{}, top0{}, top1{};
    int64_t i = 0;
    for (; i + 2 * kW <= n; i += 2 * kW) {
        const Vt a = simd::load<T, B>(x + i), b = simd::load<T, B>(x + i + kW);
        zero0 += a * T(0);
        zero1 += b * T(0);
        top0 = simd::max<T>(top0, (Vt)((Bits)a & kMagnitude));
        top1 = simd::max<T>(top1, (Vt)((Bits)b & kMagnitude));
    }
    T z = 0, m = 0;
    for (; i < n; ++i) {
        z += x[i] * T(0);
        m = std::max(m, std::abs(x[i]));
    }
    z += T(simd::hsum<T>(zero0 + zero1));
    m = std::max(m, simd::hmax<T>(simd::max<T>(top0, top1)));
    return {z == 0, double(m)};
}

#define GENSAMPLE_SCAN(NAME, T, BYTES) \
    Scan NAME(const T* x, int64_t n) { return scan_range<T, BYTES>(x, n); }
#define GENSAMPLE_SCAN_F64(BYTES) GENSAMPLE_SCAN(scan_f64, double, BYTES)
#define GENSAMPLE_SCAN_F32(BYTES) GENSAMPLE_SCAN(scan_f32, float, BYTES)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_SCAN_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_SCAN_F32)
#undef GENSAMPLE_SCAN_F64
#undef GENSAMPLE_SCAN_F32
#undef GENSAMPLE_SCAN

template <class T, class F>
Scan scan_all(const T* x, int64_t n, int n_threads, F&& range) {
    std::vector<Scan> parts(size_t((n + kGrain - 1) / kGrain));
    parallel_for(n, kGrain, n_threads, [&](int64_t a, int64_t b) { parts[size_t(a / kGrain)] = range(x + a, b - a); });
    Scan all;
    for (const Scan& s : parts) {
        all.finite = all.finite && s.finite;
        all.max_abs = std::max(all.max_abs, s.max_abs);
    }
    return all;
}

}  // namespace

// (Lambdas: the per-target versions are one name, resolved at the call.)
Scan scan(const double* x, int64_t n, int n_threads) {
    return scan_all(x, n, n_threads, [](const double* p, int64_t k) { return scan_f64(p, k); });
}
Scan scan(const float* x, int64_t n, int n_threads) {
    return scan_all(x, n, n_threads, [](const float* p, int64_t k) { return scan_f32(p, k); });
}

}  // namespace gensample::validation
