// fast/tile.h: the register tile of the fast matrix products (fast/kernels.cpp), shared with the
// sampling path (fast/eps_sampling.cpp), which runs it with the activation applied as each tile is
// stored. See fast/kernels.cpp for the design and docs/reproducibility.md for the arithmetic rule.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/madd.h"
#include "fast/fma.h"

namespace ddpm {
namespace fast_tile {

// The vector of the tiles: as wide as one register of the target, so that the tile's accumulators
// stay in registers on any machine (a 64-byte vector on an SSE2-only build would be four registers
// each, and the tile would spill). Lanes never mix, so the width changes speed, never bits.
// GCC's and clang's vector extension, so the same source builds for any target; memcpy is how
// unaligned loads are spelt.
#if defined(__AVX512F__)
const int kLanes = 16;   // one zmm register; 32 of them hold an 8 x 2 tile
const int kTileRows = 8;
#elif defined(__AVX__)
const int kLanes = 8;    // one ymm register; 16 of them hold a 6 x 2 tile, B's two and A's value
const int kTileRows = 6;
#elif defined(__aarch64__)
const int kLanes = 4;    // one NEON register; 32 of them
const int kTileRows = 8;
#else
const int kLanes = 4;    // one SSE register; 16 of them
const int kTileRows = 4;
#endif
typedef float vec __attribute__((vector_size(4 * kLanes)));

inline vec load_vec(const float* p) {
    vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store_vec(float* p, vec v) { std::memcpy(p, &v, sizeof v); }

// x in every lane (a copy, no arithmetic: -0 stays -0)
inline vec splat(float x) {
    vec v;
    for (int i = 0; i < kLanes; ++i) v[i] = x;
    return v;
}

// The operand A is read as A(m, k) = A[m * am + k * ak]: (am, ak) = (K, 1) is A itself, (1, M) is
// the transpose of a (K, M) matrix, which the weight gradient inp^T . G needs.
struct StridedA {
    const float* p;
    int64_t am, ak;
};

// C[m0 .. m0+R, n0 .. n0+kLanes V] += A(m0 .. m0+R, :) . B[:, n0 .. n0+kLanes V]
// With `bias`, the tile starts from bias[m] in every column instead of C's values: the same sums as
// filling C with the bias first (linear_forward), without the pass that fills it.
template <int R, int V>
void gemm_tile(float* __restrict C, StridedA A, const float* __restrict B, int m0, int n0, int K, int N,
               const float* bias = nullptr) {
    vec acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v)
            acc[r][v] = bias ? splat(bias[m0 + r]) : load_vec(C + int64_t(m0 + r) * N + n0 + v * kLanes);
    const float* __restrict a = A.p + m0 * A.am;
    for (int k = 0; k < K; ++k) {
        const float* b = B + int64_t(k) * N + n0;
        vec bk[V];
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) bk[v] = load_vec(b + v * kLanes);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
            for (int v = 0; v < V; ++v) acc[r][v] = fast::fma_broadcast(a + r * A.am + k * A.ak, bk[v], acc[r][v]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) store_vec(C + int64_t(m0 + r) * N + n0 + v * kLanes, acc[r][v]);
}

}  // namespace fast_tile
}  // namespace ddpm
