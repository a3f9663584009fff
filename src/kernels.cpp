#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "pool.h"

namespace ddpm {

namespace {

// Work below this many multiply-adds stays on one thread: waking a worker costs more.
const int64_t kParallelMinFlops = 1 << 17;
const int kGemmRowGrain = 32;             // rows of C per chunk (a multiple of the 4-row tile)
const int64_t kElementwiseGrain = 32768;  // values per chunk for activations
const int64_t kSumGrain = 8192;           // values per partial sum

}  // namespace

// ---------------------------------------------------------------------------------------------
// Matrix multiply. The fast kernel keeps a 4 x 32 tile of C in registers while it runs over K:
// every value of B loaded is used for 4 rows, every value of A for 32 columns.
// Each element of C is C + sum_k A[m,k] B[k,n] with k in increasing order, in both kernels.
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

const int kTileRows = 4;
const int kTileCols = 32;

// C[m0..m0+4, n0..n0+32] += A[m0..m0+4, :] . B[:, n0..n0+32]
void gemm_tile(float* __restrict C, const float* __restrict A, const float* __restrict B, int m0, int n0, int K,
               int N) {
    float acc[kTileRows][kTileCols];
    for (int r = 0; r < kTileRows; ++r)
        for (int c = 0; c < kTileCols; ++c) acc[r][c] = C[(m0 + r) * N + n0 + c];
    for (int k = 0; k < K; ++k) {
        const float* b = B + k * N + n0;
        for (int r = 0; r < kTileRows; ++r) {
            const float a = A[(m0 + r) * K + k];
            for (int c = 0; c < kTileCols; ++c) acc[r][c] += a * b[c];
        }
    }
    for (int r = 0; r < kTileRows; ++r)
        for (int c = 0; c < kTileCols; ++c) C[(m0 + r) * N + n0 + c] = acc[r][c];
}

// Rows [m0, m1) of C, columns [n0, n1): the edges that do not fill a tile, one row at a time.
void gemm_edge(float* __restrict C, const float* __restrict A, const float* __restrict B, int m0, int m1, int n0,
               int n1, int K, int N) {
    for (int m = m0; m < m1; ++m) {
        float* c = C + m * N;
        for (int k = 0; k < K; ++k) {
            const float a = A[m * K + k];
            const float* b = B + k * N;
            for (int n = n0; n < n1; ++n) c[n] += a * b[n];
        }
    }
}

void gemm_rows(float* C, const float* A, const float* B, int m_begin, int m_end, int K, int N) {
    const int n_tiled = N - N % kTileCols;
    int m = m_begin;
    for (; m + kTileRows <= m_end; m += kTileRows) {
        for (int n = 0; n < n_tiled; n += kTileCols) gemm_tile(C, A, B, m, n, K, N);
        if (n_tiled < N) gemm_edge(C, A, B, m, m + kTileRows, n_tiled, N, K, N);
    }
    if (m < m_end) gemm_edge(C, A, B, m, m_end, 0, N, K, N);
}

}  // namespace

void gemm_acc(float* C, const float* A, const float* B, int M, int K, int N) {
    const int64_t flops = int64_t(M) * K * N;
    const int grain = flops < kParallelMinFlops ? M : kGemmRowGrain;
    parallel_range(M, grain, [&](int64_t begin, int64_t end) { gemm_rows(C, A, B, int(begin), int(end), K, N); });
}

void transpose(float* out, const float* in, int R, int C) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) out[c * R + r] = in[r * C + c];
}

// ---------------------------------------------------------------------------------------------
// Linear layer, eq.: out = inp W + b.   Backward (with G = dout):
//   dinp += G W^T,   dW += inp^T G,   db += sum over the batch of G.
// The fast versions are all one gemm_acc, after transposing the operand that needs it.
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
    std::vector<float> inp_t(size_t(IC) * B);  // (IC, B)
    transpose(inp_t.data(), inp, B, IC);
    gemm_acc(dweight, inp_t.data(), dout, IC, B, OC);
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
void timestep_embedding(float* out, const float* t, int B, int dim, float max_period) {
    const int half = dim / 2;
    for (int b = 0; b < B; ++b)
        for (int i = 0; i < half; ++i) {
            double w = std::exp(-std::log(double(max_period)) * i / half);
            double angle = double(t[b]) * w;
            out[b * dim + i] = float(std::sin(angle));
            out[b * dim + half + i] = float(std::cos(angle));
        }
}

}  // namespace ddpm
