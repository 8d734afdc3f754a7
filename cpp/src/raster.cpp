#include "gensample/raster.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>

#include "gensample/draws.hpp"
#include "gensample/parallel.hpp"

namespace gensample {
namespace {

constexpr double kDegPerRad = 57.295779513082320876798154814105;
constexpr int64_t kRowsPerTask = 4096;

bool active(const uint8_t* m, const double* w, int64_t c) { return m[c] != 0 && (!w || w[c] > 0); }

// Runs in one row: a new run starts where a cell is active and the previous one is not
// active or has another weight.
int64_t count_runs(const uint8_t* m, const double* w, int64_t n_cols) {
    if (!w) {
        int64_t runs = n_cols > 0 && m[0] != 0;
        for (int64_t c = 1; c < n_cols; ++c) runs += (m[c] != 0) & (m[c - 1] == 0);
        return runs;
    }
    int64_t runs = 0;
    for (int64_t c = 0; c < n_cols; ++c) {
        runs += active(m, w, c) && (c == 0 || !active(m, w, c - 1) || w[c - 1] != w[c]);
    }
    return runs;
}

// Index of the run of row `row` holding cell column `col`, or -1. The search runs over the
// dense starts (a row's fit in a cache line or two); the length is side 0 of the run's own
// alias entry, the index's only copy of it.
GENSAMPLE_INLINE int64_t find_run(const RasterView& r, int64_t row, int64_t col) {
    const uint32_t* first = r.start + r.row_ptr[row];
    const uint32_t* last = r.start + r.row_ptr[row + 1];
    const uint32_t* it = std::upper_bound(first, last, uint32_t(col));  // first start > col
    if (it == first) return -1;
    const int64_t k = (it - r.start) - 1;
    return col < int64_t(r.start[k]) + int64_t(r.pick[k].length[0]) ? k : -1;
}

// Writes the leading coordinates (columns 1..dim-1) of a point in row `row`.
template <class T>
GENSAMPLE_INLINE void leading_coords(const RasterView& r, int64_t row, const uint64_t* u, T* x) {
    if (r.sphere()) {
        const double a = r.sin_lat_edge[row], b = r.sin_lat_edge[row + 1], u1 = u01_from_u64(u[1]);
        const double* c = r.lat_series ? r.lat_series + row * 5 : nullptr;
        double lat;
        if (c && c[1] == c[1]) {  // asin by its series about a: exact to rounding in this row
            const double d = u1 * (b - a);
            lat = c[0] + d * (c[1] + d * (c[2] + d * (c[3] + d * c[4])));
        } else {
            lat = std::asin(a + u1 * (b - a));
        }
        x[1] = T(lat * kDegPerRad);
        return;
    }
    int64_t rem = row;
    for (int axis = r.dim - 2; axis >= 0; --axis) {
        const int j = r.dim - 1 - axis;
        const int64_t i = axis > 0 ? rem % r.shape[axis] : rem;  // the first axis: rem is the index
        if (axis > 0) rem /= r.shape[axis];
        x[j] = T(r.origin[j] + (double(i) + u01_from_u64(u[j])) * r.step[j]);
    }
}

// The exact sampler in 2-D, one tile of Philox blocks (two per sample) at a time and phase
// by phase: the table loads of a phase do not wait on one another, so their cache misses
// overlap, and the arithmetic vectorises. The same operations in the same order as the
// per-sample form below, so the same bits.
template <class T>
GENSAMPLE_INLINE void exact_tile_2d(const RasterView& r, const Key& k, int m, const PhiloxLanes& ctr,
                                    const PhiloxLanes& w, T* x) {
    constexpr int kMax = kPhiloxTile / 2;
    const uint64_t n_runs = uint64_t(r.n_runs);
    uint32_t col[kMax], start[kMax], length[kMax], row[kMax];
    for (int a = 0; a < m; ++a) {
        uint64_t c, lo;
        mul_64x64(tile_word(w, 2 * a, 0), n_runs, c, lo);
        if (lo < n_runs) c = column_of(tile_word(w, 2 * a, 0), n_runs, k, tile_row(ctr, a, 2));
        col[a] = uint32_t(c);
        GENSAMPLE_PREFETCH(r.pick + c);
    }
    for (int a = 0; a < m; ++a) {  // both runs loaded, then blended: no load waits on the coin
        const RunPick& p = r.pick[col[a]];
        const uint32_t alias = 0u - uint32_t(!(u01_from_u64(tile_word(w, 2 * a, 1)) < p.prob));
        start[a] = p.start[0] ^ ((p.start[0] ^ p.start[1]) & alias);
        length[a] = p.length[0] ^ ((p.length[0] ^ p.length[1]) & alias);
        row[a] = p.row[0] ^ ((p.row[0] ^ p.row[1]) & alias);
    }
    for (int a = 0; a < m; ++a) {
        const double u0 = u01_from_u64(tile_word(w, 2 * a + 1, 0));
        x[2 * a] = T(r.origin[0] + (double(start[a]) + u0 * double(length[a])) * r.step[0]);
    }
    if (!r.sphere()) {
        for (int a = 0; a < m; ++a) {
            x[2 * a + 1] = T(r.origin[1] + (double(row[a]) + u01_from_u64(tile_word(w, 2 * a + 1, 1))) * r.step[1]);
        }
        return;
    }
    double lat[kMax];
    const double* series = r.lat_series;
    for (int a = 0; series && a < m; ++a) {  // asin by its series about the row's lower edge
        const double* c = series + int64_t(row[a]) * 5;
        const double lo = r.sin_lat_edge[row[a]], hi = r.sin_lat_edge[row[a] + 1];
        const double d = u01_from_u64(tile_word(w, 2 * a + 1, 1)) * (hi - lo);
        lat[a] = c[0] + d * (c[1] + d * (c[2] + d * (c[3] + d * c[4])));
    }
    for (int a = 0; a < m; ++a) {  // rows without a series
        if (series && series[int64_t(row[a]) * 5 + 1] == series[int64_t(row[a]) * 5 + 1]) continue;
        const double lo = r.sin_lat_edge[row[a]], hi = r.sin_lat_edge[row[a] + 1];
        lat[a] = std::asin(lo + u01_from_u64(tile_word(w, 2 * a + 1, 1)) * (hi - lo));
    }
    for (int a = 0; a < m; ++a) x[2 * a + 1] = T(lat[a] * kDegPerRad);
}

template <class T>
GENSAMPLE_INLINE void exact_2d(const RasterView& r, const Key& k, const int64_t* rows, int64_t r0, int64_t count,
                               T* out) {
    const PhiloxTileFn philox = philox_tile();
    constexpr int kPerTile = kPhiloxTile / 2;
    PhiloxLanes ctr{}, w;
    for (int64_t k0 = 0; k0 < count; k0 += kPerTile) {
        const int m = int(std::min<int64_t>(kPerTile, count - k0));
        tile_counters(ctr, rows, r0, k0, m, 2, 0);
        philox(k.k0, k.k1, ctr, w);
        exact_tile_2d(r, k, m, ctr, w, out + 2 * k0);
    }
}

// One clone per instruction set (dispatch.hpp).
GENSAMPLE_DISPATCH
void exact_2d_f64(const RasterView& r, const Key& k, const int64_t* rows, int64_t r0, int64_t count, double* out) {
    exact_2d(r, k, rows, r0, count, out);
}
GENSAMPLE_DISPATCH
void exact_2d_f32(const RasterView& r, const Key& k, const int64_t* rows, int64_t r0, int64_t count, float* out) {
    exact_2d(r, k, rows, r0, count, out);
}
void exact_2d_any(const RasterView& r, const Key& k, const int64_t* rows, int64_t r0, int64_t count, double* out) {
    exact_2d_f64(r, k, rows, r0, count, out);
}
void exact_2d_any(const RasterView& r, const Key& k, const int64_t* rows, int64_t r0, int64_t count, float* out) {
    exact_2d_f32(r, k, rows, r0, count, out);
}

template <class T>
void exact_impl(const RasterView& r, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, T* out,
                int n_threads) {
    const Key k(key);
    if (r.dim == 2) {
        parallel_for(count, kRowsPerTask, n_threads, [&](int64_t a, int64_t b) {
            exact_2d_any(r, k, rows ? rows + a : nullptr, r0 + a, b - a, out + a * 2);
        });
        return;
    }
    const int slots = 1 + (r.dim + 1) / 2;
    parallel_for(count, kRowsPerTask, n_threads, [&](int64_t a, int64_t b) {
        T* dst = out + a * r.dim;
        const uint64_t n_runs = uint64_t(r.n_runs);
        for_each_draw(
            k, rows ? rows + a : nullptr, r0 + a, b - a, slots, 0,
            [&](const uint64_t* w) {  // the table entry, without the rare Lemire retry
                uint64_t col, lo;
                mul_64x64(w[0], n_runs, col, lo);
                GENSAMPLE_PREFETCH(r.pick + col);
            },
            [&](int64_t i, uint64_t row, const uint64_t* w) {
                const RunPick& p = r.pick[column_of(w[0], n_runs, k, row)];
                const int side = u01_from_u64(w[1]) < p.prob ? 0 : 1;
                T* x = dst + i * r.dim;
                const double u0 = u01_from_u64(w[2]);
                x[0] = T(r.origin[0] + (double(p.start[side]) + u0 * double(p.length[side])) * r.step[0]);
                if (r.dim > 1) leading_coords(r, int64_t(p.row[side]), w + 2, x);
            });
    });
}

// Continuous cell coordinates of x (per output column) -> the run, or -1.
GENSAMPLE_INLINE int64_t locate_cells(const RasterView& r, const double* c) {
    int64_t idx[kMaxSlots * 2];
    for (int j = 0; j < r.dim; ++j) {
        const int64_t size = r.shape[r.dim - 1 - j];
        double f = std::floor(c[j]);
        if (f == double(size) && c[j] == double(size)) f = double(size - 1);  // the grid's far edge
        if (!(f >= 0 && f < double(size))) return -1;
        idx[j] = int64_t(f);
    }
    int64_t row = 0;
    for (int axis = 0; axis <= r.dim - 2; ++axis) row = row * r.shape[axis] + idx[r.dim - 1 - axis];
    return find_run(r, row, idx[0]);
}

template <class T>
void locate_impl(const RasterView& r, const T* x, int64_t n, int64_t* run, int n_threads) {
    parallel_for(n, kRowsPerTask, n_threads, [&](int64_t a, int64_t b) {
        double c[kMaxSlots * 2];
        for (int64_t i = a; i < b; ++i) {
            const T* p = x + i * r.dim;
            for (int j = 0; j < r.dim; ++j) c[j] = (double(p[j]) - r.origin[j]) / r.step[j];
            run[i] = locate_cells(r, c);
        }
    });
}

template <class T>
void rejection_impl(const RasterView& r, const double* box_lo, const double* box_hi, uint64_t key, const int64_t* rows,
                    int64_t r0, int64_t count, double min_acceptance, T* out, int n_threads) {
    const Key k(key);
    const int words = r.dim + (r.weighted ? 1 : 0);
    const int slots = (words + 1) / 2;
    constexpr uint32_t kMaxAttempts = 1u << kTagRetryShift;
    constexpr int64_t kMinProposals = int64_t(1) << 22;
    std::atomic<int64_t> proposals{0}, accepted{0};
    std::atomic<bool> stop{false};
    double s_lo = 0, s_hi = 0;
    if (r.sphere()) {
        s_lo = r.sin_lat_edge[int64_t(box_lo[1])];
        s_hi = r.sin_lat_edge[int64_t(box_hi[1])];
    }
    auto give_up = [&](const char* why) {
        stop.store(true);
        const int64_t p = proposals.load(), acc = accepted.load();
        char msg[400];
        std::snprintf(msg, sizeof msg,
                      "rejection sampling %s: measured acceptance %.3g (%lld accepted of %lld proposals) is "
                      "below min_acceptance=%.3g; use method='exact' or a tighter proposal",
                      why, p ? double(acc) / double(p) : 0.0, (long long)acc, (long long)p, min_acceptance);
        throw LowAcceptance(msg);
    };
    parallel_for(count, kRowsPerTask, n_threads, [&](int64_t a, int64_t b) {
        std::vector<int64_t> pending_row(size_t(b - a)), pending_out(size_t(b - a));
        for (int64_t i = a; i < b; ++i) {
            pending_row[size_t(i - a)] = rows ? rows[i] : r0 + i;
            pending_out[size_t(i - a)] = i;
        }
        size_t m = pending_row.size();
        for (uint32_t attempt = 0; m > 0; ++attempt) {
            if (stop.load(std::memory_order_relaxed)) return;
            if (attempt == kMaxAttempts) give_up("ran out of attempts");
            size_t kept = 0;
            int64_t acc = 0;
            for_each_draw(k, pending_row.data(), 0, int64_t(m), slots, attempt,
                          [&](int64_t i, uint64_t, const uint64_t* w) {
                              double c[kMaxSlots * 2];
                              for (int j = 0; j < r.dim; ++j)
                                  c[j] = box_lo[j] + u01_from_u64(w[j]) * (box_hi[j] - box_lo[j]);
                              double lat = 0;
                              if (r.sphere()) {
                                  lat = std::asin(s_lo + u01_from_u64(w[1]) * (s_hi - s_lo)) * kDegPerRad;
                                  c[1] = (lat - r.origin[1]) / r.step[1];
                              }
                              const int64_t run = locate_cells(r, c);
                              bool ok = run >= 0;
                              if (ok && r.weighted) ok = u01_from_u64(w[r.dim]) * r.max_weight < r.weight[run];
                              if (!ok) {
                                  pending_row[kept] = pending_row[size_t(i)];
                                  pending_out[kept++] = pending_out[size_t(i)];
                                  return;
                              }
                              ++acc;
                              T* x = out + pending_out[size_t(i)] * r.dim;
                              for (int j = 0; j < r.dim; ++j) x[j] = T(r.origin[j] + c[j] * r.step[j]);
                              if (r.sphere()) x[1] = T(lat);
                          });
            const int64_t p = proposals.fetch_add(int64_t(m)) + int64_t(m);
            const int64_t total_acc = accepted.fetch_add(acc) + acc;
            if (p >= kMinProposals && double(total_acc) < min_acceptance * double(p)) give_up("cannot finish");
            m = kept;
            try {
                poll_interrupt_in_task();
            } catch (...) {
                stop.store(true);
                throw;
            }
        }
    });
}

}  // namespace

RasterRuns raster_runs(const uint8_t* mask, const double* weights, int64_t n_rows, int64_t n_cols, int n_threads) {
    if (n_cols > int64_t(UINT32_MAX))
        throw std::invalid_argument("mask: the last axis must have fewer than 2^32 cells");
    RasterRuns out;
    out.row_ptr.assign(size_t(n_rows) + 1, 0);
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(n_cols, 1));
    parallel_for(n_rows, grain, n_threads, [&](int64_t a, int64_t b) {
        for (int64_t r = a; r < b; ++r) {
            out.row_ptr[size_t(r) + 1] =
                count_runs(mask + r * n_cols, weights ? weights + r * n_cols : nullptr, n_cols);
        }
    });
    for (int64_t r = 0; r < n_rows; ++r) out.row_ptr[size_t(r) + 1] += out.row_ptr[size_t(r)];
    const size_t n_runs = size_t(out.row_ptr.back());
    out.start.resize(n_runs);
    out.length.resize(n_runs);
    out.weight.resize(n_runs);
    parallel_for(n_rows, grain, n_threads, [&](int64_t a, int64_t b) {
        for (int64_t r = a; r < b; ++r) {
            const uint8_t* m = mask + r * n_cols;
            const double* w = weights ? weights + r * n_cols : nullptr;
            size_t k = size_t(out.row_ptr[size_t(r)]);
            int64_t c = 0;
            while (c < n_cols) {
                if (!active(m, w, c)) {
                    ++c;
                    continue;
                }
                const double wc = w ? w[c] : 1.0;
                int64_t e = c + 1;
                while (e < n_cols && active(m, w, e) && (!w || w[e] == wc)) ++e;
                out.start[k] = uint32_t(c);
                out.length[k] = uint32_t(e - c);
                out.weight[k++] = wc;
                c = e;
            }
        }
    });
    return out;
}

void raster_pick_table(const double* mass, const uint32_t* run_row, const uint32_t* start, const uint32_t* length,
                       int64_t n_runs, RunPick* out) {
    const AliasTable t = build_alias(mass, n_runs);
    for (int64_t c = 0; c < n_runs; ++c) {
        if ((c & 0xFFFF) == 0xFFFF) poll_interrupt();  // first writes to fresh pages can be slow
        const uint32_t run[2] = {uint32_t(c), t.alias[size_t(c)]};
        RunPick& p = out[c];
        p.prob = t.prob[size_t(c)];
        for (int k = 0; k < 2; ++k)
            p.row[k] = run_row[run[k]], p.start[k] = start[run[k]], p.length[k] = length[run[k]];
    }
}

void raster_sample_exact(const RasterView& r, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, double* out,
                         int n_threads) {
    exact_impl(r, key, rows, r0, count, out, n_threads);
}
void raster_sample_exact(const RasterView& r, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, float* out,
                         int n_threads) {
    exact_impl(r, key, rows, r0, count, out, n_threads);
}
void raster_sample_rejection(const RasterView& r, const double* box_lo, const double* box_hi, uint64_t key,
                             const int64_t* rows, int64_t r0, int64_t count, double min_acceptance, double* out,
                             int n_threads) {
    rejection_impl(r, box_lo, box_hi, key, rows, r0, count, min_acceptance, out, n_threads);
}
void raster_sample_rejection(const RasterView& r, const double* box_lo, const double* box_hi, uint64_t key,
                             const int64_t* rows, int64_t r0, int64_t count, double min_acceptance, float* out,
                             int n_threads) {
    rejection_impl(r, box_lo, box_hi, key, rows, r0, count, min_acceptance, out, n_threads);
}
void raster_locate(const RasterView& r, const double* x, int64_t n, int64_t* run, int n_threads) {
    locate_impl(r, x, n, run, n_threads);
}
void raster_locate(const RasterView& r, const float* x, int64_t n, int64_t* run, int n_threads) {
    locate_impl(r, x, n, run, n_threads);
}

}  // namespace gensample
