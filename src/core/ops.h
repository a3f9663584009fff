// ops.h: differentiable operations on Tensors.
//
// Each op computes its output with a kernel (kernels.h) and, when a graph is being recorded,
// attaches a backward closure that adds the chain rule's contribution into each parent's grad.
// Every differentiable op here has a finite-difference check in tests/test_ops.cpp and in lesson 00.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ddpm {

// ---- elementwise, same shapes ------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, float s);

// ---- linear algebra ------------------------------------------------------------------------------
Tensor matmul(const Tensor& a, const Tensor& b);                       // (M,K) . (K,N) -> (M,N)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);  // (B,IC).(IC,OC) + (OC); bias may be undefined

// ---- activations ---------------------------------------------------------------------------------
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);
Tensor silu(const Tensor& x);

// ---- shape ---------------------------------------------------------------------------------------
// Concatenation along axis 1: features of (B, F_i), or channels of NCHW tensors (N, C_i, H, W).
// All other dimensions must agree.
Tensor concat(const std::vector<Tensor>& parts);
Tensor reshape(const Tensor& x, Shape shape);   // same number of values; a copy, for clarity

// ---- reductions and losses -----------------------------------------------------------------------
Tensor sum(const Tensor& x);                    // -> (1)
Tensor mean(const Tensor& x);                   // -> (1)
Tensor mse(const Tensor& prediction, const Tensor& target);  // mean of squared differences -> (1)

// ---- inputs that are not learned -------------------------------------------------------------
// Sinusoidal embedding of timesteps t (one per batch row) -> (B, dim); records no graph.
Tensor timestep_embedding(const std::vector<float>& t, int dim);

}  // namespace ddpm
