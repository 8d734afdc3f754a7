// Dimension-major tiles of points (the KDE engine and the metrics): coordinate k of the
// kTile points of a tile are kTile consecutive values, so distances run over points in
// SIMD vectors (simd.hpp).
#pragma once

#include <cstdint>

#include "gensample/simd.hpp"

namespace gensample::tiles {

inline constexpr int64_t kTile = 64;  // points per tile, for every engine that tiles its data

template <class T, int64_t kTile, int kBytes = 64>
constexpr int kVectors = int(kTile) / simd::VecN<T, kBytes>::kWidth;  // vectors of kBytes per tile

// d2[v] = |y - z_i|^2 for the points of one tile, a coordinate at a time, in registers.
template <class T, int64_t kTile, int kBytes = 64>
GENSAMPLE_INLINE void squared_distances(const T* tile, const T* y, int64_t dim,
                                        simd::VN<T, kBytes> (&d2)[kVectors<T, kTile, kBytes>]) {
    constexpr int kWidth = simd::VecN<T, kBytes>::kWidth;
    for (auto& v : d2) v = simd::VN<T, kBytes>{};
    for (int64_t k = 0; k < dim; ++k) {
        const simd::VN<T, kBytes> yk = simd::broadcast<kBytes>(y[k]);
        const T* zk = tile + k * kTile;
        for (int v = 0; v < kVectors<T, kTile, kBytes>; ++v) {
            const simd::VN<T, kBytes> t = yk - simd::load<T, kBytes>(zk + v * kWidth);
            d2[v] += t * t;
        }
    }
}

}  // namespace gensample::tiles
