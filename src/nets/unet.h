// unet.h: the U-Nets of lessons 09-11 and their blocks, built from the layers of core/image_nn.h:
// the residual block of Ho et al. (2020), self-attention over a map, [003]'s ConvNeXt block, and
// the U-Net that holds either kind (with its class-label table for lesson 11). As in core/nn.h: a
// block is a struct of Tensors with forward() and collect(), which appends its parameters with
// dotted names in a fixed order (the optimiser's and the checkpoint's order).
#pragma once

#include <string>
#include <vector>

#include "core/image_nn.h"

namespace ddpm {

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

// The block of [003]'s U-Net, after Bansal et al. (2022) who took it from ConvNeXt (Liu et al. 2022):
//   h = depthwise7x7(x) + time(e),  h = conv2(GELU(conv1(h))),  h = LayerNorm_channels(h),
//   out = h + skip(x).
// conv1 (3x3) widens to 2 * out channels, conv2 (3x3) comes back to out. [003] moved the LayerNorm
// from before conv1 (Bansal's place) to after conv2, before the residual add, and found it better.
struct ConvNeXtBlock2d {
    Conv2d depthwise, conv1, conv2, skip;
    Linear time;
    Tensor norm_gamma, norm_beta;
    bool has_skip = false;

    ConvNeXtBlock2d() = default;
    ConvNeXtBlock2d(int in_channels, int out_channels, int time_dim, Rng& rng);
    Tensor forward(const Tensor& x, const Tensor& time_act) const;
    void collect(Params& params, const std::string& prefix) const;
};

// The U-Net of Ho et al. (2020) as [001] 2.2 describes it, cut to MNIST's size (lesson 09 reads it):
//
//   level 0 (28 x 28, c0):  stem 3x3 -> block0 ---------------------------------skip s0--+
//   level 1 (14 x 14, c1):  down0 (3x3, stride 2) -> block1 ----------------skip s1--+    |
//   level 2 (7 x 7, c2):    down1 (3x3, stride 2) -> mid1 -> attention -> mid2       |    |
//   back up:                upsample x2, concat s1 -> up1 (c1); upsample x2, concat s0 -> up0 (c0)
//   head:                   GroupNorm + SiLU -> conv 3x3 -> eps (1 channel)
//
// Every block gets the time embedding e = SiLU(time2(SiLU(time1(sinusoidal_32(t))))), 128 wide.
// A block is [001]'s residual block (ResBlock2d, GroupNorm of 8 groups, SiLU) or [003]'s ConvNeXt
// block (ConvNeXtBlock2d); the attention has 4 heads. zero_head starts the last convolution at zero,
// so the untrained network predicts eps = 0 and the first steps do not fight a random output.
enum class UNetBlockKind { Residual, ConvNeXt };
const char* unet_block_name(UNetBlockKind kind);  // "residual", "convnext"

struct UNetConfig {
    UNetBlockKind block = UNetBlockKind::Residual;
    int c0 = 32, c1 = 64, c2 = 64;
    bool zero_head = true;
    // classes > 0: class-conditional (Ho and Salimans 2022, lesson 11 part 4). A learned table of
    // classes + 1 rows of 128, the last row for "no label", and e += table[label] before the blocks.
    int classes = 0;
};
UNetConfig unet_residual_config();  // 32, 64, 64 channels (lesson 09's, 509,857 parameters)
UNetConfig unet_convnext_config();  // 32, 64, 128: doubled at each downsampling ([003], lesson 10)
// The weights and biases of UNet(config), counted without building it, so that a file can be held
// against the network it names before anything is allocated (tests/test_unet_blocks.cpp checks it
// against the built networks).
int64_t unet_values(const UNetConfig& config);

// One block of either kind (the other member stays empty).
struct UNetBlock {
    UNetBlockKind kind = UNetBlockKind::Residual;
    ResBlock2d residual;
    ConvNeXtBlock2d convnext;

    UNetBlock() = default;
    UNetBlock(UNetBlockKind kind, int in_channels, int out_channels, int time_dim, Rng& rng);
    Tensor forward(const Tensor& x, const Tensor& time_act) const;
    void collect(Params& params, const std::string& prefix) const;
};

struct UNet {
    UNetConfig config;
    Linear time1, time2;
    Conv2d stem, down0, down1, head;
    UNetBlock block0, block1, mid1, mid2, up1, up0;
    SelfAttention2d attn;
    GroupNorm head_norm;

    Tensor label;  // (classes + 1, 128) when config.classes > 0; starts at zero (no random draws)

    UNet() = default;
    UNet(const UNetConfig& config, Rng& rng);
    Tensor forward(const Tensor& x, const std::vector<float>& t) const;
    // labels: one per image, 0 .. classes - 1, or -1 for "no label" (the unconditional model of
    // classifier-free guidance); empty means no label for every image. Only a conditional network
    // takes labels.
    Tensor forward(const Tensor& x, const std::vector<float>& t, const std::vector<int>& labels) const;
    Params params() const;
};

// The bench's and the parity test's U-Net (docs/performance.md gives its exact shape): the residual
// U-Net with a random last convolution, so that every gradient is non-zero from the first step.
struct SmallUNet : UNet {
    SmallUNet() = default;
    explicit SmallUNet(Rng& rng);
};

}  // namespace ddpm
