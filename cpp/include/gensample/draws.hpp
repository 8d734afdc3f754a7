// Per-sample random draws for the region samplers, and the Vose alias table.
//
// A region sample reads `slots` Philox blocks, counters (row, s, tag) for s < slots: the
// first block picks a discrete outcome (word 0: the alias column, by Lemire's method; word
// 1: the 53-bit alias coin), the others give uniforms for the coordinates, two per block.
// `tag` is the rejection attempt (0 for exact samplers). Rows come either as a range
// starting at r0 or as an explicit list (the composites of regions.py redraw only the rows
// they rejected), and row k of the output depends only on its row number.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "gensample/parallel.hpp"
#include "gensample/philox.hpp"
#include "gensample/philox_tile.hpp"
#include "gensample/random.hpp"

namespace gensample {

inline constexpr int kMaxSlots = 8;

// Word j (0 or 1) of Philox block b in a tile: the block's 32-bit words 2j and 2j + 1.
GENSAMPLE_INLINE uint64_t tile_word(const PhiloxLanes& out, int b, int j) {
    return j == 0 ? (out.x0[b] & 0xFFFFFFFFu) | (out.x1[b] << 32) : (out.x2[b] & 0xFFFFFFFFu) | (out.x3[b] << 32);
}

// The counters of samples k0 .. k0 + m - 1 of a tile: block a * slots + s is (row, s, tag).
GENSAMPLE_INLINE void tile_counters(PhiloxLanes& ctr, const int64_t* rows, int64_t r0, int64_t k0, int m, int slots,
                                    uint32_t tag) {
    for (int a = 0; a < m; ++a) {
        const uint64_t row = uint64_t(rows ? rows[k0 + a] : r0 + k0 + a);
        for (int s = 0; s < slots; ++s) {
            const int b = a * slots + s;
            ctr.x0[b] = row & 0xFFFFFFFFu;
            ctr.x1[b] = row >> 32;
            ctr.x2[b] = uint64_t(s);
            ctr.x3[b] = tag;
        }
    }
}

// The row number (counter) of sample a of a tile.
GENSAMPLE_INLINE uint64_t tile_row(const PhiloxLanes& ctr, int a, int slots) {
    return uint64_t(ctr.x0[a * slots]) | (uint64_t(ctr.x1[a * slots]) << 32);
}

// fn(k, row, w) for each of the `count` samples, w[2*s + j] = 64-bit word j of slot s.
// pre(w) runs first on every sample of a tile of blocks: a sampler issues its table
// prefetches there, so that the cache misses of a whole tile overlap.
template <class Pre, class Fn>
void for_each_draw(const Key& key, const int64_t* rows, int64_t r0, int64_t count, int slots, uint32_t tag, Pre&& pre,
                   Fn&& fn) {
    if (slots < 1 || slots > kMaxSlots) throw std::logic_error("for_each_draw: bad slot count");
    const PhiloxTileFn philox = philox_tile();
    const int per_tile = kPhiloxTile / slots;
    PhiloxLanes ctr{}, out;
    uint64_t w[2 * kMaxSlots];
    auto words = [&](int a) {
        for (int s = 0; s < slots; ++s) {
            w[2 * s] = tile_word(out, a * slots + s, 0);
            w[2 * s + 1] = tile_word(out, a * slots + s, 1);
        }
    };
    for (int64_t k0 = 0; k0 < count; k0 += per_tile) {
        const int m = int(std::min<int64_t>(per_tile, count - k0));
        tile_counters(ctr, rows, r0, k0, m, slots, tag);
        philox(key.k0, key.k1, ctr, out);
        for (int a = 0; a < m; ++a) {
            words(a);
            pre(static_cast<const uint64_t*>(w));
        }
        for (int a = 0; a < m; ++a) {
            words(a);
            fn(k0 + a, tile_row(ctr, a, slots), static_cast<const uint64_t*>(w));
        }
    }
}

template <class Fn>
void for_each_draw(const Key& key, const int64_t* rows, int64_t r0, int64_t count, int slots, uint32_t tag, Fn&& fn) {
    for_each_draw(key, rows, r0, count, slots, tag, [](const uint64_t*) {}, fn);
}

// Lemire's multiply-shift column in [0, n) from w (the rare retry as in random.hpp).
GENSAMPLE_INLINE uint64_t column_of(uint64_t w, uint64_t n, const Key& key, uint64_t row) {
    uint64_t c, lo;
    mul_64x64(w, n, c, lo);
    if (lo < n) c = bounded_integer(w, n, key, row, 0, 0);
    return c;
}

// Vose's alias method: outcome j has probability mass[j] / sum(mass). Column c is kept with
// probability prob[c] (compared with a 53-bit uniform), else it yields alias[c].
struct AliasTable {
    std::vector<double> prob;
    std::vector<uint32_t> alias;
};

// mass: n >= 1 finite non-negative values with a positive sum (the caller checks).
inline AliasTable build_alias(const double* mass, int64_t n) {
    if (n < 1 || n > int64_t(UINT32_MAX)) throw std::invalid_argument("alias table: need 1 <= n < 2^32 outcomes");
    double total = 0;
    for (int64_t j = 0; j < n; ++j) total += mass[j];
    if (!(total > 0) || !std::isfinite(total))
        throw std::invalid_argument("alias table: masses must have a positive finite sum");
    AliasTable t{std::vector<double>(size_t(n)), std::vector<uint32_t>(size_t(n))};
    std::vector<double> scaled(static_cast<size_t>(n));
    std::vector<uint32_t> small, large;
    small.reserve(size_t(n));
    large.reserve(size_t(n));
    const double scale = double(n) / total;
    for (int64_t j = 0; j < n; ++j) {
        if ((j & 0xFFFF) == 0xFFFF) poll_interrupt();  // tables of millions of outcomes (rasters)
        scaled[size_t(j)] = mass[j] * scale;
        (scaled[size_t(j)] < 1.0 ? small : large).push_back(uint32_t(j));
    }
    for (int64_t step = 1; !small.empty() && !large.empty(); ++step) {
        if ((step & 0xFFFF) == 0xFFFF) poll_interrupt();
        const uint32_t s = small.back(), l = large.back();
        small.pop_back();
        large.pop_back();
        t.prob[s] = scaled[s];
        t.alias[s] = l;
        scaled[l] = (scaled[l] + scaled[s]) - 1.0;  // Vose: more accurate than l - (1 - s)
        (scaled[l] < 1.0 ? small : large).push_back(l);
    }
    for (uint32_t j : large) t.prob[j] = 1.0, t.alias[j] = j;
    for (uint32_t j : small) t.prob[j] = 1.0, t.alias[j] = j;  // rounding leftovers
    return t;
}

// The outcome for a sample's first block (words w0, w1) of an exact sampler (tag 0); a
// rejected column word is redrawn from (row, 0, level << 24), as in random.hpp.
GENSAMPLE_INLINE uint32_t alias_pick(const double* prob, const uint32_t* alias, uint64_t n, uint64_t w0, uint64_t w1,
                                     const Key& key, uint64_t row) {
    const uint64_t c = column_of(w0, n, key, row);
    return u01_from_u64(w1) < prob[c] ? uint32_t(c) : alias[c];
}

}  // namespace gensample
