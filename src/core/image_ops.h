// image_ops.h: differentiable operations on NCHW images (B, C, H, W), built on image_kernels.h.
//
// As in ops.h: each op computes its output with a kernel and, when a graph is recorded, attaches a
// backward closure that adds into each parent's grad. tests/test_image_ops.cpp checks every one
// against central differences. The activations of ops.h (relu, gelu, silu) and concat (along the
// channels) work on images as they are.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace ddpm {

// x (B,C,H,W), weight (OC, C/groups, K, K), bias (OC) or undefined -> (B, OC, OH, OW), zero padding
// `pad` on each side (same_padding(K) in image_kernels.h keeps the size at stride 1).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride = 1, int pad = 0, int groups = 1);

Tensor upsample2x(const Tensor& x);  // (B,C,H,W) -> (B,C,2H,2W), nearest neighbour
Tensor avgpool2x(const Tensor& x);   // (B,C,H,W) -> (B,C,H/2,W/2), H and W even

// GroupNorm over `groups` groups of channels, gamma and beta (C).
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int groups, float eps = 1e-5f);
// LayerNorm over the C channels of every position, gamma and beta (C).
Tensor channel_layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps = 1e-5f);

// x (B,C,H,W) + v (B,C) on every position.
Tensor add_channel_vector(const Tensor& x, const Tensor& v);

// Softmax attention over the H*W positions: qkv (B, 3C, H, W) (queries, keys, values) -> (B,C,H,W),
// `heads` heads of C/heads channels. The 1x1 convolutions around it are in nets/unet.h (SelfAttention2d).
Tensor spatial_attention(const Tensor& qkv, int heads);

// Each channel blurred by the K x K Gaussian of the given sigma (K odd), zero or reflect padding;
// the output keeps the size. Differentiable in x (the filter is fixed).
Tensor gaussian_blur(const Tensor& x, int K, float sigma, bool reflect);

// Inverted dropout with rate p: value i is dropped when uniform_at(seed, stream, offset + i) < p.
// p = 0 returns x itself.
Tensor dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t offset);

}  // namespace ddpm
