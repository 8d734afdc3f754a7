// Vectors for the evaluation kernels: VN<T, kBytes>, kBytes of T (double or float) as one
// vector, which GCC and Clang lower to that many bytes of registers (or NEON).
//
// Each kernel takes the width as a template argument and is instantiated at the register
// width of each target (GENSAMPLE_AT_REGISTER_WIDTH: 16 bytes on SSE2, 32 on AVX2, 64 on
// AVX-512): wider than the registers, GCC keeps a vector in memory between operations and
// moves it in pieces, and loads that span two of those pieces stall. Operations are lane by
// lane, so a kernel that fuses multiply-adds only through simd::fma (flow.cpp) gives the
// same bits at every width; those that let the compiler fuse (gmm.cpp, kde.cpp, metrics.cpp)
// may differ in the last bits between instruction sets. The helpers below work at any width;
// 64 bytes is their default.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "gensample/dispatch.hpp"

// Vectors cross only always-inline functions, so the warning that passing them by value
// would depend on the instruction set does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace gensample::simd {

// kBytes of T (double or float) as one vector, its bits as unsigned integers of T's size.
template <class T, int kBytes>
struct VecN {
    typedef T type __attribute__((vector_size(kBytes)));
    typedef std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t> Unsigned;
    typedef std::conditional_t<sizeof(T) == 8, int64_t, int32_t> Signed;
    typedef Unsigned bits __attribute__((vector_size(kBytes)));
    typedef Signed ints __attribute__((vector_size(kBytes)));
    static constexpr int kWidth = kBytes / int(sizeof(T));
};

template <class T>
struct Vec : VecN<T, 64> {};

template <class T, int kBytes>
using VN = typename VecN<T, kBytes>::type;

template <class T>
using V = typename Vec<T>::type;

// The VecN of a vector type.
template <class Vt>
using VecOf = VecN<std::remove_cv_t<std::remove_reference_t<decltype(Vt{}[0])>>, int(sizeof(Vt))>;

// The widest vector register of the target the including code is compiled for, in bytes.
// It is what a build without dispatch uses; a dispatched build names the width of each of
// its GENSAMPLE_TARGET versions itself (the macros are the baseline's in all of them).
#if defined(__AVX512F__)
inline constexpr int kRegisterBytes = 64;
#elif defined(__AVX2__)
inline constexpr int kRegisterBytes = 32;
#else
inline constexpr int kRegisterBytes = 16;
#endif

template <class T, int kBytes = 64>
GENSAMPLE_INLINE VN<T, kBytes> load(const T* p) {
    VN<T, kBytes> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <class T, class Vt>
GENSAMPLE_INLINE void store(T* p, const Vt& v) {
    std::memcpy(p, &v, sizeof v);
}

// x in every lane, for constants. In hot loops write `x * v` with the scalar itself: GCC
// splats a scalar operand in place (one vbroadcastsd from memory) but builds a vector
// returned by a helper lane by lane.
template <int kBytes = 64, class T>
GENSAMPLE_INLINE VN<T, kBytes> broadcast(T x) {
    return VN<T, kBytes>{} + x;
}

// n vectors on the heap, 64-byte aligned. (std::vector<V<T>> is not: a vector type
// passed as a template argument loses its alignment attribute.)
template <class T, int kBytes = 64>
class Buffer {
    using Vt = VN<T, kBytes>;

  public:
    explicit Buffer(size_t n = 0) { resize(n); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { release(); }
    // n zero vectors (the old contents are dropped).
    void resize(size_t n) {
        release();
        n_ = n;
        if (n > 0) {
            data_ = static_cast<Vt*>(::operator new(n * sizeof(Vt), std::align_val_t(64)));
            for (size_t i = 0; i < n; ++i) data_[i] = Vt{};
        }
    }
    Vt* data() { return data_; }
    Vt& operator[](size_t i) { return data_[i]; }
    size_t size() const { return n_; }

  private:
    void release() {
        if (data_) ::operator delete(data_, std::align_val_t(64));
        data_ = nullptr;
    }
    Vt* data_ = nullptr;
    size_t n_ = 0;
};

// a > b ? a : b lane by lane (maxpd's rule). GCC lowers a vector ?: (or comparison) wider
// than the machine's registers (AVX2, SSE2) one scalar lane at a time, so at 64 bytes a loop
// over lanes goes through arrays and must reach the vectoriser whole (unrolled first, it
// stays scalar). A vector of the register's width takes the vector ?: itself, one maxpd:
// through arrays its constant operands were stored in halves and reloaded whole, a load that
// waits for both stores; and a loop over its lanes, inside a loop GCC unrolls (the silu of
// every output of a layer), became eight scalar compares and blends.
template <class T, class Vt = V<T>>
GENSAMPLE_INLINE Vt max(const Vt& a, const Vt& b) {
    constexpr int kWidth = VecOf<Vt>::kWidth;
    if constexpr (sizeof(Vt) < 64) {  // a register-wide vector
        return a > b ? a : b;
    } else {
        alignas(64) T x[kWidth], y[kWidth];
        store(x, a);
        store(y, b);
#if defined(__GNUC__)
#pragma GCC unroll 1
#endif
        for (int l = 0; l < kWidth; ++l) x[l] = x[l] > y[l] ? x[l] : y[l];
        return load<T, 64>(x);
    }
}

// a * b + c with a single rounding (IEEE fusedMultiplyAdd), lane by lane: one vfmadd on the
// FMA clones (x86-64-v3 and AVX-512), libm's fma (exact in software where the CPU has none)
// on the baseline. Correct rounding makes it the same bits on every machine, so kernels that
// promise that (flow.cpp) fuse by writing it; -ffp-contract stays off for them. Any operand
// may be a scalar (splatted in place, as in `a * b`).
namespace detail {
// Lane l of a vector, or the scalar itself.
template <class Vt, class A>
GENSAMPLE_INLINE auto lane(const A& a, int l) {
    if constexpr (std::is_same_v<A, Vt>) {
        return a[l];
    } else {
        return a;
    }
}
// Lane by lane on the vectors themselves: through arrays (as max does), every call would
// store the vectors and load them back.
template <class Vt, class A, class B, class C>
GENSAMPLE_INLINE Vt fma_lanes(const A& a, const B& b, const C& c) {
    Vt r;
    for (int l = 0; l < VecOf<Vt>::kWidth; ++l) r[l] = std::fma(lane<Vt>(a, l), lane<Vt>(b, l), lane<Vt>(c, l));
    return r;
}
// The same kept a loop for the vectoriser, which fma_rows needs (below).
template <class Vt, class A, class B, class C>
GENSAMPLE_INLINE Vt fma_loop(const A& a, const B& b, const C& c) {
    Vt r;
#if defined(__GNUC__)
#pragma GCC unroll 1
#endif
    for (int l = 0; l < VecOf<Vt>::kWidth; ++l) r[l] = std::fma(lane<Vt>(a, l), lane<Vt>(b, l), lane<Vt>(c, l));
    return r;
}
}  // namespace detail

// The lane type of a vector type; as a parameter's type it is not deduced, so a scalar
// operand takes the vector operands' lane type.
template <class Vt>
using LaneOf = std::remove_cv_t<std::remove_reference_t<decltype(Vt{}[0])>>;

template <class Vt>
GENSAMPLE_INLINE Vt fma(const Vt& a, const Vt& b, const Vt& c) {
    return detail::fma_lanes<Vt>(a, b, c);
}
template <class Vt>
GENSAMPLE_INLINE Vt fma(LaneOf<Vt> a, const Vt& b, const Vt& c) {
    return detail::fma_lanes<Vt>(a, b, c);
}
template <class Vt>
GENSAMPLE_INLINE Vt fma(const Vt& a, const Vt& b, LaneOf<Vt> c) {
    return detail::fma_lanes<Vt>(a, b, c);
}
// a * b + c for a scalar a, the same bits as fma, for the rows of an unrolled loop over an
// array of accumulators (a matrix product): there GCC unrolls fma's lane loop first and then
// leaves it scalar; kept a loop, it becomes one vfmadd at the register width. Elsewhere use
// fma (with 64-byte vectors on x86-64-v3, this form moved them through memory).
template <class Vt>
GENSAMPLE_INLINE Vt fma_rows(LaneOf<Vt> a, const Vt& b, const Vt& c) {
    return detail::fma_loop<Vt>(a, b, c);
}

// sqrt lane by lane (the loop vectorises under -fno-math-errno; vector extensions have no sqrt).
template <class T, class Vt = V<T>>
GENSAMPLE_INLINE Vt sqrt_lanes(const Vt& x) {
    alignas(64) T a[VecOf<Vt>::kWidth];
    store(a, x);
    for (int l = 0; l < VecOf<Vt>::kWidth; ++l) a[l] = std::sqrt(a[l]);
    return load<T, int(sizeof(Vt))>(a);
}

// Lane sums and maxima in a fixed order, into double.
template <class T, class Vt = V<T>>
GENSAMPLE_INLINE double hsum(const Vt& v) {
    double s = 0;
    for (int l = 0; l < VecOf<Vt>::kWidth; ++l) s += double(v[l]);
    return s;
}

template <class T, class Vt = V<T>>
GENSAMPLE_INLINE T hmax(const Vt& v) {
    T m = v[0];
    for (int l = 1; l < VecOf<Vt>::kWidth; ++l) m = v[l] > m ? v[l] : m;
    return m;
}

// exp(x) for x in [-708, 0] by a series alone (the form for machines without a one-instruction
// 16-entry lane permute).
//
// x = k ln 2 + r with k = round(x / ln 2), |r| <= ln2 / 2; exp(r) by its Taylor series to
// r^13 (next term below 2^-57 relative), then scaled by 2^k built in the exponent bits
// (the low bits of `shifted` hold k). k >= -1022 on this range, so the result is normal:
// no slow denormal path. Only +, -, * and bit operations: it vectorises on every target.
template <class Vt>  // of doubles
GENSAMPLE_INLINE Vt exp_nonpositive_series(const Vt& x) {
    constexpr double kRound = 0x1.8p52, kLog2e = 0x1.71547652b82fep+0;
    constexpr double kLn2Hi = 0x1.62e42fee00000p-1, kLn2Lo = 0x1.a39ef35793c76p-33;  // k * kLn2Hi exact
    const Vt shifted = x * kLog2e + kRound;
    const Vt k = shifted - kRound;
    const Vt r = (x - k * kLn2Hi) - k * kLn2Lo;
    // Estrin's scheme: p's coefficients in pairs, then by r^2, r^4 and r^8, five multiply-adds
    // deep instead of Horner's twelve. The long chain, not the operation count, bounded a
    // log-sum-exp loop: its exps overlap only as far as the scheduler holds waiting operations.
    // Each group is taken as soon as it is made: fewer values live at once, fewer spills.
    const Vt r2 = r * r;
    const Vt lo = (r * (1.0 / 6.0) + 0.5) + (r * (1.0 / 120.0) + 1.0 / 24.0) * r2;
    const Vt mid = (r * (1.0 / 5040.0) + 1.0 / 720.0) + (r * (1.0 / 362880.0) + 1.0 / 40320.0) * r2;
    const Vt hi = (r * (1.0 / 39916800.0) + 1.0 / 3628800.0) + (r * (1.0 / 6227020800.0) + 1.0 / 479001600.0) * r2;
    const Vt r4 = r2 * r2;
    const Vt p = (lo + mid * r4) + hi * (r4 * r4);
    const Vt e_r = 1.0 + (r + r2 * p);
    using Bits = typename VecOf<Vt>::bits;
    const Bits scale = ((Bits)shifted + 1023u) << 52;
    return e_r * (Vt)scale;
}

// Whether the running CPU has AVX-512, so that the AVX-512 clone runs: 32 vector registers
// (room for larger register blocks) and a one-instruction permute of 8 doubles from a
// 16-entry table (vpermt2pd). A build without dispatch says so only if it was compiled
// for AVX-512 itself. Kernels branch on it where the best form differs between clones.
#if defined(__AVX512F__)
inline constexpr bool kAvx512 = true;
#elif GENSAMPLE_MULTIVERSION
inline const bool kAvx512 = [] {
    __builtin_cpu_init();  // may run before libgcc's own constructor
    return __builtin_cpu_supports("avx512f") != 0;
}();
#else
inline constexpr bool kAvx512 = false;
#endif

// 2^(j/16) for j = 0..15, correctly rounded.
alignas(64) inline constexpr double kExp2Sixteenths[16] = {
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0};

// table[j] lane by lane, j in [0, 16).
GENSAMPLE_INLINE V<double> lookup16(const double* table, const Vec<double>::bits& j) {
#if defined(__clang__)
    V<double> t;
    for (int l = 0; l < Vec<double>::kWidth; ++l) t[l] = table[j[l]];
    return t;
#else
    return __builtin_shuffle(load(table), load(table + 8), j);
#endif
}

// exp(x) for x in [-708, 0] (callers clamp: log-sum-exp arguments are never positive).
//
// With the wide permute: x = (16 k + j) ln2 / 16 + r, |r| <= ln2 / 32, so
// exp(x) = 2^k 2^(j/16) exp(r), with 2^(j/16) from a table and exp(r) - 1 by its Taylor
// series to r^7 (next term below 2^-59 relative): 6 multiply-adds instead of 12, within
// about 1 ulp like the series form, which runs everywhere else. The low bits of `shifted`
// hold n = 16 k + j; 2^k is built in the exponent bits (k >= -1022: the result is normal).
// The table form needs the permute of 8 doubles: 64-byte vectors on AVX-512 only.
template <class Vt>
GENSAMPLE_INLINE Vt exp_nonpositive_f64(const Vt& x) {
    if constexpr (sizeof(Vt) != 64) {
        return exp_nonpositive_series(x);
    } else {
        if (!kAvx512) return exp_nonpositive_series(x);
        using Bits = typename VecOf<Vt>::bits;
        constexpr double kRound = 0x1.8p52, k16Log2e = 0x1.71547652b82fep+4;
        constexpr double kLn2Hi = 0x1.62e42fefa0000p-5, kLn2Lo = 0x1.cf79abc9e3b3ap-44;  // ln2 / 16; n * kLn2Hi exact
        const Vt shifted = x * k16Log2e + kRound;
        const Vt n = shifted - kRound;
        const Vt r = (x - n * kLn2Hi) - n * kLn2Lo;
        Vt p = broadcast<int(sizeof(Vt))>(1.0 / 5040.0);
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        const Vt expm1_r = r + r * (r * p);
        const Bits bits = (Bits)shifted;
        const Vt t = lookup16(kExp2Sixteenths, bits & 15u);
        // shifted's bits are 0x4338000000000000 + n, a multiple of 16 plus n: >> 4 gives k plus
        // bits that the << 52 drops.
        const Bits scale = ((bits >> 4) + 1023u) << 52;
        return (t + t * expm1_r) * (Vt)scale;
    }
}

// expf(x) for x in [-87, 0]: the same with the series to r^7 (next term below 2^-27
// relative, under a float's half ulp), ln 2 split at 16 bits, and k >= -126.
template <class Vt>
GENSAMPLE_INLINE Vt exp_nonpositive_f32(const Vt& x) {
    constexpr float kRound = 0x1.8p23f, kLog2e = 0x1.715476p+0f;
    constexpr float kLn2Hi = 0x1.62e400p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
    const Vt shifted = x * kLog2e + kRound;
    const Vt k = shifted - kRound;
    const Vt r = (x - k * kLn2Hi) - k * kLn2Lo;
    Vt p = broadcast<int(sizeof(Vt))>(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    const Vt e_r = 1.0f + (r + r * (r * p));
    using Bits = typename VecOf<Vt>::bits;
    const Bits scale = ((Bits)shifted + 127u) << 23;
    return e_r * (Vt)scale;
}

// exp(x) for x in [-708, 0] (doubles) or [-87, 0] (floats), any width.
template <class Vt>
GENSAMPLE_INLINE Vt exp_nonpositive(const Vt& x) {
    if constexpr (sizeof(x[0]) == 8) {
        return exp_nonpositive_f64(x);
    } else {
        return exp_nonpositive_f32(x);
    }
}

// exp for kernels that promise the same bits on every machine (flow.cpp): the series forms
// above with every multiply-add fused by simd::fma (correctly rounded, so the same bits on
// every CPU; about half the operations). x = k ln 2 + r as in exp_nonpositive_series; the
// reduction's two fused steps are exact enough that r carries under an ulp of error.
template <class Vt>  // of doubles or floats, any width
GENSAMPLE_INLINE Vt exp_nonpositive_portable(const Vt& x) {
    using Bits = typename VecOf<Vt>::bits;
    constexpr int kBytes = int(sizeof(Vt));
    if constexpr (sizeof(x[0]) == 8) {
        constexpr double kRound = 0x1.8p52, kLog2e = 0x1.71547652b82fep+0;
        constexpr double kLn2Hi = 0x1.62e42fefa39efp-1, kLn2Lo = 0x1.abc9e3b39803fp-56;  // ln 2 = hi + lo
        const Vt shifted = fma(x, broadcast<kBytes>(kLog2e), kRound);
        const Vt k = shifted - kRound;
        const Vt r = fma(-kLn2Lo, k, fma(-kLn2Hi, k, x));
        Vt p = fma(r, broadcast<kBytes>(1.0 / 6227020800.0), 1.0 / 479001600.0);
        p = fma(p, r, 1.0 / 39916800.0);
        p = fma(p, r, 1.0 / 3628800.0);
        p = fma(p, r, 1.0 / 362880.0);
        p = fma(p, r, 1.0 / 40320.0);
        p = fma(p, r, 1.0 / 5040.0);
        p = fma(p, r, 1.0 / 720.0);
        p = fma(p, r, 1.0 / 120.0);
        p = fma(p, r, 1.0 / 24.0);
        p = fma(p, r, 1.0 / 6.0);
        p = fma(p, r, 0.5);
        const Vt e_r = 1.0 + fma(r * r, p, r);
        const Bits scale = ((Bits)shifted + 1023u) << 52;
        return e_r * (Vt)scale;
    } else {
        constexpr float kRound = 0x1.8p23f, kLog2e = 0x1.715476p+0f;
        constexpr float kLn2Hi = 0x1.62e430p-1f, kLn2Lo = -0x1.05c610p-29f;  // ln 2 = hi + lo
        const Vt shifted = fma(x, broadcast<kBytes>(kLog2e), kRound);
        const Vt k = shifted - kRound;
        const Vt r = fma(-kLn2Lo, k, fma(-kLn2Hi, k, x));
        Vt p = fma(r, broadcast<kBytes>(1.0f / 5040.0f), 1.0f / 720.0f);
        p = fma(p, r, 1.0f / 120.0f);
        p = fma(p, r, 1.0f / 24.0f);
        p = fma(p, r, 1.0f / 6.0f);
        p = fma(p, r, 0.5f);
        const Vt e_r = 1.0f + fma(r * r, p, r);
        const Bits scale = ((Bits)shifted + 127u) << 23;
        return e_r * (Vt)scale;
    }
}

// log(x) for positive normal x. x = 2^e m with m in [sqrt(1/2), sqrt(2)); with
// s = (m - 1) / (m + 1), log m = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...), |s| < 0.172, by
// its series to s^21 (next term below 2^-58 relative); e ln 2 added in two parts.
template <class Vt>
GENSAMPLE_INLINE Vt log_positive_f64(const Vt& x) {
    using Bits = typename VecOf<Vt>::bits;
    using Ints = typename VecOf<Vt>::ints;
    constexpr double kLn2Hi = 0x1.62e42fee00000p-1, kLn2Lo = 0x1.a39ef35793c76p-33;
    const Bits bits = (Bits)x;
    // Shift the mantissa's cut to sqrt(1/2): adding (1 - sqrt(1/2)) ulps of the exponent
    // field moves mantissas above sqrt(2) up to the next binade.
    const Bits shifted = bits + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
    const Ints e = (Ints)(shifted >> 52) - 1023;
    const Vt m = (Vt)((shifted & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
    const Vt s = (m - 1.0) / (m + 1.0), s2 = s * s;
    Vt p = broadcast<int(sizeof(Vt))>(1.0 / 21.0);
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    const Vt k = __builtin_convertvector(e, Vt);
    return k * kLn2Hi + ((2.0 * s) * (s2 * p) + (k * kLn2Lo + 2.0 * s));
}

template <class Vt>
GENSAMPLE_INLINE Vt log_positive_f32(const Vt& x) {
    using Bits = typename VecOf<Vt>::bits;
    using Ints = typename VecOf<Vt>::ints;
    constexpr float kLn2Hi = 0x1.62e400p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
    const Bits bits = (Bits)x;
    const Bits shifted = bits + (0x3f800000u - 0x3f3504f3u);
    const Ints e = (Ints)(shifted >> 23) - 127;
    const Vt m = (Vt)((shifted & 0x007fffffu) + 0x3f3504f3u);
    const Vt s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    Vt p = broadcast<int(sizeof(Vt))>(1.0f / 9.0f);
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    const Vt k = __builtin_convertvector(e, Vt);
    return k * kLn2Hi + ((2.0f * s) * (s2 * p) + (k * kLn2Lo + 2.0f * s));
}

// log(x) for normal x > 0, doubles or floats, any width.
template <class Vt>
GENSAMPLE_INLINE Vt log_positive(const Vt& x) {
    if constexpr (sizeof(x[0]) == 8) {
        return log_positive_f64(x);
    } else {
        return log_positive_f32(x);
    }
}

}  // namespace gensample::simd

// The kernels' shorthands (kde.cpp, metrics.cpp, gmm.cpp, flow.cpp, each with
// `using kernel::...`): B is the vector width in bytes, that of the instruction set a
// version is compiled for (dispatch.hpp), and every operation is lane by lane.
namespace gensample::kernel {

template <class T, int B>
using V = simd::VN<T, B>;

template <class T, int B>
constexpr int kWidth = simd::VecN<T, B>::kWidth;

// Exponents are clamped here before exp: exp of it is still a normal number.
template <class T>
inline constexpr T kExpFloor = T(-708);
template <>
inline constexpr float kExpFloor<float> = -87.0f;

// Entries of a d x d lower triangle stored row by row.
constexpr int64_t packed(int64_t d) { return d * (d + 1) / 2; }

}  // namespace gensample::kernel
