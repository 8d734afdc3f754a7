// Regions: uniform distributions over sets. For now the box [low, high] in any dimension,
// the "hello world" generative model.
#pragma once

#include <cstdint>

namespace gensample {

// x = low + width * u with u the uniform stream of random.hpp (same counters), so a Box
// sample is an affine image of gs.random.uniform. float32 output: the float32 uniform
// mapped in double precision, then rounded. out holds rows [first, first + n).
void box_sample(uint64_t key, int64_t first, int64_t n, int64_t dim, const double* low, const double* width,
                double* out, int n_threads);
void box_sample(uint64_t key, int64_t first, int64_t n, int64_t dim, const double* low, const double* width, float* out,
                int n_threads);

// inside[i] = 1 when low <= x[i] <= high in every coordinate (the box is closed).
void box_contains(const double* x, int64_t n, int64_t dim, const double* low, const double* high, uint8_t* inside,
                  int n_threads);
void box_contains(const float* x, int64_t n, int64_t dim, const double* low, const double* high, uint8_t* inside,
                  int n_threads);

}  // namespace gensample
