// fast/broadcast.h: x * b for a float x read from memory and a vector b, the product of a register
// tile's inner loop (fast/kernels.cpp, fast/image_kernels.cpp).
//
// Why a function: with AVX-512, GCC loads x once into a register with vbroadcastss and then
// multiplies each of the tile's vectors by it. On AMD Zen 4 that broadcast to a 512-bit register
// takes a slot of the vector units, one for every row of the tile, and an 8 x 2 tile ran at about
// 70% of the multiply-add peak (78 against 115 GFLOP/s on one core, a throwaway micro-benchmark of
// the tile alone). A multiply that reads x itself and broadcasts it in the load (vmulps m32{1to16})
// does not: the same tile ran at 106-117 GFLOP/s. GCC does not choose that form when x serves two
// vectors, so it is spelt out here in an asm statement, for GCC on x86-64 with AVX-512 only.
//
// The bits are the same either way: one IEEE single-precision multiply per lane of x and b[lane]
// (the rounding mode is never changed). Other compilers and targets take the plain expression.
#pragma once

namespace ddpm {
namespace fast {

typedef float f32x16 __attribute__((vector_size(64)));

template <class Vec>
inline Vec mul_broadcast(const float* x, Vec b) {
    return *x * b;
}

#if defined(__AVX512F__) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
template <>
inline f32x16 mul_broadcast<f32x16>(const float* x, f32x16 b) {
    f32x16 product;
    asm("vmulps %1%{1to16%}, %2, %0" : "=v"(product) : "m"(*x), "v"(b));
    return product;
}
#endif

}  // namespace fast
}  // namespace ddpm
