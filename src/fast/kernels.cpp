// fast/kernels.cpp: faster versions of the matrix products, the activations and the timestep
// embedding of core/kernels.cpp, installed into fast_kernels() at start-up. Each gives the same bits
// as its reference loop (tests/test_fast.cpp): the same operations on every value, in the same order;
// only the loop structure, the vector width and the caching differ.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "core/dispatch.h"
#include "core/kernels.h"
#include "core/madd.h"
#include "core/pool.h"
#include "fast/tile.h"

namespace ddpm {
namespace {

using namespace fast_tile;

// Work below this many multiply-adds stays on one thread: waking a worker costs more.
const int64_t kParallelMinFlops = 1 << 17;
const int kGemmRowGrain = 32;             // rows of C per chunk (a multiple of the tile's rows)
const int64_t kElementwiseGrain = 8192;   // values per chunk for activations (a 256 x 128 layer: 4)

// ---------------------------------------------------------------------------------------------
// Matrix multiply. The kernel keeps an R x 2 kLanes tile of C in 2R vector registers while it runs
// over K: every vector of B loaded serves R rows, every value of A 2 kLanes columns (Goto and van
// de Geijn's register tile, without their packing: these matrices fit in L2). Each element of C still gets
// C + sum_k A[m,k] B[k,n] with k in increasing order, one fused multiply-add per k (the FMA
// instruction, fast/fma.h; docs/reproducibility.md), as in core/kernels.cpp's gemm_acc.
// ---------------------------------------------------------------------------------------------

// Columns [n0, n1) that do not fill a vector (the 2 outputs of the last layer): one scalar chain per
// row and column, R rows at once so that the chains overlap.
template <int R>
void gemm_narrow(float* __restrict C, StridedA A, const float* __restrict B, int m0, int n0, int n1, int K, int N) {
    for (int n = n0; n < n1; ++n) {
        float acc[R];
        for (int r = 0; r < R; ++r) acc[r] = C[int64_t(m0 + r) * N + n];
        const float* __restrict a = A.p + m0 * A.am;
        for (int k = 0; k < K; ++k) {
            const float b = B[int64_t(k) * N + n];
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) acc[r] = madd(a[r * A.am + k * A.ak], b, acc[r]);
        }
        for (int r = 0; r < R; ++r) C[int64_t(m0 + r) * N + n] = acc[r];
    }
}

// R rows of C, all columns.
template <int R>
void gemm_row_block(float* C, StridedA A, const float* B, int m0, int K, int N) {
    int n = 0;
    for (; n + 2 * kLanes <= N; n += 2 * kLanes) gemm_tile<R, 2>(C, A, B, m0, n, K, N);
    if (n + kLanes <= N) {
        gemm_tile<R, 1>(C, A, B, m0, n, K, N);
        n += kLanes;
    }
    if (n < N) gemm_narrow<R>(C, A, B, m0, n, N, K, N);
}

// Rows [m_begin, m_end) of C over the k in [0, K) (B's rows from B on).
void gemm_rows_k(float* C, StridedA A, const float* B, int m_begin, int m_end, int K, int N) {
    int m = m_begin;
    for (; m + kTileRows <= m_end; m += kTileRows) gemm_row_block<kTileRows>(C, A, B, m, K, N);
    switch (m_end - m) {  // the last rows, fewer than a tile
        case 7: gemm_row_block<7>(C, A, B, m, K, N); break;
        case 6: gemm_row_block<6>(C, A, B, m, K, N); break;
        case 5: gemm_row_block<5>(C, A, B, m, K, N); break;
        case 4: gemm_row_block<4>(C, A, B, m, K, N); break;
        case 3: gemm_row_block<3>(C, A, B, m, K, N); break;
        case 2: gemm_row_block<2>(C, A, B, m, K, N); break;
        case 1: gemm_row_block<1>(C, A, B, m, K, N); break;
        default: break;
    }
}

// K in blocks whose rows of B fit in the L1 cache together (kGemmBlockBytes; a 128 x 128 weight is
// 64 KB), each block over all the rows before the next: every element of C still gets its terms in
// increasing k from its own value, held in C between blocks (a store and a load change no bits).
const int64_t kGemmBlockBytes = 16 * 1024;

void gemm_rows(float* C, StridedA A, const float* B, int m_begin, int m_end, int K, int N) {
    const int kc = int(std::max<int64_t>(16, kGemmBlockBytes / (int64_t(sizeof(float)) * std::max(N, 1))));
    for (int k0 = 0; k0 < K; k0 += kc)
        gemm_rows_k(C, StridedA{A.p + int64_t(k0) * A.ak, A.am, A.ak}, B + int64_t(k0) * N, m_begin, m_end,
                    std::min(kc, K - k0), N);
}

void gemm_strided(float* C, StridedA A, const float* B, int M, int K, int N) {
    const int64_t flops = int64_t(M) * K * N;
    const int grain = flops < kParallelMinFlops ? M : kGemmRowGrain;
    parallel_range(M, grain, [&](int64_t begin, int64_t end) { gemm_rows(C, A, B, int(begin), int(end), K, N); });
}

void gemm_acc_fast(float* C, const float* A, const float* B, int M, int K, int N) {
    gemm_strided(C, StridedA{A, K, 1}, B, M, K, N);
}

void gemm_acc_tn_fast(float* C, const float* A, const float* B, int M, int K, int N) {
    gemm_strided(C, StridedA{A, 1, M}, B, M, K, N);
}

// Blocks of 16 x 16 through a small tile: read along the rows of `in`, written along the rows of
// `out`. (Written straight from `in` to `out`, the writes of one row of `in` are R floats apart; at
// R = 128 they fall into a few sets of the L1 cache and evict each other: a 128 x 128 transpose
// took as long as a tenth of the training step's gemms.)
void transpose_fast(float* out, const float* in, int R, int C) {
    const int block = 16;
    float tile[block][block];
    for (int r0 = 0; r0 < R; r0 += block)
        for (int c0 = 0; c0 < C; c0 += block) {
            const int rn = std::min(R - r0, block), cn = std::min(C - c0, block);
            if (rn == block && cn == block) {  // a whole block: fixed trip counts, one vector per row
                for (int r = 0; r < block; ++r)
                    for (int c = 0; c < block; ++c) tile[c][r] = in[int64_t(r0 + r) * C + c0 + c];
                for (int c = 0; c < block; ++c) {
                    float* __restrict o = out + int64_t(c0 + c) * R + r0;
                    for (int r = 0; r < block; ++r) o[r] = tile[c][r];
                }
                continue;
            }
            for (int r = 0; r < rn; ++r)
                for (int c = 0; c < cn; ++c) out[int64_t(c0 + c) * R + r0 + r] = in[int64_t(r0 + r) * C + c0 + c];
        }
}

// The linear layer as matrix products: dW reads inp as its transpose in place, dinp transposes W.
void linear_forward_fast(float* out, const float* inp, const float* weight, const float* bias, int B, int IC,
                         int OC) {
    for (int b = 0; b < B; ++b)
        for (int o = 0; o < OC; ++o) out[int64_t(b) * OC + o] = bias ? bias[o] : 0.0f;
    gemm_acc_fast(out, inp, weight, B, IC, OC);
}

void linear_backward_fast(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int B, int IC, int OC) {
    if (dinp) {
        thread_local std::vector<float> weight_t;  // (OC, IC), every value written before it is read
        weight_t.resize(size_t(OC) * IC);
        transpose_fast(weight_t.data(), weight, IC, OC);
        gemm_acc_fast(dinp, dout, weight_t.data(), B, OC, IC);
    }
    // dW and db block by block, as the reference (core/kernels.h, kBatchBlock); inp read as its transpose
    linear_param_grads_blocked(dweight, dbias, dout, inp, B, IC, OC, gemm_acc_tn_fast);
}

// ---------------------------------------------------------------------------------------------
// Activations: the reference formulas (core/approx.h, inlined), in chunks over the threads, with
// __restrict so that the compiler vectorises the loops.
// ---------------------------------------------------------------------------------------------

void gelu_forward_fast(float* out, const float* inp, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        float* __restrict o = out;
        const float* __restrict in = inp;
        for (int64_t i = begin; i < end; ++i) o[i] = gelu_approx(in[i]);
    });
}

void gelu_backward_fast(float* dinp, const float* inp, const float* dout, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        float* __restrict d = dinp;
        const float* __restrict in = inp;
        const float* __restrict g = dout;
        for (int64_t i = begin; i < end; ++i) {
            const float x = in[i];
            const float gauss = gelu_gauss(x);
            const float cdf = gelu_cdf(x, gauss);
            d[i] = madd(g[i], gelu_slope(x, cdf, gauss), d[i]);
        }
    });
}

void silu_forward_fast(float* out, const float* inp, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        float* __restrict o = out;
        const float* __restrict in = inp;
        for (int64_t i = begin; i < end; ++i) o[i] = silu_approx(in[i]);
    });
}

void silu_backward_fast(float* dinp, const float* inp, const float* dout, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        float* __restrict d = dinp;
        const float* __restrict in = inp;
        const float* __restrict g = dout;
        for (int64_t i = begin; i < end; ++i) {
            const float x = in[i], s = 1.0f / (1.0f + exp_approx(-x));
            d[i] = madd(g[i], s + x * s * (1.0f - s), d[i]);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Timestep embedding: a table of rows for whole-number t in [0, kTableRows), each filled on first
// use by the reference row (so the same bits), without the 2 * dim/2 sines and cosines per
// row that otherwise cost a training step more than the first layer's multiply-adds.
// ---------------------------------------------------------------------------------------------
const int kTableRows = 8192;

struct EmbeddingTable {
    std::vector<float> rows;
    std::vector<char> filled;
};

std::mutex embedding_mutex;
std::map<std::pair<int, float>, EmbeddingTable> embedding_tables;

void timestep_embedding_fast(float* out, const float* t, int B, int dim, float max_period) {
    std::lock_guard<std::mutex> lock(embedding_mutex);
    EmbeddingTable& table = embedding_tables[{dim, max_period}];
    if (table.filled.empty()) {
        table.rows.assign(size_t(kTableRows) * dim, 0.0f);
        table.filled.assign(kTableRows, 0);
    }
    for (int b = 0; b < B; ++b) {
        const float tb = t[b];
        float* row = out + int64_t(b) * dim;
        if (tb >= 0.0f && tb < float(kTableRows) && tb == std::floor(tb)) {
            const int k = int(tb);
            float* cached = table.rows.data() + int64_t(k) * dim;
            if (!table.filled[size_t(k)]) {
                timestep_embedding_row(cached, tb, dim, max_period);
                table.filled[size_t(k)] = 1;
            }
            std::memcpy(row, cached, sizeof(float) * size_t(dim));
        } else {
            timestep_embedding_row(row, tb, dim, max_period);
        }
    }
}

const bool kInstalled = [] {
    FastKernels& k = fast_kernels();
    k.gemm_acc = gemm_acc_fast;
    k.gemm_acc_tn = gemm_acc_tn_fast;
    k.linear_forward = linear_forward_fast;
    k.linear_backward = linear_backward_fast;
    k.gelu_forward = gelu_forward_fast;
    k.gelu_backward = gelu_backward_fast;
    k.silu_forward = silu_forward_fast;
    k.silu_backward = silu_backward_fast;
    k.timestep_embedding = timestep_embedding_fast;
    k.transpose = transpose_fast;
    k.installed = true;
    return true;
}();

}  // namespace
}  // namespace ddpm
