// Philox on a tile of blocks with the fastest instruction set available (philox_simd.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace gensample {

inline constexpr int kPhiloxTile = 64;

// kPhiloxTile blocks, word k of block b in xk[b], in the low half of a 64-bit lane.
struct PhiloxLanes {
    alignas(64) uint64_t x0[kPhiloxTile];
    alignas(64) uint64_t x1[kPhiloxTile];
    alignas(64) uint64_t x2[kPhiloxTile];
    alignas(64) uint64_t x3[kPhiloxTile];
};

// out = Philox(in) for the kPhiloxTile counters in `in`; out's high halves are garbage.
using PhiloxTileFn = void (*)(uint32_t k0, uint32_t k1, const PhiloxLanes& in, PhiloxLanes& out);

PhiloxTileFn philox_tile();
const char* philox_isa();
std::vector<std::string> philox_isas_supported();
// "best", or one of philox_isas_supported(); every variant gives the same bits.
void set_philox_isa(const std::string& name);

}  // namespace gensample
