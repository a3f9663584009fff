// Lesson 09's U-Net (nets/unet.h): the residual block of Ho et al. (L09.1) and [003]'s ConvNeXt
// block (L09.2), written against the ops they are made of, and the two U-Nets' shapes and sizes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "nets/unet.h"
#include "core/image_ops.h"
#include "core/ops.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

// |a - b| <= tol * (1 + |b|) everywhere
bool close_to(const Tensor& a, const Tensor& b, float tol) {
    if (a.shape() != b.shape()) return false;
    for (int64_t i = 0; i < a.numel(); ++i)
        if (!(std::fabs(a.data()[i] - b.data()[i]) <= tol * (1.0f + std::fabs(b.data()[i])))) return false;
    return true;
}

}  // namespace

TEST_CASE("L09.1 the residual block: GroupNorm-SiLU-conv, the time added per channel, again, plus the skip") {
    Rng rng(3, 4);
    ResBlock2d block(8, 16, 12, 4, rng);  // 8 -> 16 channels: a 1x1 skip
    // non-trivial affine parameters, so that a block that skips a norm's gamma or beta is caught
    for (Tensor* t : {&block.norm1.gamma, &block.norm1.beta, &block.norm2.gamma, &block.norm2.beta})
        rng.fill_uniform(t->data(), t->numel(), 0.5f, 1.5f);
    const Tensor x = randn(Shape{2, 8, 6, 6}, 11), e = randn(Shape{2, 12}, 12);
    Tensor h = conv2d(silu(group_norm(x, block.norm1.gamma, block.norm1.beta, 4)), block.conv1.weight,
                      block.conv1.bias, 1, 1);
    h = add_channel_vector(h, block.time.forward(e));
    h = conv2d(silu(group_norm(h, block.norm2.gamma, block.norm2.beta, 4)), block.conv2.weight, block.conv2.bias, 1, 1);
    const Tensor want = add(h, conv2d(x, block.skip.weight, block.skip.bias, 1, 0));
    CHECK(close_to(block.forward(x, e), want, 1e-5f));
    // with conv2 at zero the block is its skip path: x itself when the channel counts agree
    ResBlock2d same(8, 8, 12, 4, rng);
    std::fill(same.conv2.weight.data(), same.conv2.weight.data() + same.conv2.weight.numel(), 0.0f);
    std::fill(same.conv2.bias.data(), same.conv2.bias.data() + same.conv2.bias.numel(), 0.0f);
    CHECK(close_to(same.forward(x, e), x, 0.0f));
    // the time embedding matters: another e, another output
    CHECK_FALSE(close_to(block.forward(x, randn(Shape{2, 12}, 13)), want, 1e-3f));
}

TEST_CASE("L09.2 the ConvNeXt block: depthwise 7x7 plus time, two 3x3 convs with GELU, LayerNorm, plus the skip") {
    Rng rng(5, 6);
    ConvNeXtBlock2d block(8, 16, 12, rng);
    rng.fill_uniform(block.norm_gamma.data(), block.norm_gamma.numel(), 0.5f, 1.5f);
    rng.fill_uniform(block.norm_beta.data(), block.norm_beta.numel(), -0.5f, 0.5f);
    const Tensor x = randn(Shape{2, 8, 9, 9}, 21), e = randn(Shape{2, 12}, 22);
    Tensor h = add_channel_vector(conv2d(x, block.depthwise.weight, block.depthwise.bias, 1, 3, 8), block.time.forward(e));
    h = conv2d(gelu(conv2d(h, block.conv1.weight, block.conv1.bias, 1, 1)), block.conv2.weight, block.conv2.bias, 1, 1);
    h = channel_layer_norm(h, block.norm_gamma, block.norm_beta);
    const Tensor want = add(h, conv2d(x, block.skip.weight, block.skip.bias, 1, 0));
    CHECK(close_to(block.forward(x, e), want, 1e-5f));
    CHECK(block.conv1.weight.shape() == Shape{32, 8, 3, 3});  // widened to 2 x 16
    // LayerNorm with gamma = beta = 0 leaves only the skip path
    ConvNeXtBlock2d same(8, 8, 12, rng);
    std::fill(same.norm_gamma.data(), same.norm_gamma.data() + same.norm_gamma.numel(), 0.0f);
    CHECK(close_to(same.forward(x, e), x, 0.0f));
}

TEST_CASE("unet: both block kinds have the shapes and the parameter counts of their description") {
    Rng rng(1, 2);
    const UNet residual(unet_residual_config(), rng);
    CHECK(count_values(residual.params()) == 509857);  // the same network as the bench's SmallUNet
    const UNet convnext(unet_convnext_config(), rng);
    const Tensor x = Tensor::zeros(Shape{2, 1, 28, 28});
    CHECK(residual.forward(x, {1.0f, 500.0f}).shape() == Shape{2, 1, 28, 28});
    CHECK(convnext.forward(x, {1.0f, 500.0f}).shape() == Shape{2, 1, 28, 28});
    // the zero-initialised head: eps = 0 for any input before training
    const Tensor y = residual.forward(randn(Shape{2, 1, 28, 28}, 3), {10.0f, 900.0f});
    for (int64_t i = 0; i < y.numel(); ++i) REQUIRE(y.data()[i] == 0.0f);
    Rng again(1, 2);
    const SmallUNet bench_net(again);
    CHECK(count_values(bench_net.params()) == 509857);
    CHECK_FALSE(bench_net.head.weight.data()[0] == 0.0f);
}


TEST_CASE("unet: unet_values counts the weights of the network it names without building it") {
    for (const UNetBlockKind kind : {UNetBlockKind::Residual, UNetBlockKind::ConvNeXt})
        for (const int classes : {0, 10})
            for (const auto& widths : {std::vector<int>{32, 64, 64}, std::vector<int>{16, 8, 24}, std::vector<int>{8, 40, 16}}) {
                UNetConfig c;
                c.block = kind;
                c.classes = classes;
                c.c0 = widths[0], c.c1 = widths[1], c.c2 = widths[2];
                INFO(unet_block_name(kind) << " " << c.c0 << "," << c.c1 << "," << c.c2 << " classes " << classes);
                Rng rng(1, 2);
                CHECK(unet_values(c) == count_values(UNet(c, rng).params()));
            }
}
