#include "core/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/approx.h"
#include "core/dmath.h"
#include "core/madd.h"
#include "core/pool.h"

namespace ddpm {

namespace {

const int64_t kRowGrain = 16;            // rows of C per chunk of a matrix product
const int64_t kParallelMinFlops = 1 << 17;  // below this many multiply-adds, one chunk
const int64_t kSumGrain = 8192;          // values per partial sum

// Chunks of rows for a product of M x K x N multiply-adds: one chunk when it is small (waking a
// worker costs more than it saves), else kRowGrain rows each. Fixed by the problem, not the threads.
int64_t row_grain(int M, int K, int N) {
    return int64_t(M) * K * N < kParallelMinFlops ? std::max(M, 1) : kRowGrain;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Matrix multiply. For each row m of C and each k in order, row k of B scaled by A[m,k] is added
// to row m of C: every element gets its terms in increasing k, each term one fused multiply-add
// (madd, core/madd.h), and the inner loop over n is contiguous in B and C (the compiler vectorises it).
// ---------------------------------------------------------------------------------------------
void reference::gemm_acc(float* C, const float* A, const float* B, int M, int K, int N) {
    parallel_range(M, row_grain(M, K, N), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            float* c = C + m * N;        // row m of C (N)
            const float* a = A + m * K;  // row m of A (K)
            for (int k = 0; k < K; ++k) {
                const float* b = B + int64_t(k) * N;  // row k of B (N)
                for (int n = 0; n < N; ++n) c[n] = madd(a[k], b[n], c[n]);
            }
        }
    });
}

// The same with A stored (K, M): A(m, k) = A[k * M + m].
void reference::gemm_acc_tn(float* C, const float* A, const float* B, int M, int K, int N) {
    parallel_range(M, row_grain(M, K, N), [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
            float* c = C + m * N;
            for (int k = 0; k < K; ++k) {
                const float a = A[int64_t(k) * M + m];
                const float* b = B + int64_t(k) * N;
                for (int n = 0; n < N; ++n) c[n] = madd(a, b[n], c[n]);
            }
        }
    });
}

void reference::transpose(float* out, const float* in, int R, int C) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) out[int64_t(c) * R + r] = in[int64_t(r) * C + c];
}

// ---------------------------------------------------------------------------------------------
// Linear layer: out = inp W + b.   Backward, with G = dout:
//   dinp += G W^T,   dW += inp^T G,   db += sum over the batch of G.
// Every sum runs in a fixed order. dinp's starts from the value already in the buffer, as gemm_acc's
// do; dW's and db's run over the batch in blocks of kBatchBlock rows (kernels.h), so that src/fast/
// can give each block of a training batch to its own thread and still get the same bits.
// ---------------------------------------------------------------------------------------------
void reference::linear_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int IC, int OC) {
    for (int b = 0; b < B; ++b)
        for (int o = 0; o < OC; ++o) out[int64_t(b) * OC + o] = bias ? bias[o] : 0.0f;
    gemm_acc(out, inp, weight, B, IC, OC);  // out (B,OC) += inp (B,IC) . weight (IC,OC)
}

void reference::linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int IC, int OC) {
    if (dinp)  // dinp[b,i] += sum over o of G[b,o] W[i,o], o in order
        parallel_range(B, row_grain(B, OC, IC), [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b)
                for (int i = 0; i < IC; ++i) {
                    float acc = dinp[b * IC + i];
                    for (int o = 0; o < OC; ++o) acc = madd(dout[b * OC + o], weight[int64_t(i) * OC + o], acc);
                    dinp[b * IC + i] = acc;
                }
        });
    // dW (IC,OC) += inp^T (IC,B) . G (B,OC) and db += the rows of G, block by block (kernels.h)
    linear_param_grads_blocked(dweight, dbias, dout, inp, B, IC, OC, gemm_acc_tn);
}

void linear_param_grads_blocked(float* dweight, float* dbias, const float* dout, const float* inp, int B, int IC,
                                int OC, GemmTn gemm_tn) {
    std::vector<float> block_w, block_b;
    for (int b0 = 0; b0 < B; b0 += kBatchBlock) {
        const int rows = std::min(kBatchBlock, B - b0);
        float* w = dweight;  // the first block adds onto the buffer, a later one into zeros
        float* bb = dbias;
        if (b0 > 0) {
            block_w.assign(size_t(IC) * OC, 0.0f);
            w = block_w.data();
            if (dbias) {
                block_b.assign(size_t(OC), 0.0f);
                bb = block_b.data();
            }
        }
        const float* g = dout + int64_t(b0) * OC;
        gemm_tn(w, inp + int64_t(b0) * IC, g, IC, rows, OC);  // rows of the block in order
        if (bb)
            for (int b = 0; b < rows; ++b)
                for (int o = 0; o < OC; ++o) bb[o] += g[int64_t(b) * OC + o];
        if (b0 > 0) {
            for (int64_t i = 0; i < int64_t(IC) * OC; ++i) dweight[i] += block_w[size_t(i)];
            if (dbias)
                for (int o = 0; o < OC; ++o) dbias[o] += block_b[size_t(o)];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GELU: forward x Phi(x); backward Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
// Phi(x) = (1 + erf(x / sqrt 2)) / 2, and erf's exp(-(x/sqrt 2)^2) is phi's exp(-x^2/2).
// ---------------------------------------------------------------------------------------------
namespace {
}  // namespace

void reference::gelu_forward(float* out, const float* inp, int64_t N) {
    for (int64_t i = 0; i < N; ++i) out[i] = gelu_approx(inp[i]);
}

void reference::gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        const float x = inp[i];
        const float gauss = gelu_gauss(x);
        const float cdf = gelu_cdf(x, gauss);
        dinp[i] = madd(dout[i], gelu_slope(x, cdf, gauss), dinp[i]);
    }
}

// ---------------------------------------------------------------------------------------------
// ReLU and SiLU. SiLU'(x) = s + x s (1 - s), s = sigmoid(x).
// ---------------------------------------------------------------------------------------------
void relu_forward(float* out, const float* inp, int64_t N) {
    for (int64_t i = 0; i < N; ++i) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    for (int64_t i = 0; i < N; ++i) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
}

void reference::silu_forward(float* out, const float* inp, int64_t N) {
    for (int64_t i = 0; i < N; ++i) out[i] = silu_approx(inp[i]);
}

void reference::silu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    for (int64_t i = 0; i < N; ++i) {
        const float x = inp[i], s = 1.0f / (1.0f + exp_approx(-x));
        dinp[i] = madd(dout[i], s + x * s * (1.0f - s), dinp[i]);
    }
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
// Timestep embedding: each row [sin(t w_0) ... sin(t w_{h-1}) | cos(t w_0) ... cos(t w_{h-1})],
// w_i = P^(-i/h), h = dim / 2, computed in double and rounded once.
// ---------------------------------------------------------------------------------------------
void timestep_embedding_row(float* out, float t, int dim, float max_period) {
    const int half = dim / 2;
    for (int i = 0; i < half; ++i) {
        const double w = dmath::exp(-dmath::log(double(max_period)) * i / half);
        const double angle = double(t) * w;
        out[i] = float(dmath::sin(angle));
        out[half + i] = float(dmath::cos(angle));
    }
}

void reference::timestep_embedding(float* out, const float* t, int B, int dim, float max_period) {
    for (int b = 0; b < B; ++b) timestep_embedding_row(out + int64_t(b) * dim, t[b], dim, max_period);
}

}  // namespace ddpm
