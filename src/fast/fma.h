// fast/fma.h: the fused multiply-add of the register tiles (fast/tile.h, fast/image_kernels.cpp),
// lane by lane: acc + a * b with one rounding, as madd (core/madd.h) computes it for one value, so
// that a tile's sums have the reference's bits (docs/reproducibility.md, rule 1).
//
// fma_vec(a, b, c) = a * b + c for vectors of floats of any width (GCC's and clang's vector
// extension). It is the FMA instruction of the target where there is one (AVX-512, FMA3 with AVX or
// SSE registers, NEON on aarch64), split into registers of the target's width when the vector is
// wider; a target without FMA (an SSE2-only x86-64 build) takes std::fma lane by lane, the C
// library's exact software version: the same bits, slowly.
//
// fma_broadcast(x, b, acc) = acc + (*x) b, x a float read from memory. With AVX-512 GCC loads x once
// into a register with vbroadcastss and then uses it for each of the tile's vectors; on AMD Zen 4 that
// broadcast to a 512-bit register takes a slot of the vector units for every row of the tile (an 8 x 2
// tile ran at about 70% of the peak in a throwaway micro-benchmark, against 92-100% when the multiply
// read x itself, broadcast in the load: m32{1to16}). GCC does not choose that form when x serves two
// vectors, so it is spelt out in an asm statement, for GCC on x86-64 with AVX-512 only; the
// instruction is the same vfmadd231ps, so the bits are the same either way.
#pragma once

#include <cmath>
#include <cstring>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace ddpm {
namespace fast {

namespace detail {

// a * b + c on vectors of exactly Native's size, Native being a register of the target
template <class V>
inline V fma_native(V a, V b, V c) {
#if defined(__AVX512F__)
    if constexpr (sizeof(V) == 64) return (V)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#endif
#if defined(__FMA__)
    if constexpr (sizeof(V) == 32) return (V)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
    if constexpr (sizeof(V) == 16) return (V)_mm_fmadd_ps((__m128)a, (__m128)b, (__m128)c);
#endif
#if defined(__aarch64__)
    if constexpr (sizeof(V) == 16) return (V)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
#endif
    V r{};
    for (unsigned i = 0; i < sizeof(V) / sizeof(float); ++i) r[i] = std::fma(a[i], b[i], c[i]);
    return r;
}

// the widest register the target fuses in, in bytes (16 where it has no FMA at all: lane by lane)
#if defined(__AVX512F__)
constexpr unsigned kFmaBytes = 64;
#elif defined(__FMA__)
constexpr unsigned kFmaBytes = 32;
#else
constexpr unsigned kFmaBytes = 16;
#endif

}  // namespace detail

template <class V>
inline V fma_vec(V a, V b, V c) {
    if constexpr (sizeof(V) <= detail::kFmaBytes) {
        return detail::fma_native(a, b, c);
    } else {  // a vector wider than a register: register by register
        typedef float part __attribute__((vector_size(detail::kFmaBytes)));
        constexpr unsigned n = sizeof(V) / detail::kFmaBytes;
        part pa[n], pb[n], pc[n];
        std::memcpy(pa, &a, sizeof a);
        std::memcpy(pb, &b, sizeof b);
        std::memcpy(pc, &c, sizeof c);
        for (unsigned i = 0; i < n; ++i) pc[i] = detail::fma_native(pa[i], pb[i], pc[i]);
        std::memcpy(&c, pc, sizeof c);
        return c;
    }
}

// every lane *x, a copy (-0 stays -0): the broadcast instruction where the target has one (GCC does
// not always see one in the loop, and builds the vector lane by lane: on AMD Zen 3 the 6 x 16 tile
// of fast/image_kernels.cpp then ran at a third of its speed)
template <class V>
inline V splat(const float* x) {
#if defined(__FMA__)
    if constexpr (sizeof(V) == 32) return (V)_mm256_broadcast_ss(x);
    if constexpr (sizeof(V) == 16) return (V)_mm_broadcast_ss(x);
#endif
#if defined(__aarch64__)
    if constexpr (sizeof(V) == 16) return (V)vld1q_dup_f32(x);
#endif
    V xs{};
    for (unsigned i = 0; i < sizeof(V) / sizeof(float); ++i) xs[i] = *x;
    return xs;
}

// acc + (*x) b, one rounding per lane
template <class V>
inline V fma_broadcast(const float* x, V b, V acc) {
    return fma_vec(splat<V>(x), b, acc);
}

#if defined(__AVX512F__) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
typedef float f32x16 __attribute__((vector_size(64)));
template <>
inline f32x16 fma_broadcast<f32x16>(const float* x, f32x16 b, f32x16 acc) {
    asm("vfmadd231ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(b), "m"(*x));
    return acc;
}
#endif

}  // namespace fast
}  // namespace ddpm
