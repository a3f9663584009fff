// The image trainer (diffusion/image_train.h): the U-Net of lesson 09 in both block kinds, and the
// training state that makes a stopped run continue with the same bits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/checkpoint.h"
#include "core/image_ops.h"
#include "core/ops.h"
#include "core/pool.h"
#include "diffusion/image_train.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

// 12 images of 8 x 8 with values in [-1, 1]
ImageSet tiny_images() {
    ImageSet s;
    s.n = 12;
    s.h = s.w = 8;
    s.x.resize(size_t(s.n) * 64);
    Rng(5, 1).fill_uniform(s.x.data(), int64_t(s.x.size()), -1.0f, 1.0f);
    return s;
}

ImageTrainConfig tiny_config(UNetBlockKind kind) {
    ImageTrainConfig c;
    c.batch = 3;
    c.lr = 1e-3f;
    c.seed = 7;
    c.unet.block = kind;
    c.unet.c0 = c.unet.c1 = c.unet.c2 = 8;
    return c;
}

}  // namespace

// |a - b| <= tol * (1 + |b|) everywhere
bool close(const Tensor& a, const Tensor& b, float tol) {
    if (a.shape() != b.shape()) return false;
    for (int64_t i = 0; i < a.numel(); ++i)
        if (!(std::fabs(a.data()[i] - b.data()[i]) <= tol * (1.0f + std::fabs(b.data()[i])))) return false;
    return true;
}

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
    CHECK(close(block.forward(x, e), want, 1e-5f));
    // with conv2 at zero the block is its skip path: x itself when the channel counts agree
    ResBlock2d same(8, 8, 12, 4, rng);
    std::fill(same.conv2.weight.data(), same.conv2.weight.data() + same.conv2.weight.numel(), 0.0f);
    std::fill(same.conv2.bias.data(), same.conv2.bias.data() + same.conv2.bias.numel(), 0.0f);
    CHECK(close(same.forward(x, e), x, 0.0f));
    // the time embedding matters: another e, another output
    CHECK_FALSE(close(block.forward(x, randn(Shape{2, 12}, 13)), want, 1e-3f));
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
    CHECK(close(block.forward(x, e), want, 1e-5f));
    CHECK(block.conv1.weight.shape() == Shape{32, 8, 3, 3});  // widened to 2 x 16
    // LayerNorm with gamma = beta = 0 leaves only the skip path
    ConvNeXtBlock2d same(8, 8, 12, rng);
    std::fill(same.norm_gamma.data(), same.norm_gamma.data() + same.norm_gamma.numel(), 0.0f);
    CHECK(close(same.forward(x, e), x, 0.0f));
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

TEST_CASE("image trainer: stopped and resumed from its checkpoint, it gives the same bits as one run") {
    const ImageSet data = tiny_images();
    std::vector<int> rows(static_cast<size_t>(data.n));
    for (int i = 0; i < data.n; ++i) rows[size_t(i)] = i;
    for (UNetBlockKind kind : {UNetBlockKind::Residual, UNetBlockKind::ConvNeXt}) {
        CAPTURE(unet_block_name(kind));
        ImageTrainer straight(ImageArch::UNet, tiny_config(kind), cosine_schedule(50));
        for (int i = 0; i < 6; ++i) straight.train_step(data, rows);

        ImageTrainer first(ImageArch::UNet, tiny_config(kind), cosine_schedule(50));
        for (int i = 0; i < 3; ++i) first.train_step(data, rows);
        const std::string bytes = serialize_checkpoint(image_trainer_checkpoint(first));
        ImageTrainer resumed = image_trainer_from_checkpoint(parse_checkpoint(bytes, "state"), "state");
        CHECK(resumed.step == 3);
        CHECK(resumed.model.unet.config.block == kind);
        for (int i = 0; i < 3; ++i) resumed.train_step(data, rows);
        CHECK(same_bits(straight.params, resumed.params));
        CHECK(same_bits(straight.ema_model().params(), resumed.ema_model().params()));
        CHECK_FALSE(same_bits(straight.params, first.params));  // the last three steps did change them
    }
}

TEST_CASE("image model file: the EMA weights and the schedule round-trip; bad entries are one-line errors") {
    ImageTrainer tr(ImageArch::UNet, tiny_config(UNetBlockKind::Residual), cosine_schedule(50));
    const ImageSet data = tiny_images();
    tr.train_step(data, {0, 1, 2});
    const ImageModel ema = tr.ema_model();
    const Checkpoint c = image_model_checkpoint(ema, tr.schedule);
    Schedule s;
    const ImageModel back = image_model_from_checkpoint(parse_checkpoint(serialize_checkpoint(c), "m"), "m", s);
    CHECK(same_bits(ema.params(), back.params()));
    CHECK(s.T == 50);
    CHECK(s.alpha_bar == tr.schedule.alpha_bar);
    CHECK(s.name == tr.schedule.name);

    Checkpoint bad = c;
    bad.set_meta("unet.channels", "8,8");
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s),
                      doctest::Contains("m.ckpt: entry 'unet.channels' is not three multiples of 8"));
    bad = c;
    bad.set_meta("model.arch", "mlp");
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s), doctest::Contains("m.ckpt: entry 'model.arch'"));
    bad = c;
    bad.tensors.pop_back();
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s), doctest::Contains("m.ckpt"));
}

TEST_CASE("image trainer: the U-Net trains to the same bits on 1 and 2 threads") {
    const ImageSet data = tiny_images();
    std::vector<int> rows = {0, 1, 2, 3, 4, 5};
    Params results[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        ImageTrainer tr(ImageArch::UNet, tiny_config(UNetBlockKind::ConvNeXt), cosine_schedule(50));
        for (int i = 0; i < 3; ++i) tr.train_step(data, rows);
        results[threads - 1] = tr.params;
    }
    set_num_threads(default_num_threads());
    CHECK(same_bits(results[0], results[1]));
}
