// Philox4x32-10 on a tile of kPhiloxTile blocks, one implementation per instruction set.
//
// Lanes are 64 bits wide and hold one 32-bit word in their low half, the high half being
// ignored: pmuludq multiplies the low halves, so a round is two multiplies, two
// shifts and two three-way xors per lane, with no packing. Several independent groups are
// interleaved to hide the multiply latency. All variants compute the same function; the
// fastest one the CPU supports is chosen once, and tests force each in turn.
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>

#include "gensample/philox.hpp"
#include "gensample/philox_tile.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GENSAMPLE_X86 1
#include <immintrin.h>
// GCC 12's AVX-512 headers trip -Wuninitialized (_mm512_undefined_epi32), and passing
// vectors between target-specific functions notes an ABI change; neither applies here.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace gensample {
namespace {

// One definition of the round structure for every vector width. `Ops` supplies load,
// store, broadcast, the 32x32->64 multiply, a right shift by 32 and a three-way xor.
// always_inline: it must be compiled inside each target-specific caller below.
template <class Ops, int kGroups>
GENSAMPLE_FORCE_INLINE void tile_vector(uint32_t k0, uint32_t k1, const PhiloxLanes& in, PhiloxLanes& out) {
    using V = typename Ops::V;
    constexpr int kStep = Ops::kLanes * kGroups;
    static_assert(kPhiloxTile % kStep == 0, "tile must be a multiple of the step");
    const V m0 = Ops::set1(kPhiloxM0), m1 = Ops::set1(kPhiloxM1);
    for (int b = 0; b < kPhiloxTile; b += kStep) {
        V a0[kGroups], a1[kGroups], a2[kGroups], a3[kGroups];
        for (int g = 0; g < kGroups; ++g) {
            const int o = b + g * Ops::kLanes;
            a0[g] = Ops::load(in.x0 + o);
            a1[g] = Ops::load(in.x1 + o);
            a2[g] = Ops::load(in.x2 + o);
            a3[g] = Ops::load(in.x3 + o);
        }
        uint32_t c0 = k0, c1 = k1;
        for (int r = 0; r < kPhiloxRounds; ++r) {
            const V key0 = Ops::set1(c0), key1 = Ops::set1(c1);
            for (int g = 0; g < kGroups; ++g) {
                const V p0 = Ops::mul32(a0[g], m0);
                const V p1 = Ops::mul32(a2[g], m1);
                const V y0 = Ops::xor3(Ops::hi32(p1), a1[g], key0);
                const V y2 = Ops::xor3(Ops::hi32(p0), a3[g], key1);
                a1[g] = p1;
                a3[g] = p0;
                a0[g] = y0;
                a2[g] = y2;
            }
            c0 += kPhiloxW0;
            c1 += kPhiloxW1;
        }
        for (int g = 0; g < kGroups; ++g) {
            const int o = b + g * Ops::kLanes;
            Ops::store(out.x0 + o, a0[g]);
            Ops::store(out.x1 + o, a1[g]);
            Ops::store(out.x2 + o, a2[g]);
            Ops::store(out.x3 + o, a3[g]);
        }
    }
}

// One lane per "vector": any CPU. The compiler may vectorise it on its own.
struct Scalar {
    using V = uint64_t;
    static constexpr int kLanes = 1;
    static V load(const uint64_t* p) { return *p; }
    static void store(uint64_t* p, V v) { *p = v; }
    static V set1(uint32_t x) { return x; }
    static V mul32(V a, V b) { return (a & 0xFFFFFFFFu) * (b & 0xFFFFFFFFu); }
    static V hi32(V a) { return a >> 32; }
    static V xor3(V a, V b, V c) { return a ^ b ^ c; }
};

void tile_portable(uint32_t k0, uint32_t k1, const PhiloxLanes& in, PhiloxLanes& out) {
    tile_vector<Scalar, 4>(k0, k1, in, out);
}

#ifdef GENSAMPLE_X86

struct Sse2 {
    using V = __m128i;
    static constexpr int kLanes = 2;
    static V load(const uint64_t* p) { return _mm_load_si128(reinterpret_cast<const V*>(p)); }
    static void store(uint64_t* p, V v) { _mm_store_si128(reinterpret_cast<V*>(p), v); }
    static V set1(uint32_t x) { return _mm_set1_epi64x(int64_t(x)); }
    static V mul32(V a, V b) { return _mm_mul_epu32(a, b); }
    static V hi32(V a) { return _mm_srli_epi64(a, 32); }
    static V xor3(V a, V b, V c) { return _mm_xor_si128(_mm_xor_si128(a, b), c); }
};

struct Avx2 {
    using V = __m256i;
    static constexpr int kLanes = 4;
    __attribute__((target("avx2"))) static V load(const uint64_t* p) {
        return _mm256_load_si256(reinterpret_cast<const V*>(p));
    }
    __attribute__((target("avx2"))) static void store(uint64_t* p, V v) {
        _mm256_store_si256(reinterpret_cast<V*>(p), v);
    }
    __attribute__((target("avx2"))) static V set1(uint32_t x) { return _mm256_set1_epi64x(int64_t(x)); }
    __attribute__((target("avx2"))) static V mul32(V a, V b) { return _mm256_mul_epu32(a, b); }
    __attribute__((target("avx2"))) static V hi32(V a) { return _mm256_srli_epi64(a, 32); }
    __attribute__((target("avx2"))) static V xor3(V a, V b, V c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
};

struct Avx512 {
    using V = __m512i;
    static constexpr int kLanes = 8;
    __attribute__((target("avx512f"))) static V load(const uint64_t* p) { return _mm512_load_si512(p); }
    __attribute__((target("avx512f"))) static void store(uint64_t* p, V v) { _mm512_store_si512(p, v); }
    __attribute__((target("avx512f"))) static V set1(uint32_t x) { return _mm512_set1_epi64(int64_t(x)); }
    __attribute__((target("avx512f"))) static V mul32(V a, V b) { return _mm512_mul_epu32(a, b); }
    __attribute__((target("avx512f"))) static V hi32(V a) { return _mm512_srli_epi64(a, 32); }
    __attribute__((target("avx512f"))) static V xor3(V a, V b, V c) {
        return _mm512_ternarylogic_epi64(a, b, c, 0x96);  // a ^ b ^ c
    }
};

void tile_sse2(uint32_t k0, uint32_t k1, const PhiloxLanes& in, PhiloxLanes& out) {
    tile_vector<Sse2, 4>(k0, k1, in, out);
}

__attribute__((target("avx2"))) void tile_avx2(uint32_t k0, uint32_t k1, const PhiloxLanes& in, PhiloxLanes& out) {
    tile_vector<Avx2, 4>(k0, k1, in, out);
}

__attribute__((target("avx512f"))) void tile_avx512(uint32_t k0, uint32_t k1, const PhiloxLanes& in, PhiloxLanes& out) {
    tile_vector<Avx512, 4>(k0, k1, in, out);
}

#endif  // GENSAMPLE_X86

struct Variant {
    const char* name;
    PhiloxTileFn fn;
    bool (*supported)();
};

bool always() { return true; }
#ifdef GENSAMPLE_X86
bool has_avx2() { return __builtin_cpu_supports("avx2"); }
bool has_avx512() { return __builtin_cpu_supports("avx512f"); }
#endif

// Best first.
const Variant kVariants[] = {
#ifdef GENSAMPLE_X86
    {"avx512", tile_avx512, has_avx512},
    {"avx2", tile_avx2, has_avx2},
    {"sse2", tile_sse2, always},
#endif
    {"portable", tile_portable, always},
};

const Variant* best_variant() {
    for (const Variant& v : kVariants) {
        if (v.supported()) return &v;
    }
    return &kVariants[sizeof kVariants / sizeof kVariants[0] - 1];
}

std::atomic<const Variant*>& current() {
    static std::atomic<const Variant*> v{best_variant()};
    return v;
}

}  // namespace

PhiloxTileFn philox_tile() { return current().load(std::memory_order_relaxed)->fn; }

const char* philox_isa() { return current().load(std::memory_order_relaxed)->name; }

std::vector<std::string> philox_isas_supported() {
    std::vector<std::string> names;
    for (const Variant& v : kVariants) {
        if (v.supported()) names.emplace_back(v.name);
    }
    return names;
}

void set_philox_isa(const std::string& name) {
    if (name == "best") {
        current().store(best_variant());
        return;
    }
    for (const Variant& v : kVariants) {
        if (name == v.name) {
            if (!v.supported()) throw std::invalid_argument("instruction set not supported by this CPU: " + name);
            current().store(&v);
            return;
        }
    }
    throw std::invalid_argument("unknown instruction set: " + name);
}

}  // namespace gensample
