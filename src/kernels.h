// kernels.h: the numerical kernels, plain loops over raw pointers.
//
// Conventions (as in llm.c):
//   - each layer is a pair X_forward(out, inp, ...) / X_backward(dinp, ..., dout, ...);
//   - backward ADDS into the gradient buffers it is given (dinp may be null: no gradient wanted);
//   - every pointer's shape is written beside it;
//   - each fast kernel has a *_naive twin: the obvious loops, kept as the readable reference and
//     as the oracle of tests/test_kernels.cpp.
// Parallel kernels split their output in chunks fixed by the problem size (see pool.h), so the
// bits of the result do not depend on the thread count.
#pragma once

#include <cstdint>

namespace ddpm {

// ---- matrix multiply: C (M,N) += A (M,K) . B (K,N) -------------------------------------------
void gemm_acc(float* C, const float* A, const float* B, int M, int K, int N);
void gemm_acc_naive(float* C, const float* A, const float* B, int M, int K, int N);
// C (M,N) += A^T . B with A stored (K,M): the weight gradient inp^T . dout without a transpose.
void gemm_acc_tn(float* C, const float* A, const float* B, int M, int K, int N);

// out (C,R) = in (R,C) transposed
void transpose(float* out, const float* in, int R, int C);

// ---- linear layer: out = inp . weight + bias --------------------------------------------------
// inp (B,IC), weight (IC,OC), bias (OC) or null, out (B,OC).
// Weight is stored (in, out), so that y = x W + b reads like the maths; PyTorch stores W^T.
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int IC, int OC);
void linear_forward_naive(float* out, const float* inp, const float* weight, const float* bias, int B, int IC,
                          int OC);
// dinp (B,IC) or null, dweight (IC,OC), dbias (OC) or null, dout (B,OC)
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int IC, int OC);
void linear_backward_naive(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                           const float* weight, int B, int IC, int OC);

// ---- activations, elementwise over N values ---------------------------------------------------
// GELU(x) = x Phi(x), Phi the standard normal CDF (Hendrycks and Gimpel 2016), the exact (erf)
// form. The fast kernel evaluates erf with a rational approximation that the compiler vectorises
// (max abs error of Phi ~1e-7); the naive twin calls std::erf.
void gelu_forward(float* out, const float* inp, int64_t N);
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N);
void gelu_forward_naive(float* out, const float* inp, int64_t N);
void gelu_backward_naive(float* dinp, const float* inp, const float* dout, int64_t N);

void relu_forward(float* out, const float* inp, int64_t N);
void relu_backward(float* dinp, const float* inp, const float* dout, int64_t N);

// SiLU(x) = x sigmoid(x) (also called swish)
void silu_forward(float* out, const float* inp, int64_t N);
void silu_backward(float* dinp, const float* inp, const float* dout, int64_t N);
void silu_forward_naive(float* out, const float* inp, int64_t N);
void silu_backward_naive(float* dinp, const float* inp, const float* dout, int64_t N);

// exp and erf written so that loops over them vectorise; used by the kernels above.
float exp_approx(float x);   // relative error < 2e-7 on [-87, 88]
float erf_approx(float x);   // absolute error < 3e-7 (1.5e-7 of the formula, plus float rounding)

// ---- reductions --------------------------------------------------------------------------------
// Sum of x (N), accumulated in double inside fixed chunks, chunk sums added in chunk order.
double sum_chunked(const float* x, int64_t N);

// ---- sinusoidal timestep embedding (Vaswani et al. 2017, as used by Ho et al. 2020) ------------
// t (B) -> out (B, dim): out[b, i] = sin(t_b w_i), out[b, dim/2 + i] = cos(t_b w_i),
// w_i = max_period^(-i / (dim/2)), i < dim/2. dim must be even.
void timestep_embedding(float* out, const float* t, int B, int dim, float max_period = 10000.0f);

}  // namespace ddpm
