// Bulk random kernels: Philox in tiles of kTile blocks, transformed in registers.
#include "gensample/random.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/philox_tile.hpp"

namespace gensample {
namespace {

constexpr int kTile = kPhiloxTile;

// A 64-bit word from two lanes (only their low halves count).
GENSAMPLE_INLINE uint64_t word64(uint64_t lo_lane, uint64_t hi_lane) {
    return (lo_lane & 0xFFFFFFFFu) | (hi_lane << 32);
}

// The counters (row, slot, 0) of consecutive blocks of a range of rows, a tile at a time.
class CounterTiles {
  public:
    CounterTiles(int64_t row, int64_t slots) : row_(uint64_t(row)), slots_(slots) {
        for (int b = 0; b < kTile; ++b) ctr_.x3[b] = 0;
        if (slots_ == 1) {
            for (int b = 0; b < kTile; ++b) ctr_.x2[b] = 0;
        }
        fill();
    }
    const PhiloxLanes& lanes() const { return ctr_; }
    int64_t slot() const { return slot_; }  // slot of the tile's first block
    void advance() { fill(); }

  private:
    // Writes the counters of the next kTile blocks and moves past them.
    GENSAMPLE_INLINE void fill() {
        if (slots_ == 1) {  // one block per row: consecutive rows, vectorisable
            for (int b = 0; b < kTile; ++b) {
                const uint64_t r = row_ + uint64_t(b);
                ctr_.x0[b] = r & 0xFFFFFFFFu;
                ctr_.x1[b] = r >> 32;
            }
            row_ += kTile;
            return;
        }
        slot_ = next_slot_;
        for (int b = 0; b < kTile; ++b) {
            ctr_.x0[b] = row_ & 0xFFFFFFFFu;
            ctr_.x1[b] = row_ >> 32;
            ctr_.x2[b] = uint64_t(next_slot_);
            if (++next_slot_ == slots_) {
                next_slot_ = 0;
                ++row_;
            }
        }
    }

    PhiloxLanes ctr_;
    uint64_t row_;
    int64_t slots_;
    int64_t slot_ = 0, next_slot_ = 0;
};

// Generates rows [r0, r1) into out (r1 - r0, dim): out points at row r0, kPer values per block.
//
// A transform has first(words, dst, count): column 0 of `count` blocks straight to dst (a
// row is one value), and all(words, v): column k of block b to v[k][b] (structure of
// arrays, so that it vectorises), which is then copied out to the rows.
template <int kPer, class T, class Transform>
GENSAMPLE_INLINE void generate_rows(const Key& key, int64_t r0, int64_t r1, int64_t dim, T* out, Transform transform) {
    const int64_t slots = (dim + kPer - 1) / kPer;
    const int64_t n_blocks = (r1 - r0) * slots;
    const PhiloxTileFn philox = philox_tile();
    CounterTiles counters(r0, slots);
    PhiloxLanes words;
    alignas(64) T vals[kPer][kTile];
    T* dst = out;
    for (int64_t q = 0; q < n_blocks; q += kTile) {
        philox(key.k0, key.k1, counters.lanes(), words);
        const int count = int(std::min<int64_t>(kTile, n_blocks - q));
        if (dim == 1) {
            transform.first(words, dst, count);
            dst += count;
        } else if (dim % kPer == 0) {  // blocks fill whole rows: interleave
            transform.all(words, vals);
            for (int b = 0; b < count; ++b) {
                for (int k = 0; k < kPer; ++k) dst[b * kPer + k] = vals[k][b];
            }
            dst += count * kPer;
        } else {
            transform.all(words, vals);
            int64_t s = counters.slot();
            for (int b = 0; b < count; ++b) {
                const int64_t take = std::min<int64_t>(kPer, dim - s * kPer);
                for (int64_t k = 0; k < take; ++k) *dst++ = vals[k][b];
                if (++s == slots) s = 0;
            }
        }
        counters.advance();
    }
}

GENSAMPLE_INLINE double u53(uint64_t lo_lane, uint64_t hi_lane) { return u01_from_u64(word64(lo_lane, hi_lane)); }

GENSAMPLE_INLINE float u24(uint64_t lane) { return u01f_from_u32(uint32_t(lane)); }

struct UniformF64 {
    GENSAMPLE_INLINE void first(const PhiloxLanes& w, double* dst, int count) const {
        for (int b = 0; b < count; ++b) dst[b] = u53(w.x0[b], w.x1[b]);
    }
    GENSAMPLE_INLINE void all(const PhiloxLanes& w, double (*v)[kTile]) const {
        for (int b = 0; b < kTile; ++b) {
            v[0][b] = u53(w.x0[b], w.x1[b]);
            v[1][b] = u53(w.x2[b], w.x3[b]);
        }
    }
};

struct UniformF32 {
    GENSAMPLE_INLINE void first(const PhiloxLanes& w, float* dst, int count) const {
        for (int b = 0; b < count; ++b) dst[b] = u24(w.x0[b]);
    }
    GENSAMPLE_INLINE void all(const PhiloxLanes& w, float (*v)[kTile]) const {
        for (int b = 0; b < kTile; ++b) {
            v[0][b] = u24(w.x0[b]);
            v[1][b] = u24(w.x1[b]);
            v[2][b] = u24(w.x2[b]);
            v[3][b] = u24(w.x3[b]);
        }
    }
};

template <class T>
struct Normal {
    GENSAMPLE_INLINE void first(const PhiloxLanes& w, T* dst, int count) const {
        for (int b = 0; b < count; ++b) {
            double z0, z1;
            box_muller(word64(w.x0[b], w.x1[b]), word64(w.x2[b], w.x3[b]), z0, z1);
            dst[b] = T(z0);
        }
    }
    GENSAMPLE_INLINE void all(const PhiloxLanes& w, T (*v)[kTile]) const {
        for (int b = 0; b < kTile; ++b) {
            double z0, z1;
            box_muller(word64(w.x0[b], w.x1[b]), word64(w.x2[b], w.x3[b]), z0, z1);
            v[0][b] = T(z0);
            v[1][b] = T(z1);
        }
    }
};

}  // namespace

GENSAMPLE_DISPATCH
void uniform_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, double* out) {
    generate_rows<2>(Key(key), r0, r1, dim, out, UniformF64{});
}

GENSAMPLE_DISPATCH
void uniform_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, float* out) {
    generate_rows<4>(Key(key), r0, r1, dim, out, UniformF32{});
}

GENSAMPLE_DISPATCH
void normal_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, double* out) {
    generate_rows<2>(Key(key), r0, r1, dim, out, Normal<double>{});
}

GENSAMPLE_DISPATCH
void normal_rows(uint64_t key, int64_t r0, int64_t r1, int64_t dim, float* out) {
    generate_rows<2>(Key(key), r0, r1, dim, out, Normal<float>{});
}

uint64_t bounded_integer(uint64_t w, uint64_t high, const Key& key, uint64_t row, uint32_t slot, int word) {
    uint64_t hi, lo;
    mul_64x64(w, high, hi, lo);
    if (lo < high) {
        const uint64_t threshold = (0 - high) % high;  // 2^64 mod high
        for (uint32_t level = 1; lo < threshold; ++level) {
            if (level > 255) throw std::logic_error("bounded_integer: retry levels exhausted");
            const Block b = key(counter(row, slot, level << kTagRetryShift));
            w = word == 0 ? join64(b.v[0], b.v[1]) : join64(b.v[2], b.v[3]);
            mul_64x64(w, high, hi, lo);
        }
    }
    return hi;
}

void fill_uniform_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, double* out, int n_threads) {
    parallel_for(n, rows_per_task(dim), n_threads,
                 [&](int64_t r0, int64_t r1) { uniform_rows(key, first + r0, first + r1, dim, out + r0 * dim); });
}

void fill_uniform_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, float* out, int n_threads) {
    parallel_for(n, rows_per_task(dim), n_threads,
                 [&](int64_t r0, int64_t r1) { uniform_rows(key, first + r0, first + r1, dim, out + r0 * dim); });
}

void fill_uniform(uint64_t key, int64_t n, int64_t dim, double* out, int n_threads) {
    fill_uniform_rows(key, 0, n, dim, out, n_threads);
}

void fill_uniform(uint64_t key, int64_t n, int64_t dim, float* out, int n_threads) {
    fill_uniform_rows(key, 0, n, dim, out, n_threads);
}

void fill_normal_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, double* out, int n_threads) {
    parallel_for(n, rows_per_task(dim, 8192), n_threads,
                 [&](int64_t r0, int64_t r1) { normal_rows(key, first + r0, first + r1, dim, out + r0 * dim); });
}

void fill_normal_rows(uint64_t key, int64_t first, int64_t n, int64_t dim, float* out, int n_threads) {
    parallel_for(n, rows_per_task(dim, 8192), n_threads,
                 [&](int64_t r0, int64_t r1) { normal_rows(key, first + r0, first + r1, dim, out + r0 * dim); });
}

void fill_normal(uint64_t key, int64_t n, int64_t dim, double* out, int n_threads) {
    fill_normal_rows(key, 0, n, dim, out, n_threads);
}

void fill_normal(uint64_t key, int64_t n, int64_t dim, float* out, int n_threads) {
    fill_normal_rows(key, 0, n, dim, out, n_threads);
}

void fill_integers(uint64_t key, int64_t n, int64_t dim, uint64_t high, int64_t* out, int n_threads) {
    if (high == 0) throw std::invalid_argument("high must be at least 1");
    const Key k(key);
    const int64_t slots = (dim + 1) / 2;
    parallel_for(n, rows_per_task(dim, 4096), n_threads, [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0; i < r1; ++i) {
            for (int64_t s = 0; s < slots; ++s) {
                const Block b = k(counter(uint64_t(i), uint32_t(s)));
                const uint64_t w[2] = {join64(b.v[0], b.v[1]), join64(b.v[2], b.v[3])};
                for (int j = 0; j < 2 && 2 * s + j < dim; ++j) {
                    out[i * dim + 2 * s + j] = int64_t(bounded_integer(w[j], high, k, uint64_t(i), uint32_t(s), j));
                }
            }
        }
    });
}

void philox_blocks(uint64_t key, int64_t m, const uint32_t* counters, uint32_t* out, int n_threads) {
    const Key k(key);
    parallel_for(m, 4096, n_threads, [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) {
            Block c{{counters[4 * i], counters[4 * i + 1], counters[4 * i + 2], counters[4 * i + 3]}};
            const Block r = k(c);
            std::memcpy(out + 4 * i, r.v, sizeof r.v);
        }
    });
}

}  // namespace gensample
