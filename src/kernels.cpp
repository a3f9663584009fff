#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "pool.h"

namespace ddpm {

namespace {

// Work below this many multiply-adds stays on one thread: waking a worker costs more.
const int64_t kParallelMinFlops = 1 << 17;
const int kGemmRowGrain = 32;             // rows of C per chunk (a multiple of the 4-row tile)
const int64_t kElementwiseGrain = 8192;   // values per chunk for activations (a 256 x 128 layer: 4)
const int64_t kSumGrain = 8192;           // values per partial sum

}  // namespace

// ---------------------------------------------------------------------------------------------
// Matrix multiply. The fast kernel keeps an R x 32 tile of C in 2R vector registers while it runs
// over K: every vector of B loaded serves R rows, every value of A 32 columns (Goto and van de
// Geijn's register tile, without their packing: these matrices fit in L2).
// Each element of C is C + sum_k A[m,k] B[k,n] with k in increasing order, one fused multiply-add
// per k, in the fast kernel and the naive one alike: the two give the same bits.
// ---------------------------------------------------------------------------------------------
void gemm_acc_naive(float* C, const float* A, const float* B, int M, int K, int N) {
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            float acc = C[m * N + n];
            for (int k = 0; k < K; ++k) acc += A[m * K + k] * B[k * N + n];
            C[m * N + n] = acc;
        }
}

namespace {

// 16 floats: one AVX-512 register (two AVX2 or four SSE registers on other machines). GCC's vector
// extension, so the same source builds for any target; memcpy is how unaligned loads are spelt.
typedef float vec16 __attribute__((vector_size(64)));
const int kLanes = 16;
const int kTileRows = 8;

inline vec16 load16(const float* p) {
    vec16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store16(float* p, vec16 v) { std::memcpy(p, &v, sizeof v); }

// The operand A is read as A(m, k) = A[m * am + k * ak]: (am, ak) = (K, 1) is A itself, (1, M) is
// the transpose of a (K, M) matrix, which the weight gradient inp^T . G needs.
struct StridedA {
    const float* p;
    int64_t am, ak;
};

// C[m0 .. m0+R, n0 .. n0+16V] += A(m0 .. m0+R, :) . B[:, n0 .. n0+16V]
template <int R, int V>
void gemm_tile(float* __restrict C, StridedA A, const float* __restrict B, int m0, int n0, int K, int N) {
    vec16 acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) acc[r][v] = load16(C + int64_t(m0 + r) * N + n0 + v * kLanes);
    const float* __restrict a = A.p + m0 * A.am;
    for (int k = 0; k < K; ++k) {
        const float* b = B + int64_t(k) * N + n0;
        vec16 bk[V];
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) bk[v] = load16(b + v * kLanes);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const float x = a[r * A.am + k * A.ak];
#pragma GCC unroll 2
            for (int v = 0; v < V; ++v) acc[r][v] += x * bk[v];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) store16(C + int64_t(m0 + r) * N + n0 + v * kLanes, acc[r][v]);
}

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
            // std::fma, not `acc += a * b`: left to itself GCC multiplies 8 rows in one vector
            // instruction and adds them one by one, two roundings where the tiles have one
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) acc[r] = std::fma(a[r * A.am + k * A.ak], b, acc[r]);
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

void gemm_rows(float* C, StridedA A, const float* B, int m_begin, int m_end, int K, int N) {
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

void gemm_strided(float* C, StridedA A, const float* B, int M, int K, int N) {
    const int64_t flops = int64_t(M) * K * N;
    const int grain = flops < kParallelMinFlops ? M : kGemmRowGrain;
    parallel_range(M, grain, [&](int64_t begin, int64_t end) { gemm_rows(C, A, B, int(begin), int(end), K, N); });
}

}  // namespace

void gemm_acc(float* C, const float* A, const float* B, int M, int K, int N) {
    gemm_strided(C, StridedA{A, K, 1}, B, M, K, N);
}

void gemm_acc_tn(float* C, const float* A, const float* B, int M, int K, int N) {
    gemm_strided(C, StridedA{A, 1, M}, B, M, K, N);
}

// Blocks of 16 x 16, so that both the rows read and the rows written stay in cache.
void transpose(float* out, const float* in, int R, int C) {
    const int block = 16;
    for (int r0 = 0; r0 < R; r0 += block)
        for (int c0 = 0; c0 < C; c0 += block) {
            const int r1 = std::min(R, r0 + block), c1 = std::min(C, c0 + block);
            for (int r = r0; r < r1; ++r)
                for (int c = c0; c < c1; ++c) out[int64_t(c) * R + r] = in[int64_t(r) * C + c];
        }
}

// ---------------------------------------------------------------------------------------------
// Linear layer, eq.: out = inp W + b.   Backward (with G = dout):
//   dinp += G W^T,   dW += inp^T G,   db += sum over the batch of G.
// The fast versions are each one gemm: dW reads inp as its transpose in place, dinp transposes W.
// ---------------------------------------------------------------------------------------------
void linear_forward_naive(float* out, const float* inp, const float* weight, const float* bias, int B, int IC,
                          int OC) {
    for (int b = 0; b < B; ++b)
        for (int o = 0; o < OC; ++o) {
            float acc = bias ? bias[o] : 0.0f;
            for (int i = 0; i < IC; ++i) acc += inp[b * IC + i] * weight[i * OC + o];
            out[b * OC + o] = acc;
        }
}

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int IC, int OC) {
    for (int b = 0; b < B; ++b)
        for (int o = 0; o < OC; ++o) out[b * OC + o] = bias ? bias[o] : 0.0f;
    gemm_acc(out, inp, weight, B, IC, OC);
}

void linear_backward_naive(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                           const float* weight, int B, int IC, int OC) {
    if (dinp)
        for (int b = 0; b < B; ++b)
            for (int i = 0; i < IC; ++i) {
                float acc = 0.0f;
                for (int o = 0; o < OC; ++o) acc += dout[b * OC + o] * weight[i * OC + o];
                dinp[b * IC + i] += acc;
            }
    for (int i = 0; i < IC; ++i)
        for (int o = 0; o < OC; ++o) {
            float acc = 0.0f;
            for (int b = 0; b < B; ++b) acc += inp[b * IC + i] * dout[b * OC + o];
            dweight[i * OC + o] += acc;
        }
    if (dbias)
        for (int o = 0; o < OC; ++o) {
            float acc = 0.0f;
            for (int b = 0; b < B; ++b) acc += dout[b * OC + o];
            dbias[o] += acc;
        }
}

void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int IC, int OC) {
    if (dinp) {
        std::vector<float> weight_t(size_t(OC) * IC);  // (OC, IC)
        transpose(weight_t.data(), weight, IC, OC);
        gemm_acc(dinp, dout, weight_t.data(), B, OC, IC);
    }
    gemm_acc_tn(dweight, inp, dout, IC, B, OC);  // inp read as its transpose, (IC, B)
    if (dbias)
        for (int b = 0; b < B; ++b)
            for (int o = 0; o < OC; ++o) dbias[o] += dout[b * OC + o];
}

// ---------------------------------------------------------------------------------------------
// exp and erf that vectorise: no library calls, no branches.
// ---------------------------------------------------------------------------------------------
namespace {

// exp(x) = 2^n exp(r), n = round(x / ln 2), |r| <= ln2 / 2 (Cody-Waite split of ln 2);
// exp(r) by its Taylor polynomial of degree 7 (truncation error < 1e-8 relative).
inline float exp_inline(float x) {
    x = std::min(std::max(x, -87.0f), 88.0f);
    const float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    float n = (x * 1.44269504088896341f + round_magic) - round_magic;
    float r = x - n * 0.693145751953125f;    // ln 2, high bits (exact product for |n| < 2^11)
    r = r - n * 1.428606765330187045e-06f;  // ln 2, low bits
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = (int32_t(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// erf(x) by Abramowitz and Stegun 7.1.26 (|error| <= 1.5e-7), odd symmetry for x < 0.
// Takes exp(-x^2) from the caller, who often has it already.
inline float erf_from_gauss(float x, float exp_minus_x2) {
    float ax = std::fabs(x);
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    float y = 1.0f - poly * t * exp_minus_x2;
    return std::copysign(y, x);
}

const float kInvSqrt2 = 0.70710678118654752f;
const float kInvSqrt2Pi = 0.39894228040143268f;

}  // namespace

float exp_approx(float x) { return exp_inline(x); }
float erf_approx(float x) { return erf_from_gauss(x, exp_inline(-x * x)); }

// ---------------------------------------------------------------------------------------------
// GELU: forward x Phi(x); backward Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
// ---------------------------------------------------------------------------------------------
void gelu_forward_naive(float* out, const float* inp, int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        double x = inp[i];
        out[i] = float(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
    }
}

void gelu_backward_naive(float* dinp, const float* inp, const float* dout, int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        double x = inp[i];
        double cdf = 0.5 * (1.0 + std::erf(x / std::sqrt(2.0)));
        double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
        dinp[i] += float(dout[i] * (cdf + x * pdf));
    }
}

void gelu_forward(float* out, const float* inp, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        float* __restrict o = out;
        const float* __restrict in = inp;
        for (int64_t i = begin; i < end; ++i) {
            float x = in[i];
            float gauss = exp_inline(-0.5f * x * x);
            float cdf = 0.5f * (1.0f + erf_from_gauss(x * kInvSqrt2, gauss));
            o[i] = x * cdf;
        }
    });
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        float* __restrict d = dinp;
        const float* __restrict in = inp;
        const float* __restrict g = dout;
        for (int64_t i = begin; i < end; ++i) {
            float x = in[i];
            float gauss = exp_inline(-0.5f * x * x);
            float cdf = 0.5f * (1.0f + erf_from_gauss(x * kInvSqrt2, gauss));
            d[i] += g[i] * (cdf + x * kInvSqrt2Pi * gauss);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// ReLU and SiLU
// ---------------------------------------------------------------------------------------------
void relu_forward(float* out, const float* inp, int64_t N) {
    for (int64_t i = 0; i < N; ++i) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    for (int64_t i = 0; i < N; ++i) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}

void silu_forward_naive(float* out, const float* inp, int64_t N) {
    for (int64_t i = 0; i < N; ++i) out[i] = float(inp[i] / (1.0 + std::exp(-double(inp[i]))));
}

void silu_backward_naive(float* dinp, const float* inp, const float* dout, int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        double x = inp[i], s = 1.0 / (1.0 + std::exp(-x));
        dinp[i] += float(dout[i] * (s + x * s * (1.0 - s)));
    }
}

void silu_forward(float* out, const float* inp, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = inp[i] / (1.0f + exp_inline(-inp[i]));
    });
}

void silu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    parallel_range(N, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            float x = inp[i], s = 1.0f / (1.0f + exp_inline(-x));
            dinp[i] += dout[i] * (s + x * s * (1.0f - s));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Reductions: partial sums per fixed chunk, combined in chunk order.
// ---------------------------------------------------------------------------------------------
double sum_chunked(const float* x, int64_t N) {
    if (N <= 0) return 0.0;
    const int64_t n_chunks = (N + kSumGrain - 1) / kSumGrain;
    std::vector<double> partial(size_t(n_chunks), 0.0);
    parallel_for(n_chunks, [&](int64_t c) {
        int64_t begin = c * kSumGrain, end = std::min(N, begin + kSumGrain);
        double s = 0.0;
        for (int64_t i = begin; i < end; ++i) s += x[i];
        partial[size_t(c)] = s;
    });
    double total = 0.0;
    for (double s : partial) total += s;
    return total;
}

// ---------------------------------------------------------------------------------------------
// Timestep embedding
// ---------------------------------------------------------------------------------------------
namespace {

// One row, [sin(t w_0) ... sin(t w_{h-1}) | cos(t w_0) ... cos(t w_{h-1})], w_i = P^(-i/h), in double.
void embedding_row(float* out, double t, int dim, double max_period) {
    const int half = dim / 2;
    for (int i = 0; i < half; ++i) {
        const double w = std::exp(-std::log(max_period) * i / half);
        const double angle = t * w;
        out[i] = float(std::sin(angle));
        out[half + i] = float(std::cos(angle));
    }
}

// Rows for whole-number t in [0, kTableRows), filled on first use. The same bits as embedding_row,
// without the 2 * dim/2 sines and cosines per row that otherwise cost a training step more than
// the first layer's multiply-adds.
const int kTableRows = 8192;

struct EmbeddingTable {
    std::vector<float> rows;
    std::vector<char> filled;
};

std::mutex embedding_mutex;
std::map<std::pair<int, float>, EmbeddingTable> embedding_tables;

}  // namespace

void timestep_embedding(float* out, const float* t, int B, int dim, float max_period) {
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
                embedding_row(cached, double(k), dim, double(max_period));
                table.filled[size_t(k)] = 1;
            }
            std::memcpy(row, cached, sizeof(float) * size_t(dim));
        } else {
            embedding_row(row, double(tb), dim, double(max_period));
        }
    }
}

}  // namespace ddpm
