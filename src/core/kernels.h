// kernels.h: the numerical kernels, plain loops over raw pointers. This is the reference path that
// students read; src/fast/ holds faster versions of some of them (see "which code runs" below, and core/dispatch.h).
//
// Conventions (as in llm.c):
//   - each layer is a pair X_forward(out, inp, ...) / X_backward(dinp, ..., dout, ...);
//   - backward ADDS into the gradient buffers it is given (dinp may be null: no gradient wanted);
//   - every pointer's shape is written beside it.
// Parallel kernels split their output in chunks fixed by the problem size (see pool.h), so the
// bits of the result do not depend on the thread count.
#pragma once

#include <cstdint>

#include "core/approx.h"

namespace ddpm {

// ---- matrix multiply: C (M,N) += A (M,K) . B (K,N) -------------------------------------------
// Each element is C[m,n] + A[m,0] B[0,n] + A[m,1] B[1,n] + ..., k in increasing order, each term
// rounded, then added (no fused multiply-add): every kernel that claims the same bits keeps this.
void gemm_acc(float* C, const float* A, const float* B, int M, int K, int N);
// C (M,N) += A^T . B with A stored (K,M): the weight gradient inp^T . dout without a transpose.
void gemm_acc_tn(float* C, const float* A, const float* B, int M, int K, int N);

// out (C,R) = in (R,C) transposed
void transpose(float* out, const float* in, int R, int C);

// ---- linear layer: out = inp . weight + bias --------------------------------------------------
// inp (B,IC), weight (IC,OC), bias (OC) or null, out (B,OC).
// Weight is stored (in, out), so that y = x W + b reads like the maths; PyTorch stores W^T.
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int IC, int OC);
// dinp (B,IC) or null, dweight (IC,OC), dbias (OC) or null, dout (B,OC).
// dW and db are sums over the batch, taken in blocks of kBatchBlock rows: the first block's terms
// are added onto the buffer in row order, each later block is summed from zero on its own, and the
// block sums are then added in block order. A batch of up to kBatchBlock rows is one plain sum; a
// larger one can be cut at the block boundaries and its blocks run on different threads with the
// same bits (fast/eps_training.cpp), whatever the thread count.
inline constexpr int kBatchBlock = 128;
// That blocked sum, with the given product for each block (gemm_acc_tn, or src/fast/'s twin of it).
using GemmTn = void (*)(float* C, const float* A, const float* B, int M, int K, int N);
void linear_param_grads_blocked(float* dweight, float* dbias, const float* dout, const float* inp, int B, int IC,
                                int OC, GemmTn gemm_tn);
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int IC, int OC);

// ---- activations, elementwise over N values ---------------------------------------------------
// GELU(x) = x Phi(x), Phi the standard normal CDF (Hendrycks and Gimpel 2016), the exact (erf)
// form, with erf from the rational approximation erf_approx (max abs error of Phi ~1e-7).
void gelu_forward(float* out, const float* inp, int64_t N);
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N);

void relu_forward(float* out, const float* inp, int64_t N);
void relu_backward(float* dinp, const float* inp, const float* dout, int64_t N);

// SiLU(x) = x sigmoid(x) (also called swish)
void silu_forward(float* out, const float* inp, int64_t N);
void silu_backward(float* dinp, const float* inp, const float* dout, int64_t N);

// (exp_approx and erf_approx, which GELU and SiLU use, are in approx.h.)

// ---- reductions --------------------------------------------------------------------------------
// Sum of x (N), accumulated in double inside fixed chunks, chunk sums added in chunk order.
double sum_chunked(const float* x, int64_t N);

// ---- sinusoidal timestep embedding (Vaswani et al. 2017, as used by Ho et al. 2020) ------------
// t (B) -> out (B, dim): out[b, i] = sin(t_b w_i), out[b, dim/2 + i] = cos(t_b w_i),
// w_i = max_period^(-i / (dim/2)), i < dim/2. dim must be even.
void timestep_embedding(float* out, const float* t, int B, int dim, float max_period = 10000.0f);
// One row of it: out (dim) for the timestep t.
void timestep_embedding_row(float* out, float t, int dim, float max_period);

// ---- which code runs -----------------------------------------------------------------------------
// Each kernel above that src/fast/ has a faster version of (the ones in namespace reference below)
// is one call in core/dispatch.cpp: the fast version when src/fast/ installed one (FAST=1, the
// default), else the loop of this file, which core/kernels.cpp defines as reference::<name>. The two
// give the same bits (tests/test_fast.cpp). Students read the loops; the choice is made there alone.
namespace reference {
void gemm_acc(float* C, const float* A, const float* B, int M, int K, int N);
void gemm_acc_tn(float* C, const float* A, const float* B, int M, int K, int N);
void transpose(float* out, const float* in, int R, int C);
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int IC, int OC);
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int IC, int OC);
void gelu_forward(float* out, const float* inp, int64_t N);
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N);
void silu_forward(float* out, const float* inp, int64_t N);
void silu_backward(float* dinp, const float* inp, const float* dout, int64_t N);
void timestep_embedding(float* out, const float* t, int B, int dim, float max_period);
}  // namespace reference

}  // namespace ddpm
