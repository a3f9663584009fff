// image_nn.h: the layers of image networks, built from image_ops.h: Conv2d, GroupNorm, a residual
// block with the timestep embedding added, self-attention over a map; and the two networks the
// bench and the lessons train on (B, 1, 28, 28) images: the CNN of seed [003] and a small U-Net.
//
// As in nn.h: a layer is a struct of Tensors with forward() and collect(), which appends its
// parameters with dotted names in a fixed order (the optimiser's and the checkpoint's order).
// Names follow PyTorch's where there is one (GroupNorm's gamma and beta are "weight" and "bias").
#pragma once

#include <string>
#include <vector>

#include "core/image_ops.h"
#include "core/nn.h"

namespace ddpm {

// weight (out, in/groups, K, K) and bias (out), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
// fan_in = in/groups * K * K (PyTorch's default). pad < 0 means "same" (same_padding(K)).
struct Conv2d {
    Tensor weight, bias;
    int stride = 1, pad = 0, groups = 1;

    Conv2d() = default;
    Conv2d(int in_channels, int out_channels, int K, Rng& rng, int stride = 1, int pad = -1, int groups = 1);
    Tensor forward(const Tensor& x) const;
    void collect(Params& params, const std::string& prefix) const;
};

// gamma = 1, beta = 0 at the start.
struct GroupNorm {
    Tensor gamma, beta;
    int groups = 1;
    float eps = 1e-5f;

    GroupNorm() = default;
    GroupNorm(int groups, int channels);
    Tensor forward(const Tensor& x) const;
    void collect(Params& params, const std::string& prefix) const;
};

// The residual block of Ho et al. (2020), without dropout: with e = SiLU(time embedding) (B, E),
//   h = conv1(SiLU(norm1(x))) + time(e) on every position,  h = conv2(SiLU(norm2(h))),
//   out = h + skip(x), skip a 1x1 convolution when the channel counts differ, else x itself.
struct ResBlock2d {
    GroupNorm norm1, norm2;
    Conv2d conv1, conv2, skip;
    Linear time;
    bool has_skip = false;

    ResBlock2d() = default;
    ResBlock2d(int in_channels, int out_channels, int time_dim, int groups, Rng& rng);
    Tensor forward(const Tensor& x, const Tensor& time_act) const;
    void collect(Params& params, const std::string& prefix) const;
};

// x + proj(attention(qkv(norm(x)))): Q, K, V and the output projection are 1x1 convolutions.
struct SelfAttention2d {
    GroupNorm norm;
    Conv2d qkv, proj;
    int heads = 1;

    SelfAttention2d() = default;
    SelfAttention2d(int channels, int heads, int groups, Rng& rng);
    Tensor forward(const Tensor& x) const;
    void collect(Params& params, const std::string& prefix) const;
};

// ---- networks: eps_theta(x_t, t) for (B, 1, 28, 28) images --------------------------------------
// The CNN of seed [003]: channels 1-16-32-32-16-1, 7x7 kernels with padding 3 and a 3x3 last layer,
// GELU after every layer but the last; the time MLP (a 32-wide sinusoidal embedding -> 128 -> 128
// -> 16, GELU between) added to the 16 channels after the first convolution, before its GELU.
struct ImageCNN {
    MLP time_mlp;
    std::vector<Conv2d> convs;

    ImageCNN() = default;
    explicit ImageCNN(Rng& rng);
    Tensor forward(const Tensor& x, const std::vector<float>& t) const;
    Params params() const;
};

// A small U-Net (docs/performance.md gives its exact shape): 28 -> 14 -> 7 with 32, 64, 64 channels,
// a residual block per level on the way down and up, skips joined by concat, two residual blocks
// and self-attention (4 heads) at 7 x 7, GroupNorm of 8 groups, SiLU, the time embedding (32-wide
// sinusoidal -> 128 -> SiLU -> 128) entering every residual block.
struct SmallUNet {
    Linear time1, time2;
    Conv2d stem, down0, down1, head;
    ResBlock2d block0, block1, mid1, mid2, up1, up0;
    SelfAttention2d attn;
    GroupNorm head_norm;

    SmallUNet() = default;
    explicit SmallUNet(Rng& rng);
    Tensor forward(const Tensor& x, const std::vector<float>& t) const;
    Params params() const;
};

}  // namespace ddpm
