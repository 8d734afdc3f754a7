// Dimension-major tiles of points (the KDE engine and the metrics): coordinate k of the
// kTile points of a tile are kTile consecutive values, so distances run over points in
// SIMD vectors (simd.hpp).
#pragma once

#include <cstdint>

#include "gensample/simd.hpp"

namespace gensample::tiles {

template <class T, int64_t kTile>
constexpr int kVectors = int(kTile) / simd::Vec<T>::kWidth;  // vectors per tile

// d2[v] = |y - z_i|^2 for the points of one tile, a coordinate at a time, in registers.
template <class T, int64_t kTile>
GENSAMPLE_INLINE void squared_distances(const T* tile, const T* y, int64_t dim, simd::V<T> (&d2)[kVectors<T, kTile>]) {
    constexpr int kWidth = simd::Vec<T>::kWidth;
    for (auto& v : d2) v = simd::V<T>{};
    for (int64_t k = 0; k < dim; ++k) {
        const simd::V<T> yk = simd::broadcast(y[k]);
        const T* zk = tile + k * kTile;
        for (int v = 0; v < kVectors<T, kTile>; ++v) {
            const simd::V<T> t = yk - simd::load(zk + v * kWidth);
            d2[v] += t * t;
        }
    }
}

}  // namespace gensample::tiles
