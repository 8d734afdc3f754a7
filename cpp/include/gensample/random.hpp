// Bulk random variates on the Philox stream (philox.hpp for the counter layout).
//
// Row i of an (n, dim) output reads only counters (i, slot, 0), slot = 0, 1, ...:
//   float64 uniform   2 values per block:  words (v0, v1) -> column 2*slot, (v2, v3) -> 2*slot + 1
//   float32 uniform   4 values per block:  word vk -> column 4*slot + k
//   standard normal   2 values per block:  Box-Muller on the two 64-bit words; the cosine
//                     branch -> column 2*slot, the sine branch -> 2*slot + 1. float32
//                     normals are the float64 normals rounded to float.
//   integer [0, high) 2 values per block:  Lemire's multiply-shift on each 64-bit word; a
//                     rejected word is replaced by the same word of block (i, slot, level << 24),
//                     level = 1, 2, ...
// So the output is a pure function of (key, n-independent row index), whatever the
// thread count: rows a..b of any larger draw with the same key are the same.
#pragma once

#include <cmath>
#include <cstdint>

#include "gensample/fastmath.hpp"
#include "gensample/philox.hpp"

namespace gensample {

// Uniform double in [0, 1) from the top 53 bits of a word: every k * 2^-53 equally likely.
GENSAMPLE_INLINE double u01_from_u64(uint64_t w) { return fastmath::u53_to_double(w >> 11) * 0x1.0p-53; }

// Uniform float in [0, 1) from the top 24 bits of a 32-bit word.
GENSAMPLE_INLINE float u01f_from_u32(uint32_t w) { return float(int32_t(w >> 8)) * 0x1.0p-24f; }

// Box-Muller on two 64-bit words: z0 = r cos(2 pi u2), z1 = r sin(2 pi u2).
GENSAMPLE_INLINE void box_muller(uint64_t w1, uint64_t w2, double& z0, double& z1) {
    const double u1 = fastmath::u53_to_double((w1 >> 11) + 1) * 0x1.0p-53;  // (0, 1]
    const double u2 = u01_from_u64(w2);                                     // [0, 1)
    const double r = std::sqrt(-2.0 * fastmath::log_positive(u1));
    double s, c;
    fastmath::sincos_turns(u2, s, c);
    z0 = r * c;
    z1 = r * s;
}

// The full 128-bit product a * b as (hi, lo).
GENSAMPLE_INLINE void mul_64x64(uint64_t a, uint64_t b, uint64_t& hi, uint64_t& lo) {
#if defined(__SIZEOF_INT128__)
    const unsigned __int128 p = (unsigned __int128)a * b;
    hi = uint64_t(p >> 64);
    lo = uint64_t(p);
#else  // schoolbook on 32-bit halves (MSVC and other compilers without __int128)
    const uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
    hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

// Lemire's unbiased integer in [0, high), high >= 1, from word w; retries come from
// (row, slot, level << 24), same word position (0 or 1).
uint64_t bounded_integer(uint64_t w, uint64_t high, const Key& key, uint64_t row, uint32_t slot, int word);

// Rows [r0, r1) of the (n, dim) uniform or normal draw, into out (r1 - r0, dim), on the
// calling thread.
void uniform_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, double* out);
void uniform_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, float* out);
void normal_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, double* out);
void normal_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, float* out);

// Fill a C-contiguous (n, dim) array. key: the 64-bit Philox key.
void fill_uniform(uint64_t key, int64_t n, int64_t dim, double* out, int n_threads);
void fill_uniform(uint64_t key, int64_t n, int64_t dim, float* out, int n_threads);
void fill_normal(uint64_t key, int64_t n, int64_t dim, double* out, int n_threads);
void fill_normal(uint64_t key, int64_t n, int64_t dim, float* out, int n_threads);
// Rows [first, first + n) of the uniform or normal draw of stream key, into out (n, dim).
void fill_uniform_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, double* out, int n_threads);
void fill_uniform_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, float* out, int n_threads);
void fill_normal_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, double* out, int n_threads);
void fill_normal_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, float* out, int n_threads);
void fill_integers(uint64_t key, int64_t n, int64_t dim, uint64_t high, int64_t* out, int n_threads);

// Raw Philox blocks for the listed counters (m x 4 words in, m x 4 words out).
void philox_blocks(uint64_t key, int64_t m, const uint32_t* counters, uint32_t* out, int n_threads);

// Rows per task so that one task handles about `values` numbers.
inline int64_t rows_per_task(int64_t dim, int64_t values = 16384) { return dim >= values ? 1 : values / dim; }

}  // namespace gensample
