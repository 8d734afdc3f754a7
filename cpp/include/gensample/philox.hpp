// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
//
// A counter-based generator: the output block is a pure function of a 128-bit counter and
// a 64-bit key, so any draw can be computed independently of every other one. That is what
// makes results identical for every thread count, chunking and machine.
//
// gensample's counter layout (DESIGN.md, "Randomness"):
//
//     counter = (row mod 2^32, row >> 32, slot, tag)
//
//   row   the index of the sample (the output row) that the draw belongs to;
//   slot  which 128-bit block within that sample's draw;
//   tag   bits 0..23: attempt number of a rejection sampler (0 for the first);
//         bits 24..31: retry level of an unbiased bounded integer (Lemire), 0 normally.
//
// So sample i reads only counters that start with i.
#pragma once

#include <cstdint>

#include "gensample/dispatch.hpp"

namespace gensample {

struct Block {
    uint32_t v[4];
};

inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
inline constexpr int kPhiloxRounds = 10;

inline constexpr int kTagRetryShift = 24;

// One block, scalar. The tile kernels in philox_simd.cpp compute the same function.
inline Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
    uint32_t x0 = ctr.v[0], x1 = ctr.v[1], x2 = ctr.v[2], x3 = ctr.v[3];
    for (int r = 0; r < kPhiloxRounds; ++r) {
        const uint64_t p0 = uint64_t(kPhiloxM0) * x0;
        const uint64_t p1 = uint64_t(kPhiloxM1) * x2;
        const uint32_t y0 = uint32_t(p1 >> 32) ^ x1 ^ k0;
        const uint32_t y2 = uint32_t(p0 >> 32) ^ x3 ^ k1;
        x1 = uint32_t(p1);
        x3 = uint32_t(p0);
        x0 = y0;
        x2 = y2;
        k0 += kPhiloxW0;
        k1 += kPhiloxW1;
    }
    return Block{{x0, x1, x2, x3}};
}

inline Block counter(uint64_t row, uint32_t slot, uint32_t tag = 0) {
    return Block{{uint32_t(row), uint32_t(row >> 32), slot, tag}};
}

struct Key {
    uint32_t k0, k1;
    explicit Key(uint64_t key) : k0(uint32_t(key)), k1(uint32_t(key >> 32)) {}
    Block operator()(Block ctr) const { return philox4x32_10(ctr, k0, k1); }
};

// The key of sub-stream `index` of `key` (rejection rounds of composite regions, streams of
// a multi-part sampler). Slot 0xFFFFFFFF is never used by a sample, so these blocks are
// disjoint from every sample's counters.
inline uint64_t subkey(uint64_t key, uint64_t index) {
    const Block b = Key(key)(Block{{uint32_t(index), uint32_t(index >> 32), 0xFFFFFFFFu, 0xFFFFFFFFu}});
    return uint64_t(b.v[0]) | (uint64_t(b.v[1]) << 32);
}

// 64-bit word from two 32-bit words: lo | hi << 32.
GENSAMPLE_INLINE uint64_t join64(uint32_t lo, uint32_t hi) { return uint64_t(lo) | (uint64_t(hi) << 32); }

}  // namespace gensample
