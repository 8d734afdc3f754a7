// Runtime dispatch for hot loops: one clone per instruction-set level, picked at load time.
//
// The default build targets the baseline ISA (no -march=native, DESIGN.md "Portability");
// GCC's target_clones adds x86-64-v3 (AVX2 with FMA) and AVX-512 versions of the marked
// functions and an ifunc resolver chooses among them on the running CPU. (x86-64-v3 keeps
// the baseline's arch and tuning, so inline helpers still inline into it; arch=haswell
// would not.) The build uses -ffp-contract=off: no clone fuses a multiply-add the source
// did not ask for, so every clone gives the same bits; kernels that want the fused form
// write simd::fma, which rounds once everywhere.
//
// Where the best form of a kernel differs by instruction set (a register block that fits
// AVX-512's 32 registers but spills on AVX2), one definition per target instead:
// GENSAMPLE_TARGET("default"), ("arch=x86-64-v3") and ("avx512f") versions of one function, picked by
// the same ifunc resolver (GCC's function multiversioning). Without dispatch there is one
// definition, and simd::kAvx512 is a compile-time constant.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GENSAMPLE_NO_DISPATCH)
#define GENSAMPLE_MULTIVERSION 1
#define GENSAMPLE_DISPATCH __attribute__((target_clones("default", "arch=x86-64-v3", "avx512f")))
#define GENSAMPLE_TARGET(isa) __attribute__((target(isa)))
#else
#define GENSAMPLE_MULTIVERSION 0
#define GENSAMPLE_DISPATCH
#endif

// DEFINE(BYTES) defines a function on vectors of BYTES bytes (simd::VN); this makes one
// definition per target, each at its own register width: 16 bytes on the baseline, 32 on
// x86-64-v3, 64 on AVX-512 (or the width the build targets, without dispatch).
#if GENSAMPLE_MULTIVERSION
// clang-format off: one target per line
#define GENSAMPLE_AT_REGISTER_WIDTH(DEFINE)       \
    GENSAMPLE_TARGET("default") DEFINE(16)        \
    GENSAMPLE_TARGET("arch=x86-64-v3") DEFINE(32) \
    GENSAMPLE_TARGET("avx512f") DEFINE(64)
// clang-format on
#else
#define GENSAMPLE_AT_REGISTER_WIDTH(DEFINE) DEFINE(simd::kRegisterBytes)
#endif

// Helpers called from a dispatched function must be inlined into it to be compiled for its
// instruction set; GCC does not inline larger templates into clones on its own.
// GENSAMPLE_INLINE is for speed: sanitizer builds (one clone, GENSAMPLE_NO_FORCE_INLINE) drop
// it, since instrumenting the huge flattened kernels is what makes them slow to compile.
// GENSAMPLE_FORCE_INLINE is for correctness: a helper of a function with an explicit
// target("avx2") must be compiled inside it, or vectors cross a call between two ABIs.
#if defined(__GNUC__) || defined(__clang__)
#define GENSAMPLE_FORCE_INLINE __attribute__((always_inline)) inline
#else
#define GENSAMPLE_FORCE_INLINE inline
#endif
#if !defined(GENSAMPLE_NO_FORCE_INLINE)
#define GENSAMPLE_INLINE GENSAMPLE_FORCE_INLINE
#else
#define GENSAMPLE_INLINE inline
#endif

// Hides a value's origin from the optimiser (no instruction): a pointer laundered so is
// addressed afresh, not tracked as an induction variable across a loop.
#if defined(__GNUC__) || defined(__clang__)
#define GENSAMPLE_OPAQUE(x) asm("" : "+r"(x))
#else
#define GENSAMPLE_OPAQUE(x) ((void)(x))
#endif

// A read prefetch hint (no-op where the compiler has none).
#if defined(__GNUC__) || defined(__clang__)
#define GENSAMPLE_PREFETCH(p) __builtin_prefetch(p)
#else
#define GENSAMPLE_PREFETCH(p) ((void)(p))
#endif
