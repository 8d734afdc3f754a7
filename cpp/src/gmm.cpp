// The Gaussian mixture engine (gmm.hpp): log-densities, responsibilities, scores and the
// fused E-step sums.
//
// Compiled with -ffp-contract=fast, as kde.cpp: the FMA clones fuse the triangular
// products and the exp polynomial, so a value may differ in the last bits between
// instruction sets; it never depends on the thread count. No random stream reads it.
// Each instruction set runs on vectors of its own register width (density_f64 and its
// siblings): a point's values do not depend on the width, the EM sums (added lane by lane) do.
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

// B: the vector width in bytes, that of the target's registers (density_f64 below).
template <class T, int B>
using V = simd::VN<T, B>;

template <class T, int B>
constexpr int kWidth = simd::VecN<T, B>::kWidth;

template <class T>
constexpr T kExpFloor = T(-708);  // exp of it is still a normal double
template <>
constexpr float kExpFloor<float> = -87.0f;

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

constexpr int64_t packed(int64_t d) { return d * (d + 1) / 2; }

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

// Vectors of points per block of density_blocks, on AVX-512 and AVX2. On AVX-512 (32
// registers, 24 accumulators) three beat two by 8-14 % from d = 9 to 32 on a Xeon; with the
// partial row block's size known at compile time (partial_rows), by -2 to +1 % at d = 5-8.
// On AVX2 (16 registers; half a block of rows at a time: 12 accumulators, 3 x vectors and
// a broadcast) three beat two by 1-10 % from d = 5 to 32 in float64 and float32 (AMD EPYC
// Zen 3, one thread, the two builds alternating in one process; a build against itself:
// within 4 %); two had beaten one vector and whole blocks by 15-44 %.
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
// same values. b comes last, as a scalar operand: first, it cost 8-14 % at d = 12 and 16.
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
    // component and pass, 10 % of the time).
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
GENSAMPLE_INLINE void whiten_n(const Mixture<T>& g, const RowBlocks<T>& rb, int64_t k, const V<T, B>* xs,
                               V<T, B>* q, V<T, B>* y = nullptr) {
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
GENSAMPLE_INLINE V<T, B> whiten(const Mixture<T>& g, const RowBlocks<T>* rb, int64_t k, const V<T, B>* x,
                                V<T, B>* y) {
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

struct Outputs {
    void* out = nullptr;       // density: (m,)
    void* log_resp = nullptr;  // responsibilities: (m, k)
    bool probabilities = false;  // responsibilities: p(k | x) in log_resp instead of log p(k | x)
    const double* v = nullptr;  // moments: sample weights
    double* partial = nullptr;  // moments: this chunk's sums
    bool full = true;          // moments: full second moments, or their diagonal
    const void* row_blocks = nullptr;  // RowBlocks<T> of full factors in general dimension (row_blocks_for)
};

// grad -= A^T ry for one component (A lower triangular, packed rows f) and kVec vectors
// of points (entry i of vector v at [i * kVec + v]), kN entries of grad per vector in
// registers at a time; each entry's terms in order of the rows j, as a pass row by row
// would (which, updating grad in memory once per entry and row, took 45 % of a profile of
// the score at d = 16).
template <class T, int B, int kVec, int kN>
GENSAMPLE_INLINE void subtract_transposed(const T* f, const V<T, B>* ry, int64_t d, V<T, B>* grad) {
    for (int64_t i0 = 0; i0 < d; i0 += kN) {
        V<T, B> acc[kN][kVec];
#pragma GCC unroll 8
        for (int r = 0; r < kN; ++r) {
#pragma GCC unroll 4
            for (int v = 0; v < kVec; ++v) acc[r][v] = i0 + r < d ? grad[(i0 + r) * kVec + v] : V<T, B>{};
        }
#pragma GCC unroll 8
        for (int c = 0; c < kN; ++c) {  // rows j = i0 + c: entries i0 + r <= j
            if (i0 + c >= d) break;
            const T* row = f + packed(i0 + c) + i0;
            const V<T, B>* ryj = ry + (i0 + c) * kVec;
#pragma GCC unroll 8
            for (int r = 0; r < kN; ++r) {
                if (r <= c) {
#pragma GCC unroll 4
                    for (int v = 0; v < kVec; ++v) acc[r][v] -= row[r] * ryj[v];
                }
            }
        }
        for (int64_t j = i0 + kN; j < d; ++j) {
            const T* row = f + packed(j) + i0;
            const V<T, B>* ryj = ry + j * kVec;
#pragma GCC unroll 8
            for (int r = 0; r < kN; ++r) {
#pragma GCC unroll 4
                for (int v = 0; v < kVec; ++v) acc[r][v] -= row[r] * ryj[v];
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < kN; ++r) {
            if (i0 + r >= d) break;
#pragma GCC unroll 4
            for (int v = 0; v < kVec; ++v) grad[(i0 + r) * kVec + v] = acc[r][v];
        }
    }
}

// (vmax + log sum exp(a - vmax)) of one vector of points into out[0, count), vmax the
// largest a.
template <class T, int B>
GENSAMPLE_INLINE void store_log_sum(const V<T, B>* a, int64_t K, int64_t count, T* out) {
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    const V<T, B> vmax = largest<T, B>(a, K);
    V<T, B> sum{};
    for (int64_t k = 0; k < K; ++k) sum += simd::exp_nonpositive(simd::max<T>(a[k] - vmax, floor));
    alignas(64) T lanes[kWidth<T, B>];
    simd::store(lanes, vmax + simd::log_positive(sum));
    for (int64_t l = 0; l < count; ++l) out[l] = lanes[l];
}

// store_log_sum, then the responsibilities of those points into rows [0, count) of K values
// of lr: a - vmax - log sum (a - vmax clamped at the floor), or with kProb
// p(k | x) = exp(a - vmax) / sum, from the log-sum's own exps.
template <class T, int B, bool kProb>
GENSAMPLE_INLINE void store_responsibilities(V<T, B>* a, int64_t K, int64_t count, T* out, T* lr) {
    constexpr int64_t kW = kWidth<T, B>;
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    const V<T, B> vmax = largest<T, B>(a, K);
    V<T, B> sum{};
    for (int64_t k = 0; k < K; ++k) {
        a[k] = simd::max<T>(a[k] - vmax, floor);
        const V<T, B> e = simd::exp_nonpositive(a[k]);
        sum += e;
        if constexpr (kProb) a[k] = e;
    }
    const V<T, B> log_sum = simd::log_positive(sum);
    alignas(64) T lanes[kW];
    simd::store(lanes, vmax + log_sum);
    for (int64_t l = 0; l < count; ++l) out[l] = lanes[l];
    const V<T, B> inv_sum = T(1) / sum;
    for (int64_t k = 0; k < K; ++k) {
        simd::store(lanes, kProb ? a[k] * inv_sum : a[k] - log_sum);
        for (int64_t l = 0; l < count; ++l) lr[l * K + k] = lanes[l];
    }
}

template <class T, int B>
GENSAMPLE_INLINE void store_responsibilities(V<T, B>* a, int64_t K, int64_t count, T* out, T* lr,
                                             bool probabilities) {
    if (probabilities) return store_responsibilities<T, B, true>(a, K, count, out, lr);
    store_responsibilities<T, B, false>(a, K, count, out, lr);
}

// For the score: a[k] takes e_k = exp(a[k] - vmax), clamped as in store_log_sum; returns
// 1 / sum_k e_k, so that r_k = e_k / sum needs no second exp.
template <class T, int B>
GENSAMPLE_INLINE V<T, B> exp_shifted(V<T, B>* a, int64_t K) {
    const V<T, B> floor = simd::broadcast<B>(kExpFloor<T>);
    const V<T, B> vmax = largest<T, B>(a, K);
    V<T, B> sum{};
    for (int64_t k = 0; k < K; ++k) {
        a[k] = simd::exp_nonpositive(simd::max<T>(a[k] - vmax, floor));
        sum += a[k];
    }
    return T(1) / sum;
}

// The score's grad = -sum_k e_k A_k^T y_k (unscaled), held in registers over the K
// components: updated in memory once per component instead, each update waited for the
// last one's store to reach the load (d = 2: 40 % of the score's time). Each entry's terms
// in the order of subtract_transposed, so the same values.
//
// Entries [i0, i0 + kN) of grad for diagonal factors (f: the K x d diagonals).
template <class T, int B, int kN>
GENSAMPLE_INLINE void subtract_diagonal(const Mixture<T>& g, const V<T, B>* e, const V<T, B>* ys, int64_t i0,
                                        V<T, B>* grad) {
    const int64_t d = g.dim;
    V<T, B> acc[kN] = {};
    for (int64_t k = 0; k < g.k; ++k) {
        const V<T, B>* y = ys + k * d + i0;
        const T* f = g.factor + k * d + i0;
#pragma GCC unroll 4
        for (int i = 0; i < kN; ++i) acc[i] -= f[i] * (e[k] * y[i]);
    }
    for (int i = 0; i < kN; ++i) grad[i0 + i] = acc[i];
}

// All kDim entries of grad for full factors of a dimension known at compile time.
template <class T, int B, int kDim>
GENSAMPLE_INLINE void subtract_transposed_small(const Mixture<T>& g, const V<T, B>* e, const V<T, B>* ys,
                                                V<T, B>* grad) {
    V<T, B> acc[kDim] = {};
    for (int64_t k = 0; k < g.k; ++k) {
        const V<T, B>* y = ys + k * kDim;
        const T* f = g.factor + k * packed(kDim);
#pragma GCC unroll 4
        for (int j = 0; j < kDim; ++j) {  // row j of A: entries i <= j
            const V<T, B> ry = e[k] * y[j];
#pragma GCC unroll 4
            for (int i = 0; i <= j; ++i) acc[i] -= f[packed(j) + i] * ry;
        }
    }
    for (int i = 0; i < kDim; ++i) grad[i] = acc[i];
}

// Points [p0, p1) of x.
template <class T, int B, Mode M, bool kDiag, int kDim>
GENSAMPLE_INLINE void run_range(const Mixture<T>& g, const T* x, int64_t p0, int64_t p1, const Outputs& o) {
    const int64_t d = kDim > 0 ? kDim : g.dim, K = g.k;
    const auto* rb = static_cast<const RowBlocks<T>*>(o.row_blocks);
    Scratch<T, B> s(d, K);
    constexpr bool kScore = M == Mode::score;
    simd::Buffer<T, B> ys(kScore ? size_t(K * d) : 0);  // score: each component's y, kept for the gradient
    alignas(64) T lanes[kWidth<T, B>];
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += kWidth<T, B>) {
        const int64_t count = std::min<int64_t>(kWidth<T, B>, p1 - p);
        load_block<T, B>(x + p * d, count, d, g.centre, s.x.data());
        for (int64_t k = 0; k < K; ++k) {
            V<T, B>* y = kScore ? ys.data() + k * d : s.y.data();
            const V<T, B> q = whiten<T, B, kDiag, kDim, kScore>(g, rb, k, s.x.data(), y);
            s.a[size_t(k)] = g.log_coef[k] - T(0.5) * q;
        }
        if constexpr (M == Mode::density) {
            store_log_sum<T, B>(s.a.data(), K, count, static_cast<T*>(o.out) + p);
        } else if constexpr (M == Mode::responsibilities) {
            store_responsibilities<T, B>(s.a.data(), K, count, static_cast<T*>(o.out) + p,
                                         static_cast<T*>(o.log_resp) + p * K, o.probabilities);
        } else if constexpr (M == Mode::score) {
            const V<T, B> inv_sum = exp_shifted<T, B>(s.a.data(), K);
            // grad = -sum_k r_k A_k^T y_k with r_k = e_k / sum: e_k A_k^T y_k summed, then divided.
            // Diagonal factors and d <= 4 keep grad in registers over all components.
            if constexpr (kDiag) {
                int64_t i0 = 0;
                for (; i0 + 4 <= d; i0 += 4) subtract_diagonal<T, B, 4>(g, s.a.data(), ys.data(), i0, s.grad.data());
                switch (d - i0) {
                    case 1: subtract_diagonal<T, B, 1>(g, s.a.data(), ys.data(), i0, s.grad.data()); break;
                    case 2: subtract_diagonal<T, B, 2>(g, s.a.data(), ys.data(), i0, s.grad.data()); break;
                    case 3: subtract_diagonal<T, B, 3>(g, s.a.data(), ys.data(), i0, s.grad.data()); break;
                    default: break;
                }
            } else if constexpr (kDim > 0) {
                subtract_transposed_small<T, B, kDim>(g, s.a.data(), ys.data(), s.grad.data());
            } else {
                for (size_t i = 0; i < s.grad.size(); ++i) s.grad[i] = V<T, B>{};
                for (int64_t k = 0; k < K; ++k) {  // grad -= e A^T y, A lower triangular
                    const V<T, B> r = s.a[size_t(k)];
                    const V<T, B>* y = ys.data() + k * d;
                    for (int64_t j = 0; j < d; ++j) s.y[size_t(j)] = r * y[j];
                    subtract_transposed<T, B, 1, 8>(g.factor + k * packed(d), s.y.data(), d, s.grad.data());
                }
            }
            T* out = static_cast<T*>(o.out) + p * d;
            for (int64_t i = 0; i < d; ++i) {
                simd::store(lanes, s.grad[size_t(i)] * inv_sum);
                for (int64_t l = 0; l < count; ++l) out[l * d + i] = lanes[l];
            }
        }
        if ((++blocks & 255) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
}

// The E-step sums (moments_blocks) take kMomentVectors vectors of points at a time, and
// the second moments a tile of kTileRows x kTileCols<B> accumulators at a time (12 of
// AVX2's and SSE2's 16 registers, 24 of AVX-512's 32), each accumulator loaded and stored
// once per block instead of once per vector: one vector at a time, the load, multiply-add
// and store of every entry of every component took 4.6 times the E-step's log-densities
// (d = 16, K = 16).
constexpr int kMomentVectors = 3 * kVectors;
constexpr int kTileRows = 4;
template <int B>
constexpr int kTileCols = B == 64 ? 6 : 3;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Rows [i0, i0 + kTileRows) x columns [j0, j0 + kTileCols) of the second moments (rows of
// dc values from sk) += sum over the block's vectors of rd_i diff_j, vector by vector.
template <int B>
GENSAMPLE_INLINE void second_tile(V<double, B>* sk, int64_t dc, const V<double, B>* rd, const V<double, B>* diff,
                                  int64_t stride, int nv, int64_t i0, int64_t j0) {
    constexpr int R = kTileRows, C = kTileCols<B>;
    V<double, B> acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 6
        for (int c = 0; c < C; ++c) acc[r][c] = sk[(i0 + r) * dc + j0 + c];
    }
    for (int v = 0; v < nv; ++v) {
        const V<double, B>* dv = diff + v * stride + j0;
        const V<double, B>* rv = rd + v * stride + i0;
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const V<double, B> rdi = rv[r];
#pragma GCC unroll 6
            for (int c = 0; c < C; ++c) acc[r][c] += rdi * dv[c];
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 6
        for (int c = 0; c < C; ++c) sk[(i0 + r) * dc + j0 + c] = acc[r][c];
    }
}

// The lower triangle of the second moments for d = kDim <= 4 (at most 10 accumulators, in
// registers; sk packed) += sum over the block's vectors of rd_i diff_j.
template <int B, int kDim>
GENSAMPLE_INLINE void second_small(V<double, B>* sk, const V<double, B>* rd, const V<double, B>* diff, int64_t stride,
                                   int nv) {
    V<double, B> acc[packed(kDim)];
    for (int e = 0; e < packed(kDim); ++e) acc[e] = sk[e];
    for (int v = 0; v < nv; ++v) {
#pragma GCC unroll 4
        for (int i = 0; i < kDim; ++i) {
            const V<double, B> rdi = rd[v * stride + i];
#pragma GCC unroll 4
            for (int j = 0; j <= i; ++j) acc[packed(i) + j] += rdi * diff[v * stride + j];
        }
    }
    for (int e = 0; e < packed(kDim); ++e) sk[e] = acc[e];
}

// The fused E-step sums over points [p0, p1) (float64): per component the responsibility-
// weighted count, first and second moments about its mean, and the weighted log-likelihood,
// into o.partial (the layout of em_moments). Every accumulator adds its terms lane by lane
// in point order, as one vector at a time would. In general dimension the second moments
// are accumulated as whole tiles of a (d rounded up to kTileRows) x (d rounded up to
// kTileCols) matrix, padded with zeros, of which the lower triangle is kept. kGroup vectors are whitened together
// (whiten_n, kGroup > 1: full factors in general dimension on AVX2 and AVX-512; coordinate
// i of the block's vector v in xs[((v / kGroup) d + i) kGroup + v % kGroup]).
template <int B, bool kDiag, int kDim, int kGroup>
GENSAMPLE_INLINE void moments_blocks(const Mixture<double>& g, const double* x, int64_t p0, int64_t p1,
                                     const Outputs& o) {
    using T = double;
    using VT = V<T, B>;
    constexpr int64_t kW = kWidth<T, B>;
    constexpr int P = kMomentVectors, R = kTileRows, C = kTileCols<B>, G = kGroup;
    static_assert(P % G == 0, "blocks of whole groups");
    const int64_t d = kDim > 0 ? kDim : g.dim, K = g.k;
    const int64_t dr = round_up(d, R), dc = round_up(d, C), stride = std::max(dr, dc);
    const int64_t m2 = !o.full ? d : kDim > 0 ? packed(d) : dr * dc;
    const auto* rb = static_cast<const RowBlocks<T>*>(o.row_blocks);
    Scratch<T, B> s(d, K);
    simd::Buffer<T, B> xs(size_t(P * d)), ga(size_t(G * K)), resp(size_t(P * K));
    simd::Buffer<T, B> diff(size_t(P * stride)), rd(size_t(P * stride));  // zero past d
    simd::Buffer<T, B> acc(size_t(K * (1 + d + m2) + 1));  // weight (K), first (K d), second (K m2), log-lik
    VT* weight = acc.data();
    VT* first = weight + K;
    VT* second = first + K * d;
    VT& ll = acc[acc.size() - 1];
    const VT floor = simd::broadcast<B>(kExpFloor<T>);
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += P * kW) {
        const int nv = int(std::min<int64_t>(P, (p1 - p + kW - 1) / kW));
        for (int v = 0; v < round_up(nv, G); ++v) {  // a short last group repeats the block's first point
            const int64_t q = v < nv ? p + v * kW : p, count = std::min<int64_t>(kW, p1 - q);
            load_block<T, B>(x + q * d, count, d, g.centre, xs.data() + (v / G) * d * G + v % G, G);
        }
        for (int v = 0; v < nv; ++v) {
            if constexpr (G > 1) {
                if (v % G == 0) {
                    VT qs[G];
                    for (int64_t k = 0; k < K; ++k) {
                        whiten_n<T, B, G, kSubRows<B>>(g, *rb, k, xs.data() + v * d, qs);
                        for (int u = 0; u < G; ++u) ga[size_t(u * K + k)] = g.log_coef[k] - T(0.5) * qs[u];
                    }
                }
                for (int64_t k = 0; k < K; ++k) s.a[size_t(k)] = ga[size_t((v % G) * K + k)];
            } else {
                for (int64_t k = 0; k < K; ++k) {
                    const VT qk = whiten<T, B, kDiag, kDim, false>(g, rb, k, xs.data() + v * d, s.y.data());
                    s.a[size_t(k)] = g.log_coef[k] - T(0.5) * qk;
                }
            }
            const int64_t q = p + v * kW, count = std::min<int64_t>(kW, p1 - q);
            const VT vmax = largest<T, B>(s.a.data(), K);
            VT sum{};
            for (int64_t k = 0; k < K; ++k) {  // s.a takes exp(a - vmax), kept for the responsibilities
                s.a[size_t(k)] = simd::exp_nonpositive(simd::max<T>(s.a[size_t(k)] - vmax, floor));
                sum += s.a[size_t(k)];
            }
            const VT log_sum = simd::log_positive(sum);
            alignas(64) T vw[kW] = {};  // the padding lanes weigh nothing
            for (int64_t l = 0; l < count; ++l) vw[l] = o.v[q + l];
            const VT w = simd::load<T, B>(vw);
            ll += w * (vmax + log_sum);
            // r = exp(a - vmax) / sum: one exp per pair, not a second one of a - vmax - log sum
            const VT w_over_sum = w / sum;
            for (int64_t k = 0; k < K; ++k) resp[size_t(v * K + k)] = w_over_sum * s.a[size_t(k)];
        }
        for (int64_t k = 0; k < K; ++k) {
            const T* mu = g.mean + k * d;
            for (int v = 0; v < nv; ++v) {
                const VT r = resp[size_t(v * K + k)];
                weight[k] += r;
                const VT* xv = xs.data() + (v / G) * d * G + v % G;
                VT* dv = diff.data() + v * stride;
                VT* rv = rd.data() + v * stride;
                for (int64_t i = 0; i < d; ++i) {
                    dv[i] = xv[i * G] - mu[i];
                    rv[i] = r * dv[i];
                }
            }
            VT* fk = first + k * d;
            for (int64_t i = 0; i < d; ++i) {
                VT f = fk[i];
                for (int v = 0; v < nv; ++v) f += rd[size_t(v * stride + i)];
                fk[i] = f;
            }
            VT* sk = second + k * m2;
            if (o.full) {
                if constexpr (kDim > 0) {
                    second_small<B, kDim>(sk, rd.data(), diff.data(), stride, nv);
                } else {
                    for (int64_t i0 = 0; i0 < d; i0 += R) {
                        for (int64_t j0 = 0; j0 < i0 + R && j0 < d; j0 += C) {
                            second_tile<B>(sk, dc, rd.data(), diff.data(), stride, nv, i0, j0);
                        }
                    }
                }
            } else {
                for (int64_t i = 0; i < d; ++i) {
                    VT a = sk[i];
                    for (int v = 0; v < nv; ++v) a += rd[size_t(v * stride + i)] * diff[size_t(v * stride + i)];
                    sk[i] = a;
                }
            }
        }
        if ((++blocks & 31) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
    double* out = o.partial;
    for (int64_t i = 0; i < K * (1 + d); ++i) *out++ = simd::hsum<double>(acc[size_t(i)]);
    for (int64_t k = 0; k < K; ++k) {
        const VT* sk = second + k * m2;
        if (o.full) {
            for (int64_t i = 0; i < d; ++i) {
                for (int64_t j = 0; j <= i; ++j) *out++ = simd::hsum<double>(sk[kDim > 0 ? packed(i) + j : i * dc + j]);
            }
        } else {
            for (int64_t i = 0; i < d; ++i) *out++ = simd::hsum<double>(sk[i]);
        }
    }
    *out = simd::hsum<double>(ll);
}

// kVec vectors of points from p on, interleaved (xbuf[j * kVec + v]), their point counts
// into counts (0 for a vector past p1, which repeats the first point instead).
template <class T, int B, int kVec>
GENSAMPLE_INLINE void load_blocks(const Mixture<T>& g, const T* x, int64_t p, int64_t p1, V<T, B>* xbuf,
                                  int64_t* counts) {
    constexpr int64_t kW = kWidth<T, B>;
    for (int v = 0; v < kVec; ++v) {
        counts[v] = std::clamp<int64_t>(p1 - (p + v * kW), 0, kW);
        const bool used = counts[v] > 0;
        load_block<T, B>(x + (used ? p + v * kW : p) * g.dim, used ? counts[v] : 1, g.dim, g.centre, xbuf + v, kVec);
    }
}

// a[v * K + k] = log_coef_k - |y|^2 / 2 for the kVec vectors of points in xs (whiten_n);
// when kKeep, each component's y into ys + k * d * kVec (the layout of whiten_n's y).
template <class T, int B, int kVec, int kSub, bool kKeep = false>
GENSAMPLE_INLINE void log_weights_n(const Mixture<T>& g, const RowBlocks<T>& rb, const V<T, B>* xs, V<T, B>* a,
                                    V<T, B>* ys = nullptr) {
    const int64_t d = g.dim, K = g.k;
    for (int64_t k = 0; k < K; ++k) {
        V<T, B> q[kVec];
        whiten_n<T, B, kVec, kSub, kKeep>(g, rb, k, xs, q, kKeep ? ys + k * d * kVec : nullptr);
        for (int v = 0; v < kVec; ++v) a[v * K + k] = g.log_coef[k] - T(0.5) * q[v];
    }
}

// The log-density (and the responsibilities into log_resp, unless null: their logs, or
// with probabilities p(k | x) itself) for full covariances in general dimension, kVec
// vectors of points per block, kSub rows of y at a time (whiten_n); the same operations per
// lane as run_range, so the same values. A short last block fills its missing vectors with
// its first point.
template <class T, int B, int kVec, int kSub>
GENSAMPLE_INLINE void density_blocks(const Mixture<T>& g, const RowBlocks<T>& rb, const T* x, int64_t p0, int64_t p1,
                                     T* out, T* log_resp, bool probabilities) {
    static_assert(kRows % kSub == 0, "row blocks split into whole sub-blocks");
    const int64_t d = g.dim, K = g.k;
    constexpr int64_t kW = kWidth<T, B>;
    simd::Buffer<T, B> xbuf{size_t(kVec * d)}, abuf{size_t(kVec * K)};
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += kVec * kW) {
        int64_t counts[kVec];
        load_blocks<T, B, kVec>(g, x, p, p1, xbuf.data(), counts);
        log_weights_n<T, B, kVec, kSub>(g, rb, xbuf.data(), abuf.data());
        for (int v = 0; v < kVec; ++v) {
            if (counts[v] == 0) continue;
            const int64_t q = p + v * kW;
            if (log_resp) {
                store_responsibilities<T, B>(abuf.data() + v * K, K, counts[v], out + q, log_resp + q * K, probabilities);
            } else {
                store_log_sum<T, B>(abuf.data() + v * K, K, counts[v], out + q);
            }
        }
        if ((++blocks & 127) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
}

// The score for full covariances in general dimension, kVec vectors of points per block:
// y of every component kept from the log-density pass (whiten_n), then grad = -sum_k r_k
// A_k^T y_k, each factor entry feeding kVec multiply-adds (kN gradient entries per vector
// in registers: 12 or 24 accumulators). The same operations per lane as run_range, so the
// same values.
template <class T, int B, int kVec, int kSub>
GENSAMPLE_INLINE void score_blocks(const Mixture<T>& g, const RowBlocks<T>& rb, const T* x, int64_t p0, int64_t p1,
                                   T* out) {
    constexpr int kN = B == 64 ? 8 : 4;
    const int64_t d = g.dim, K = g.k;
    constexpr int64_t kW = kWidth<T, B>;
    simd::Buffer<T, B> xbuf{size_t(kVec * d)}, abuf{size_t(kVec * K)}, ys{size_t(K * d * kVec)};
    simd::Buffer<T, B> ry{size_t(d * kVec)}, grad{size_t(d * kVec)};
    alignas(64) T lanes[kW];
    int64_t blocks = 0;
    for (int64_t p = p0; p < p1; p += kVec * kW) {
        int64_t counts[kVec];
        load_blocks<T, B, kVec>(g, x, p, p1, xbuf.data(), counts);
        log_weights_n<T, B, kVec, kSub, true>(g, rb, xbuf.data(), abuf.data(), ys.data());
        V<T, B> inv_sum[kVec];
        for (int v = 0; v < kVec; ++v) inv_sum[v] = exp_shifted<T, B>(abuf.data() + v * K, K);
        for (int64_t i = 0; i < d * kVec; ++i) grad[size_t(i)] = V<T, B>{};
        for (int64_t k = 0; k < K; ++k) {  // grad -= e A^T y, A lower triangular
            V<T, B> r[kVec];
            for (int v = 0; v < kVec; ++v) r[v] = abuf[size_t(v * K + k)];
            const V<T, B>* y = ys.data() + k * d * kVec;
            for (int64_t j = 0; j < d; ++j) {
#pragma GCC unroll 4
                for (int v = 0; v < kVec; ++v) ry[size_t(j * kVec + v)] = r[v] * y[j * kVec + v];
            }
            subtract_transposed<T, B, kVec, kN>(g.factor + k * packed(d), ry.data(), d, grad.data());
        }
        for (int v = 0; v < kVec; ++v) {
            T* o = out + (p + v * kW) * d;
            for (int64_t i = 0; i < d; ++i) {
                simd::store(lanes, grad[size_t(i * kVec + v)] * inv_sum[v]);
                for (int64_t l = 0; l < counts[v]; ++l) o[l * d + i] = lanes[l];
            }
        }
        if ((++blocks & 127) == 0 && interrupt_requested_in_task()) return;  // parallel_for throws
    }
}

template <int B>
GENSAMPLE_INLINE void run_moments(const Mixture<double>& g, const double* x, int64_t p0, int64_t p1,
                                  const Outputs& o) {
    switch (g.diagonal ? 0 : g.dim) {
        case 1: return moments_blocks<B, false, 1, 1>(g, x, p0, p1, o);
        case 2: return moments_blocks<B, false, 2, 1>(g, x, p0, p1, o);
        case 3: return moments_blocks<B, false, 3, 1>(g, x, p0, p1, o);
        case 4: return moments_blocks<B, false, 4, 1>(g, x, p0, p1, o);
        default: break;
    }
    if (g.diagonal) return moments_blocks<B, true, 0, 1>(g, x, p0, p1, o);
    if constexpr (B >= 32) {
        return moments_blocks<B, false, 0, kVectors>(g, x, p0, p1, o);
    } else {
        return moments_blocks<B, false, 0, 1>(g, x, p0, p1, o);
    }
}

template <class T, int B, Mode M>
GENSAMPLE_INLINE void run_any(const Mixture<T>& g, const T* x, int64_t p0, int64_t p1, const Outputs& o) {
    static_assert(M != Mode::moments, "run_moments");
    if ((M == Mode::density || M == Mode::responsibilities) && o.row_blocks) {
        const auto& rb = *static_cast<const RowBlocks<T>*>(o.row_blocks);
        T* out = static_cast<T*>(o.out);
        T* log_resp = static_cast<T*>(o.log_resp);  // null for density
        if constexpr (B >= 32) {
            return density_blocks<T, B, kVectors, kSubRows<B>>(g, rb, x, p0, p1, out, log_resp, o.probabilities);
        }
    }
    if (M == Mode::score && o.row_blocks) {
        const auto& rb = *static_cast<const RowBlocks<T>*>(o.row_blocks);
        T* out = static_cast<T*>(o.out);
        if constexpr (B >= 32) return score_blocks<T, B, kVectors, kSubRows<B>>(g, rb, x, p0, p1, out);
    }
    // Small dimensions get loops unrolled at compile time (everything stays in registers).
    switch (g.diagonal ? 0 : g.dim) {
        case 1: return run_range<T, B, M, false, 1>(g, x, p0, p1, o);
        case 2: return run_range<T, B, M, false, 2>(g, x, p0, p1, o);
        case 3: return run_range<T, B, M, false, 3>(g, x, p0, p1, o);
        case 4: return run_range<T, B, M, false, 4>(g, x, p0, p1, o);
        default: break;
    }
    if (g.diagonal) {
        run_range<T, B, M, true, 0>(g, x, p0, p1, o);
    } else {
        run_range<T, B, M, false, 0>(g, x, p0, p1, o);
    }
}

// One version per instruction set (dispatch.hpp) and mode, each on vectors of its register
// width. (At 64 bytes everywhere, GCC kept the AVX2 and SSE2 vectors in memory between
// operations: 3 to 5 times slower.) One function per mode: with all modes in one, the
// register allocation of the log-density's blocks (16 of AVX2's 16 registers) moved with the
// other modes' code, and the score's blocks made it spill an accumulator in the innermost
// loop (7-25 % slower in float64).
#define GENSAMPLE_GMM_MODE(NAME, T, M, BYTES)                                              \
    void NAME(const Mixture<T>& g, const T* x, int64_t p0, int64_t p1, const Outputs& o) { \
        run_any<T, BYTES, M>(g, x, p0, p1, o);                                             \
    }
#define GENSAMPLE_GMM_DENSITY_F64(BYTES) GENSAMPLE_GMM_MODE(density_f64, double, Mode::density, BYTES)
#define GENSAMPLE_GMM_DENSITY_F32(BYTES) GENSAMPLE_GMM_MODE(density_f32, float, Mode::density, BYTES)
#define GENSAMPLE_GMM_RESP_F64(BYTES) GENSAMPLE_GMM_MODE(resp_f64, double, Mode::responsibilities, BYTES)
#define GENSAMPLE_GMM_RESP_F32(BYTES) GENSAMPLE_GMM_MODE(resp_f32, float, Mode::responsibilities, BYTES)
#define GENSAMPLE_GMM_SCORE_F64(BYTES) GENSAMPLE_GMM_MODE(score_f64, double, Mode::score, BYTES)
#define GENSAMPLE_GMM_SCORE_F32(BYTES) GENSAMPLE_GMM_MODE(score_f32, float, Mode::score, BYTES)
#define GENSAMPLE_GMM_MOMENTS(BYTES)                                                        \
    void moments_f64(const Mixture<double>& g, const double* x, int64_t p0, int64_t p1, \
                     const Outputs& o) {                                                \
        run_moments<BYTES>(g, x, p0, p1, o);                                            \
    }
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_DENSITY_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_DENSITY_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_RESP_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_RESP_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_SCORE_F64)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_SCORE_F32)
GENSAMPLE_AT_REGISTER_WIDTH(GENSAMPLE_GMM_MOMENTS)
#undef GENSAMPLE_GMM_MODE
#undef GENSAMPLE_GMM_DENSITY_F64
#undef GENSAMPLE_GMM_DENSITY_F32
#undef GENSAMPLE_GMM_RESP_F64
#undef GENSAMPLE_GMM_RESP_F32
#undef GENSAMPLE_GMM_SCORE_F64
#undef GENSAMPLE_GMM_SCORE_F32
#undef GENSAMPLE_GMM_MOMENTS

void run(Mode mode, const Mixture<double>& g, const double* x, int64_t p0, int64_t p1, const Outputs& o) {
    switch (mode) {
        case Mode::density: return density_f64(g, x, p0, p1, o);
        case Mode::responsibilities: return resp_f64(g, x, p0, p1, o);
        case Mode::score: return score_f64(g, x, p0, p1, o);
        case Mode::moments: return moments_f64(g, x, p0, p1, o);
    }
}
void run(Mode mode, const Mixture<float>& g, const float* x, int64_t p0, int64_t p1, const Outputs& o) {
    switch (mode) {
        case Mode::density: return density_f32(g, x, p0, p1, o);
        case Mode::responsibilities: return resp_f32(g, x, p0, p1, o);
        case Mode::score: return score_f32(g, x, p0, p1, o);
        case Mode::moments: break;
    }
    throw std::invalid_argument("gmm: the E-step sums are float64 only");
}

template <class T>
void check(const Mixture<T>& g) {
    if (g.k < 1 || g.dim < 1) throw std::invalid_argument("gmm: no components");
}

// Points per task: about 2^20 component-coordinate pairs (some 50 us of work), in whole
// blocks of density_blocks (kVectors vectors of AVX-512, so also of AVX2). With 2^18,
// tasks of 32 points at d = 16 and K = 64 lost 6 % to the start and end of parallel
// batches. Outputs are per point, so the split does not change them.
template <class T>
int64_t grain(const Mixture<T>& g) {
    constexpr int64_t kUnit = kVectors * kWidth<T, 64>;
    const int64_t work = g.k * (g.diagonal ? g.dim + 1 : packed(g.dim) + 1);
    const int64_t points = std::max<int64_t>(kUnit, (int64_t(1) << 20) / work);
    return (points + kUnit - 1) / kUnit * kUnit;
}

// The factors in RowBlocks form for every pass over full covariances in general dimension
// (d > 4; below, factor_small reads the packed rows): K (d + 8) d / 2 values, d rounded up
// to a multiple of 8.
template <class T>
std::unique_ptr<RowBlocks<T>> row_blocks_for(const Mixture<T>& g) {
    if (g.diagonal || g.dim <= 4) return nullptr;
    return std::make_unique<RowBlocks<T>>(g);
}

template <class T>
void for_points(Mode mode, const Mixture<T>& g, const T* x, int64_t m, Outputs o, int n_threads) {
    check(g);
    const auto blocks = row_blocks_for(g);
    o.row_blocks = blocks.get();
    parallel_for(m, grain(g), n_threads, [&](int64_t p0, int64_t p1) { run(mode, g, x, p0, p1, o); });
}

template <class T>
void density(const Mixture<T>& g, const T* x, int64_t m, T* out, int n_threads) {
    Outputs o;
    o.out = out;
    for_points(Mode::density, g, x, m, o, n_threads);
}

template <class T>
void responsibilities_pass(const Mixture<T>& g, const T* x, int64_t m, T* resp, T* out, bool probabilities,
                           int n_threads) {
    Outputs o;
    o.out = out;
    o.log_resp = resp;
    o.probabilities = probabilities;
    for_points(Mode::responsibilities, g, x, m, o, n_threads);
}

}  // namespace

void log_density(const Mixture<double>& g, const double* x, int64_t m, double* out, int n_threads) {
    density(g, x, m, out, n_threads);
}

void log_density(const Mixture<float>& g, const float* x, int64_t m, float* out, int n_threads) {
    density(g, x, m, out, n_threads);
}

void log_responsibilities(const Mixture<double>& g, const double* x, int64_t m, double* log_resp, double* out,
                          int n_threads) {
    responsibilities_pass(g, x, m, log_resp, out, false, n_threads);
}

void log_responsibilities(const Mixture<float>& g, const float* x, int64_t m, float* log_resp, float* out,
                          int n_threads) {
    responsibilities_pass(g, x, m, log_resp, out, false, n_threads);
}

void responsibilities(const Mixture<double>& g, const double* x, int64_t m, double* resp, double* out, int n_threads) {
    responsibilities_pass(g, x, m, resp, out, true, n_threads);
}

void responsibilities(const Mixture<float>& g, const float* x, int64_t m, float* resp, float* out, int n_threads) {
    responsibilities_pass(g, x, m, resp, out, true, n_threads);
}

void grad_log_density(const Mixture<double>& g, const double* x, int64_t m, double* out, int n_threads) {
    Outputs o;
    o.out = out;
    for_points(Mode::score, g, x, m, o, n_threads);
}

void grad_log_density(const Mixture<float>& g, const float* x, int64_t m, float* out, int n_threads) {
    Outputs o;
    o.out = out;
    for_points(Mode::score, g, x, m, o, n_threads);
}

int64_t em_chunk(int64_t n) {
    const int64_t per = std::max<int64_t>(2048, (n + 255) / 256);  // at most 256 chunks
    return (per + 15) / 16 * 16;
}

Moments em_moments(const Mixture<double>& g, const double* x, const double* v, int64_t n, bool full, int n_threads) {
    check(g);
    const int64_t d = g.dim, K = g.k, m2 = full ? packed(d) : d;
    const int64_t stride = K * (1 + d + m2) + 1;
    const int64_t chunk = em_chunk(n), chunks = (n + chunk - 1) / chunk;
    std::vector<double> partial(static_cast<size_t>(chunks * stride), 0.0);
    const auto blocks = row_blocks_for(g);
    parallel_for(chunks, 1, n_threads, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            Outputs o;
            o.row_blocks = blocks.get();
            o.v = v;
            o.partial = partial.data() + c * stride;
            o.full = full;
            run(Mode::moments, g, x, c * chunk, std::min(n, (c + 1) * chunk), o);
        }
    });
    Moments mo;
    mo.weight.assign(size_t(K), 0.0);
    mo.first.assign(size_t(K * d), 0.0);
    mo.second.assign(size_t(K * m2), 0.0);
    for (int64_t c = 0; c < chunks; ++c) {  // in chunk order
        const double* p = partial.data() + c * stride;
        for (int64_t i = 0; i < K; ++i) mo.weight[size_t(i)] += p[i];
        for (int64_t i = 0; i < K * d; ++i) mo.first[size_t(i)] += p[K + i];
        for (int64_t i = 0; i < K * m2; ++i) mo.second[size_t(i)] += p[K + K * d + i];
        mo.log_likelihood += p[stride - 1];
    }
    return mo;
}

}  // namespace gensample::gmm
