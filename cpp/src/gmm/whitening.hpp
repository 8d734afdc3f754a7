// Gaussian mixtures, whitening: y = A_k (x - mu_k) for every component, its squared norm,
// for small dimensions unrolled and for general ones by register blocks of factor rows.
//
// A room of gmm.cpp: included by it alone, so compiled in its translation unit with its
// flags (-ffp-contract=fast, gmm.cpp's header says why). Which source file a loop is
// compiled in decides its bits: move code between gmm.cpp's rooms only.
#pragma once

#include "gensample/gmm.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "gensample/dispatch.hpp"
#include "gensample/parallel.hpp"
#include "gensample/simd.hpp"

namespace gensample::gmm {
namespace {

// B: the vector width in bytes, that of the target's registers (density_f64 in gmm.cpp).
using kernel::kExpFloor;
using kernel::kWidth;
using kernel::packed;
using kernel::V;

enum class Mode { density, responsibilities, score, moments };

// Per-task buffers, one vector (a block of points) per entry.
template <class T, int B>
struct Scratch {
    simd::Buffer<T, B> x, y, a, grad;
    Scratch(int64_t dim, int64_t k) : x(size_t(dim)), y(size_t(dim)), a(size_t(k)), grad(size_t(dim)) {}
};

// Points [0, count) of pts (count <= width) into lanes, coordinate i minus the centre in
// x[i * stride]; the padding lanes repeat the last point, so they stay finite.
template <class T, int B>
GENSAMPLE_INLINE void load_block(const T* pts, int64_t count, int64_t dim, const T* centre, V<T, B>* x,
                                 int64_t stride = 1) {
    alignas(64) T lane[kWidth<T, B>];
    for (int64_t i = 0; i < dim; ++i) {
        for (int l = 0; l < kWidth<T, B>; ++l) lane[l] = pts[std::min<int64_t>(l, count - 1) * dim + i];
        x[i * stride] = simd::load<T, B>(lane) - centre[i];
    }
}

// The largest of a[0, K), lane by lane, as a pass of its own: taken inside the loop over
// components, the x86-64-v3 clone computed the running maximum one scalar lane at a time,
// through the stack.
template <class T, int B>
GENSAMPLE_INLINE V<T, B> largest(const V<T, B>* a, int64_t K) {
    V<T, B> m = a[0];
    for (int64_t k = 1; k < K; ++k) m = simd::max<T>(m, a[k]);
    return m;
}

constexpr int kRows = 8;  // rows of y held in registers at a time

// y = A x - b for a dimension known at compile time (kDim <= 4: A's packed rows in f), its
// squares summed; y itself stored when kKeep. Loops unrolled, everything in registers, b
// first (one multiply-add fewer per row).
template <class T, int B, int kDim, bool kKeep>
GENSAMPLE_INLINE V<T, B> factor_small(const T* f, const T* b, const V<T, B>* x, V<T, B>* y) {
    V<T, B> acc[kDim];
#pragma GCC unroll 4
    for (int r = 0; r < kDim; ++r) acc[r] = -b[r] - V<T, B>{};
#pragma GCC unroll 4
    for (int c = 0; c < kDim; ++c) {
        const V<T, B> xc = x[c];
#pragma GCC unroll 4
        for (int r = c; r < kDim; ++r) acc[r] += f[packed(r) + c] * xc;
    }
    V<T, B> q{};
#pragma GCC unroll 4
    for (int r = 0; r < kDim; ++r) {
        if (kKeep) y[r] = acc[r];
        q += acc[r] * acc[r];
    }
    return q;
}

// The factors rearranged for factor_rows_n: per component, per block of kRows rows from j0,
// the columns i < j0 + kRows of those rows, kRows values per column (zero above the
// diagonal and past the last row). One pointer and fixed offsets: no register per row.
template <class T>
struct RowBlocks {
    std::vector<T> values;
    std::vector<int64_t> start;  // offset of each row block within a component
    int64_t per_component = 0;

    explicit RowBlocks(const Mixture<T>& g) {
        const int64_t d = g.dim;
        for (int64_t j0 = 0; j0 < d; j0 += kRows) {
            start.push_back(per_component);
            per_component += (j0 + kRows) * kRows;
        }
        values.assign(size_t(g.k * per_component), T(0));
        for (int64_t k = 0; k < g.k; ++k) {
            const T* f = g.factor + k * packed(d);
            for (size_t blk = 0; blk < start.size(); ++blk) {
                const int64_t j0 = int64_t(blk) * kRows;
                T* out = values.data() + k * per_component + start[blk];
                for (int64_t r = 0; r < kRows && j0 + r < d; ++r) {
                    for (int64_t i = 0; i <= j0 + r; ++i) out[i * kRows + r] = f[packed(j0 + r) + i];
                }
            }
        }
    }
};

// Vectors of points per block of density_blocks, on AVX-512 and AVX2: each factor entry,
// loaded once, feeds three multiply-adds. Three fill the registers without spilling: on
// AVX-512 (32 registers) 24 accumulators, on AVX2 (16; half a block of rows at a time) 12
// accumulators, 3 x vectors and a broadcast.
constexpr int kVectors = 3;
// Rows of y per factor_rows_n call of whiten_n: whole row blocks on AVX-512 (24
// accumulators of 32 registers), half on AVX2 (12 of 16).
template <int B>
constexpr int kSubRows = B == 64 ? kRows : kRows / 2;

// Rows [j0, j0 + kCount) of y = A x - b (kCount <= kRows, known at compile time: no branch
// per row), from one row block fb of RowBlocks, their squares added to s in order; y itself
// stored when kKeep (y_j of vector v in y[j * kVec + v]). Column by column: each x vector is loaded once per
// kCount multiply-adds, and each factor entry, loaded once, feeds kVec of them, one per
// vector of points (coordinate i of vector v in xs[i * kVec + v]: one pointer, fixed
// offsets). Any kVec does the same operations per lane in the same order, so gives the
// same values. b comes last, as a scalar operand: first, it delays every row's chain.
template <class T, int B, int kCount, int kVec, bool kKeep = false>
GENSAMPLE_INLINE void factor_rows_n(const T* fb, const T* b, const V<T, B>* xs, int64_t j0, V<T, B>* s,
                                    V<T, B>* y = nullptr) {
    constexpr int n = kCount;
    V<T, B> acc[kVec][kRows] = {};
    for (int64_t i = 0; i < j0; ++i) {
        V<T, B> u[kVec];
#pragma GCC unroll 4
        for (int v = 0; v < kVec; ++v) u[v] = xs[i * kVec + v];
        const T* column = fb + i * kRows;
#pragma GCC unroll 8
        for (int r = 0; r < kRows; ++r) {
            if (r < n) {
#pragma GCC unroll 4
                for (int v = 0; v < kVec; ++v) acc[v][r] += column[r] * u[v];
            }
        }
    }
    // The diagonal block's entries at fixed offsets from one pointer that GCC cannot follow
    // from block to block: else, for full blocks, it keeps one counter per entry on the stack
    // and adds a block's stride to each of them every call (d = 16: 30 memory adds per
    // component and pass).
    const T* diagonal = fb + j0 * kRows;
    if constexpr (kCount == kRows) GENSAMPLE_OPAQUE(diagonal);
#pragma GCC unroll 8
    for (int c = 0; c < kRows; ++c) {
        if (c >= n) break;
        V<T, B> u[kVec];
#pragma GCC unroll 4
        for (int v = 0; v < kVec; ++v) u[v] = xs[(j0 + c) * kVec + v];
        const T* column = diagonal + c * kRows;
#pragma GCC unroll 8
        for (int r = 0; r < kRows; ++r) {
            if (r >= c && r < n) {
#pragma GCC unroll 4
                for (int v = 0; v < kVec; ++v) acc[v][r] += column[r] * u[v];
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
        if (r < n) {
#pragma GCC unroll 4
            for (int v = 0; v < kVec; ++v) {
                const V<T, B> yr = acc[v][r] - b[j0 + r];
                if constexpr (kKeep) y[(j0 + r) * kVec + v] = yr;
                s[v] += yr * yr;
            }
        }
    }
}

// The last, partial block of rows (1 to kRows - 1 of them).
template <class T, int B, int kVec, bool kKeep = false>
GENSAMPLE_INLINE void partial_rows(const T* fb, const T* b, const V<T, B>* xs, int64_t j0, int rows, V<T, B>* s,
                                   V<T, B>* y = nullptr) {
    switch (rows) {
        case 1: return factor_rows_n<T, B, 1, kVec, kKeep>(fb, b, xs, j0, s, y);
        case 2: return factor_rows_n<T, B, 2, kVec, kKeep>(fb, b, xs, j0, s, y);
        case 3: return factor_rows_n<T, B, 3, kVec, kKeep>(fb, b, xs, j0, s, y);
        case 4: return factor_rows_n<T, B, 4, kVec, kKeep>(fb, b, xs, j0, s, y);
        case 5: return factor_rows_n<T, B, 5, kVec, kKeep>(fb, b, xs, j0, s, y);
        case 6: return factor_rows_n<T, B, 6, kVec, kKeep>(fb, b, xs, j0, s, y);
        default: return factor_rows_n<T, B, 7, kVec, kKeep>(fb, b, xs, j0, s, y);
    }
}

// |y|^2 of whiten for kVec vectors of points at once (coordinate i of vector v in
// xs[i * kVec + v]), full factors from rb in general dimension, kSub rows of y at a time
// (factor_rows_n: kVec * kSub accumulators); the same operations per lane as whiten (the
// squares summed per block of kRows rows, then added), so the same values; y itself (y_j
// of vector v in y[j * kVec + v]) when kKeep.
template <class T, int B, int kVec, int kSub, bool kKeep = false>
GENSAMPLE_INLINE void whiten_n(const Mixture<T>& g, const RowBlocks<T>& rb, int64_t k, const V<T, B>* xs, V<T, B>* q,
                               V<T, B>* y = nullptr) {
    static_assert(kRows % kSub == 0, "row blocks split into whole sub-blocks");
    const int64_t d = g.dim;
    const T* f = rb.values.data() + k * rb.per_component;
    const T* b = g.offset + k * d;
    for (int v = 0; v < kVec; ++v) q[v] = V<T, B>{};
    int64_t j0 = 0;
    for (size_t blk = 0; j0 < d; j0 += kRows, ++blk) {
        V<T, B> sq[kVec] = {};
        const T* fb = f + rb.start[blk];
        if (j0 + kRows <= d) {
#pragma GCC unroll 2
            for (int r0 = 0; r0 < kRows; r0 += kSub) {
                factor_rows_n<T, B, kSub, kVec, kKeep>(fb + r0, b, xs, j0 + r0, sq, y);
            }
        } else {  // the last, partial block
            int r0 = 0;
            for (; r0 + kSub <= d - j0; r0 += kSub) {
                factor_rows_n<T, B, kSub, kVec, kKeep>(fb + r0, b, xs, j0 + r0, sq, y);
            }
            if (j0 + r0 < d) partial_rows<T, B, kVec, kKeep>(fb + r0, b, xs, j0 + r0, int(d - j0 - r0), sq, y);
        }
        for (int v = 0; v < kVec; ++v) q[v] += sq[v];
    }
}

// |y|^2 for y = A_k (x - m) - b_k = A_k (x - mu_k); y itself into y when kKeep. kDim > 0:
// the dimension, known at compile time (d <= 4); else full factors come from rb.
template <class T, int B, bool kDiag, int kDim, bool kKeep>
GENSAMPLE_INLINE V<T, B> whiten(const Mixture<T>& g, const RowBlocks<T>* rb, int64_t k, const V<T, B>* x, V<T, B>* y) {
    const int64_t d = kDim > 0 ? kDim : g.dim;
    const T* b = g.offset + k * d;
    if (kDiag) {
        const T* f = g.factor + k * d;
        V<T, B> q{};
#pragma GCC unroll 8
        for (int64_t i = 0; i < d; ++i) {
            const V<T, B> yi = f[i] * x[i] - b[i];
            if (kKeep) y[i] = yi;
            q += yi * yi;
        }
        return q;
    }
    if constexpr (kDim > 0) return factor_small<T, B, kDim, kKeep>(g.factor + k * packed(d), b, x, y);
    const T* f = rb->values.data() + k * rb->per_component;
    V<T, B> q{};
    int64_t j0 = 0;
    for (size_t blk = 0; j0 < d; j0 += kRows, ++blk) {
        V<T, B> s{};  // squares summed per block of rows, then added
        if (j0 + kRows <= d) {
            factor_rows_n<T, B, kRows, 1, kKeep>(f + rb->start[blk], b, x, j0, &s, y);
        } else {
            partial_rows<T, B, 1, kKeep>(f + rb->start[blk], b, x, j0, int(d - j0), &s, y);
        }
        q += s;
    }
    return q;
}

}  // namespace
}  // namespace gensample::gmm
