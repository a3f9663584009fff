// The image ops (core/image_ops.h) against central finite differences, and a few values by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "core/image_kernels.h"
#include "nets/cnn.h"
#include "nets/unet.h"
#include "core/image_ops.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

// conv2d by its definition, in double: the oracle for the kernel's values
double conv_at(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int pad, int groups, int b, int o,
               int oh, int ow) {
    const int C = x.dim(1), H = x.dim(2), W = x.dim(3), OC = w.dim(0), K = w.dim(2);
    const int CG = C / groups, group = o / (OC / groups);
    double acc = bias.defined() ? bias.data()[o] : 0.0;
    for (int ic = 0; ic < CG; ++ic)
        for (int kh = 0; kh < K; ++kh)
            for (int kw = 0; kw < K; ++kw) {
                const int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += double(w.at({o, ic, kh, kw})) * x.at({b, group * CG + ic, ih, iw});
            }
    return acc;
}

}  // namespace

// ---- convolution ---------------------------------------------------------------------------------
TEST_CASE("image conv2d: values by the definition, for kernel sizes, strides, paddings and groups") {
    struct Case {
        int C, OC, K, stride, pad, groups;
    };
    for (Case c : {Case{3, 4, 3, 1, 1, 1}, Case{2, 5, 1, 1, 0, 1}, Case{2, 3, 7, 1, 3, 1}, Case{3, 2, 3, 2, 1, 1},
                   Case{4, 4, 3, 1, 1, 4}, Case{4, 8, 3, 2, 0, 2}}) {
        INFO("C=" << c.C << " OC=" << c.OC << " K=" << c.K << " stride=" << c.stride << " pad=" << c.pad
                  << " groups=" << c.groups);
        Tensor x = randn(Shape{2, c.C, 9, 8}, 1, false);
        Tensor w = randn(Shape{c.OC, c.C / c.groups, c.K, c.K}, 2, false);
        Tensor bias = randn(Shape{c.OC}, 3, false);
        Tensor y = conv2d(x, w, bias, c.stride, c.pad, c.groups);
        REQUIRE(y.dim(2) == conv_out_size(9, c.K, c.stride, c.pad));
        REQUIRE(y.dim(3) == conv_out_size(8, c.K, c.stride, c.pad));
        double worst = 0.0;
        for (int b = 0; b < 2; ++b)
            for (int o = 0; o < c.OC; ++o)
                for (int oh = 0; oh < y.dim(2); ++oh)
                    for (int ow = 0; ow < y.dim(3); ++ow)
                        worst = std::fmax(worst, std::fabs(y.at({b, o, oh, ow}) -
                                                           conv_at(x, w, bias, c.stride, c.pad, c.groups, b, o, oh, ow)));
        CHECK(worst < 5e-5);
    }
}

TEST_CASE("grad: conv2d 3x3 same padding with bias") {
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
               {randn(Shape{2, 3, 5, 5}, 1), randn(Shape{4, 3, 3, 3}, 2), randn(Shape{4}, 3)});
}

TEST_CASE("grad: conv2d 1x1 and 7x7, no bias") {
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), 1, 0); },
               {randn(Shape{2, 3, 4, 3}, 4), randn(Shape{5, 3, 1, 1}, 5)});
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 3); },
               {randn(Shape{1, 2, 6, 6}, 6), randn(Shape{2, 2, 7, 7}, 7, true, 0.3f), randn(Shape{2}, 8)});
}

TEST_CASE("grad: conv2d stride 2, explicit padding, odd and even sizes") {
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1); },
               {randn(Shape{2, 2, 6, 7}, 9), randn(Shape{3, 2, 3, 3}, 10), randn(Shape{3}, 11)});
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 0); },
               {randn(Shape{1, 2, 5, 5}, 12), randn(Shape{2, 2, 2, 2}, 13), randn(Shape{2}, 14)});
}

TEST_CASE("grad: conv2d depthwise (groups = channels) and grouped") {
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 3, 3); },
               {randn(Shape{2, 3, 6, 6}, 15), randn(Shape{3, 1, 7, 7}, 16, true, 0.3f), randn(Shape{3}, 17)});
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1, 2); },
               {randn(Shape{2, 4, 4, 4}, 18), randn(Shape{6, 2, 3, 3}, 19), randn(Shape{6}, 20)});
}

TEST_CASE("grad: conv2d weight gradient over more images than one block of kConvGradImages") {
    check_grad([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
               {randn(Shape{kConvGradImages + 3, 1, 4, 4}, 21, false), randn(Shape{2, 1, 3, 3}, 22),
                randn(Shape{2}, 23)});
}

TEST_CASE("image conv2d: shape errors are one clear line") {
    Tensor x = randn(Shape{1, 3, 5, 5}, 24, false);
    CHECK_THROWS_WITH(conv2d(x, randn(Shape{4, 2, 3, 3}, 25, false), Tensor()),
                      "conv2d: weight (4, 2, 3, 3) does not fit input (1, 3, 5, 5) with 1 groups (expected (OC, "
                      "C/groups, K, K))");
    CHECK_THROWS(conv2d(x, randn(Shape{4, 1, 3, 3}, 26, false), Tensor(), 1, 1, 2));
    CHECK_THROWS(conv2d(randn(Shape{3, 5}, 27, false), randn(Shape{4, 3, 3, 3}, 28, false), Tensor()));
}

// ---- resampling and concatenation ----------------------------------------------------------------
TEST_CASE("image upsample2x and avgpool2x: values") {
    Tensor x = Tensor::from(Shape{1, 1, 2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
    Tensor up = upsample2x(x);
    CHECK(up.shape() == Shape{1, 1, 4, 4});
    CHECK(up.at({0, 0, 1, 1}) == 1.0f);
    CHECK(up.at({0, 0, 0, 2}) == 2.0f);
    CHECK(up.at({0, 0, 3, 0}) == 3.0f);
    Tensor down = avgpool2x(up);
    CHECK(down.shape() == x.shape());
    for (int i = 0; i < 4; ++i) CHECK(down.data()[i] == x.data()[i]);
    CHECK(avgpool2x(x).item() == 2.5f);
    CHECK_THROWS(avgpool2x(randn(Shape{1, 1, 3, 4}, 29, false)));
}

TEST_CASE("grad: upsample2x and avgpool2x") {
    check_grad([](const std::vector<Tensor>& in) { return upsample2x(in[0]); }, {randn(Shape{2, 3, 3, 2}, 30)});
    check_grad([](const std::vector<Tensor>& in) { return avgpool2x(in[0]); }, {randn(Shape{2, 3, 4, 6}, 31)});
}

TEST_CASE("grad: concat of feature maps along the channels (the U-Net's skips)") {
    check_grad([](const std::vector<Tensor>& in) { return concat({upsample2x(in[0]), in[1]}); },
               {randn(Shape{2, 3, 2, 2}, 32), randn(Shape{2, 2, 4, 4}, 33)});
    Tensor y = concat({randn(Shape{2, 3, 2, 2}, 34, false), randn(Shape{2, 5, 2, 2}, 35, false)});
    CHECK(y.shape() == Shape{2, 8, 2, 2});
}

// ---- normalisation -----------------------------------------------------------------------------
TEST_CASE("image group_norm: each group has mean 0 and variance 1 before the affine part") {
    Tensor x = randn(Shape{2, 6, 3, 3}, 36, false, 3.0f);
    Tensor ones = Tensor::full(Shape{6}, 1.0f), zeros = Tensor::zeros(Shape{6});
    Tensor y = group_norm(x, ones, zeros, 3);
    for (int b = 0; b < 2; ++b)
        for (int g = 0; g < 3; ++g) {
            double s = 0.0, ss = 0.0;
            for (int i = 0; i < 18; ++i) {
                const double v = y.data()[(b * 3 + g) * 18 + i];
                s += v;
                ss += v * v;
            }
            CHECK(s / 18 == doctest::Approx(0.0).epsilon(1e-5));
            CHECK(ss / 18 == doctest::Approx(1.0).epsilon(1e-4));
        }
}

TEST_CASE("grad: group_norm with small and large groups") {
    for (int groups : {1, 2, 6}) {
        INFO("groups = " << groups);
        check_grad([groups](const std::vector<Tensor>& in) { return group_norm(in[0], in[1], in[2], groups); },
                   {randn(Shape{2, 6, 3, 3}, 37), randn(Shape{6}, 38), randn(Shape{6}, 39)});
    }
}

TEST_CASE("grad: channel_layer_norm") {
    check_grad([](const std::vector<Tensor>& in) { return channel_layer_norm(in[0], in[1], in[2]); },
               {randn(Shape{2, 5, 3, 2}, 40), randn(Shape{5}, 41), randn(Shape{5}, 42)});
}

// ---- activations on images, broadcast ----------------------------------------------------------
TEST_CASE("grad: relu, gelu and silu on NCHW tensors") {
    check_grad([](const std::vector<Tensor>& in) { return gelu(in[0]); }, {randn(Shape{2, 3, 2, 2}, 43, true, 2.0f)});
    check_grad([](const std::vector<Tensor>& in) { return silu(in[0]); }, {randn(Shape{2, 3, 2, 2}, 44, true, 2.0f)});
    check_grad([](const std::vector<Tensor>& in) { return relu(in[0]); }, {randn_away_from_zero(Shape{2, 3, 2, 2}, 45)});
    CHECK(silu(randn(Shape{2, 3, 4, 5}, 46, false)).shape() == Shape{2, 3, 4, 5});
}

TEST_CASE("grad: add_channel_vector, a (B, C) vector on every position") {
    check_grad([](const std::vector<Tensor>& in) { return add_channel_vector(in[0], in[1]); },
               {randn(Shape{2, 3, 2, 4}, 47), randn(Shape{2, 3}, 48)});
    Tensor y = add_channel_vector(Tensor::zeros(Shape{1, 2, 2, 2}), Tensor::from(Shape{1, 2}, {1.0f, -2.0f}));
    CHECK(y.at({0, 0, 1, 1}) == 1.0f);
    CHECK(y.at({0, 1, 0, 1}) == -2.0f);
}

// ---- attention ------------------------------------------------------------------------------------
TEST_CASE("image spatial_attention: equal keys give the mean of the values") {
    // keys all zero -> uniform attention: every output position holds the mean of its channel's values
    Tensor qkv = randn(Shape{1, 6, 2, 2}, 49, false);
    for (int s = 0; s < 4; ++s) qkv.data()[2 * 4 + s] = qkv.data()[3 * 4 + s] = 0.0f;  // k: channels 2, 3
    Tensor y = spatial_attention(qkv, 1);
    for (int c = 0; c < 2; ++c) {
        double m = 0.0;
        for (int s = 0; s < 4; ++s) m += qkv.data()[(4 + c) * 4 + s] / 4.0;
        for (int s = 0; s < 4; ++s) CHECK(y.data()[c * 4 + s] == doctest::Approx(m).epsilon(1e-5));
    }
}

TEST_CASE("grad: spatial_attention, single and multi-head") {
    for (int heads : {1, 2}) {
        INFO("heads = " << heads);
        check_grad([heads](const std::vector<Tensor>& in) { return spatial_attention(in[0], heads); },
                   {randn(Shape{2, 12, 2, 3}, 50)});
    }
}

// ---- the blur and dropout -------------------------------------------------------------------------
TEST_CASE("image gaussian_blur: the kernel sums to one; a constant image stays constant with reflection") {
    float w[5];
    gaussian_kernel_1d(w, 5, 1.0f);
    CHECK(w[0] + w[1] + w[2] + w[3] + w[4] == doctest::Approx(1.0f).epsilon(1e-6));
    CHECK(w[2] / w[1] == doctest::Approx(std::exp(0.5)).epsilon(1e-5));
    Tensor x = Tensor::full(Shape{1, 2, 6, 5}, 3.0f);
    Tensor y = gaussian_blur(x, 5, 1.0f, true);
    for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == doctest::Approx(3.0f).epsilon(1e-5));
    Tensor z = gaussian_blur(x, 5, 1.0f, false);  // zero padding darkens the corners
    CHECK(z.at({0, 0, 0, 0}) < 3.0f);
    CHECK(z.at({0, 0, 3, 0}) == doctest::Approx(3.0f * (w[2] + w[3] + w[4])).epsilon(1e-5));  // two columns cut off
}

TEST_CASE("grad: gaussian_blur with zero and reflect padding") {
    for (bool reflect : {false, true}) {
        INFO("reflect = " << reflect);
        check_grad([reflect](const std::vector<Tensor>& in) { return gaussian_blur(in[0], 5, 1.5f, reflect); },
                   {randn(Shape{2, 2, 5, 6}, 51)});
    }
}

TEST_CASE("image dropout: the same numbers for the same counter, about p of the values dropped") {
    Tensor x = Tensor::full(Shape{4, 8, 16, 16}, 1.0f);
    Tensor a = dropout(x, 0.25f, 9, 3, 100), b = dropout(x, 0.25f, 9, 3, 100), c = dropout(x, 0.25f, 9, 3, 101);
    int64_t dropped = 0, differ = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        CHECK(a.data()[i] == b.data()[i]);
        dropped += a.data()[i] == 0.0f;
        differ += a.data()[i] != c.data()[i];
        if (a.data()[i] != 0.0f) CHECK(a.data()[i] == 1.0f / 0.75f);
    }
    CHECK(double(dropped) / double(x.numel()) == doctest::Approx(0.25).epsilon(0.05));
    CHECK(differ > 0);
    CHECK(dropout(x, 0.0f, 9, 3, 0).node == x.node);
}

TEST_CASE("grad: dropout") {
    check_grad([](const std::vector<Tensor>& in) { return dropout(in[0], 0.5f, 1, 2, 3); },
               {randn(Shape{2, 3, 4, 4}, 52)});
}

// ---- the networks of src/nets/ -------------------------------------------------------------------
TEST_CASE("grad: self-attention block, 1x1 convolutions around the attention, single and multi-head") {
    for (int heads : {1, 2}) {
        INFO("heads = " << heads);
        check_grad(
            [heads](const std::vector<Tensor>& in) {
                const Tensor qkv = conv2d(in[0], in[1], in[2]);                      // 1x1: 4 -> 12 channels
                return add(in[0], conv2d(spatial_attention(qkv, heads), in[3], in[4]));  // 1x1: 4 -> 4
            },
            {randn(Shape{2, 4, 2, 3}, 60), randn(Shape{12, 4, 1, 1}, 61, true, 0.5f), randn(Shape{12}, 62),
             randn(Shape{4, 4, 1, 1}, 63, true, 0.5f), randn(Shape{4}, 64)});
    }
}

TEST_CASE("nets: the two networks map (B, 1, 28, 28) to the same shape; their parameter counts") {
    Rng rng(1, 10);
    const ImageCNN cnn(rng);
    const SmallUNet unet(rng);
    Tensor x = randn(Shape{2, 1, 28, 28}, 65, false);
    NoGrad no_grad;
    CHECK(cnn.forward(x, {1.0f, 500.0f}).shape() == x.shape());
    CHECK(unet.forward(x, {1.0f, 500.0f}).shape() == x.shape());
    CHECK(count_values(cnn.params()) == 124177);
    CHECK(count_values(unet.params()) == 509857);
}
