// Branch-free elementary functions that the compiler can vectorise.
//
// libm's log/sin/cos are scalar calls, which would keep Box-Muller from vectorising and
// dominate its cost. These use only +, -, *, / and bit operations, so with the build's
// -ffp-contract=off they give the same bits on every instruction set the dispatcher
// picks (SSE2, AVX2, AVX-512) and for every thread count. Accuracy: within 2 ulp of the
// correctly rounded result on the ranges used here (checked against NumPy in the tests).
#pragma once

#include <cstdint>
#include <cstring>

#include "gensample/dispatch.hpp"

namespace gensample::fastmath {

GENSAMPLE_INLINE uint64_t bits_of(double x) {
    uint64_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
}

GENSAMPLE_INLINE double from_bits(uint64_t b) {
    double x;
    std::memcpy(&x, &b, sizeof x);
    return x;
}

// Exact conversion of an integer below 2^52 to double, without cvtsi2sd (which AVX2 lacks
// for 64-bit lanes): place it in the mantissa of 2^52 and subtract 2^52.
GENSAMPLE_INLINE double small_u64_to_double(uint64_t v) { return from_bits(v | 0x4330000000000000ull) - 0x1.0p52; }

// Exact conversion of an integer below 2^53 to double: two exact halves, exact sum.
GENSAMPLE_INLINE double u53_to_double(uint64_t v) {
    return small_u64_to_double(v >> 32) * 0x1.0p32 + small_u64_to_double(v & 0xFFFFFFFFull);
}

// ln(x) for positive, normal, finite x.
//
// x = 2^e * m with m in [sqrt(1/2), sqrt(2)); ln(m) = 2 atanh(s), s = (m - 1) / (m + 1),
// |s| <= 0.1716. The atanh series is truncated after s^21, where the next term is below
// 2^-56 relative. ln 2 is split so that e * kLn2Hi is exact.
GENSAMPLE_INLINE double log_positive(double x) {
    constexpr double kLn2Hi = 0x1.62e42ffp-1;          // ln 2 to 32 bits
    constexpr double kLn2Lo = -0x1.718432a1b0e26p-35;  // ln 2 - kLn2Hi
    constexpr double kSqrt2 = 0x1.6a09e667f3bcdp+0;
    const uint64_t b = bits_of(x);
    double m = from_bits((b & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);  // [1, 2)
    double e = small_u64_to_double(b >> 52) - 1023.0;
    const bool high = m > kSqrt2;
    m = high ? m * 0.5 : m;
    e = high ? e + 1.0 : e;
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    // 2 * sum_k s^(2k) / (2k + 1), k = 0..10, by Horner.
    double p = 2.0 / 21.0;
    p = p * s2 + 2.0 / 19.0;
    p = p * s2 + 2.0 / 17.0;
    p = p * s2 + 2.0 / 15.0;
    p = p * s2 + 2.0 / 13.0;
    p = p * s2 + 2.0 / 11.0;
    p = p * s2 + 2.0 / 9.0;
    p = p * s2 + 2.0 / 7.0;
    p = p * s2 + 2.0 / 5.0;
    p = p * s2 + 2.0 / 3.0;
    const double log_m = s * 2.0 + s * (s2 * p);
    return e * kLn2Hi + (e * kLn2Lo + log_m);
}

// sin(2 pi u) and cos(2 pi u) for u in [0, 1).
//
// Reduction is exact because the angle is given in turns: 4u = q + f with q the nearest
// integer (the quadrant) and f in [-1/2, 1/2], then x = f * pi/2 lies in [-pi/4, pi/4]
// where Taylor series to x^17 (sin) and x^18 (cos) are accurate to below 2^-56.
GENSAMPLE_INLINE void sincos_turns(double u, double& sin_out, double& cos_out) {
    constexpr double kRound = 0x1.8p52;  // adding it rounds to an integer (ties to even)
    constexpr double kHalfPi = 0x1.921fb54442d18p+0;
    const double t = u * 4.0;
    const double shifted = t + kRound;
    const uint64_t q = bits_of(shifted) & 3u;
    const double f = t - (shifted - kRound);
    const double x = f * kHalfPi;
    const double x2 = x * x;

    double sp = 1.0 / 355687428096000.0;   // 1/17!
    sp = sp * x2 - 1.0 / 1307674368000.0;  // 1/15!
    sp = sp * x2 + 1.0 / 6227020800.0;     // 1/13!
    sp = sp * x2 - 1.0 / 39916800.0;       // 1/11!
    sp = sp * x2 + 1.0 / 362880.0;         // 1/9!
    sp = sp * x2 - 1.0 / 5040.0;           // 1/7!
    sp = sp * x2 + 1.0 / 120.0;            // 1/5!
    sp = sp * x2 - 1.0 / 6.0;              // 1/3!
    const double s = x + x * (x2 * sp);

    double cp = 1.0 / 6402373705728000.0;   // 1/18!
    cp = cp * x2 - 1.0 / 20922789888000.0;  // 1/16!
    cp = cp * x2 + 1.0 / 87178291200.0;     // 1/14!
    cp = cp * x2 - 1.0 / 479001600.0;       // 1/12!
    cp = cp * x2 + 1.0 / 3628800.0;         // 1/10!
    cp = cp * x2 - 1.0 / 40320.0;           // 1/8!
    cp = cp * x2 + 1.0 / 720.0;             // 1/6!
    cp = cp * x2 - 1.0 / 24.0;              // 1/4!
    cp = cp * x2 + 0.5;                     // 1/2!
    const double c = 1.0 - x2 * cp;

    // Rotate by q quarter turns: (sin, cos) -> (cos, -sin) per quarter.
    const bool odd = q & 1u;
    const double sin_v = odd ? c : s;
    const double cos_v = odd ? s : c;
    sin_out = (q & 2u) ? -sin_v : sin_v;
    cos_out = ((q + 1u) & 2u) ? -cos_v : cos_v;
}

}  // namespace gensample::fastmath
