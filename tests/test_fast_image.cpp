// src/fast/image_kernels.cpp against the reference loops of core/image_kernels.cpp: conv2d forward
// and backward must give the same bits, on the shapes of the bench's networks and on ragged ones,
// on 1 and 2 threads. In a FAST=0 build nothing is installed and these cases only say so.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "core/dispatch.h"
#include "core/image_kernels.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// `kernel` on copies of `start`: fast on 1 thread, fast on 2 threads, and the reference.
void check_same_bits(const std::vector<float>& start, const std::function<void(float*)>& kernel) {
    const int threads = num_threads();
    std::vector<float> fast1 = start, fast2 = start, reference = start;
    set_num_threads(1);
    kernel(fast1.data());
    set_num_threads(2);
    kernel(fast2.data());
    set_num_threads(threads);
    {
        ReferenceOnly only;
        kernel(reference.data());
    }
    CHECK(same_bits(fast1, reference));
    CHECK(same_bits(fast2, reference));
}

}  // namespace

TEST_CASE("fast image: a FAST=1 build installs conv2d") {
    if (!fast_kernels().installed) {
        MESSAGE("FAST=0 build: the reference path alone");
        CHECK_FALSE(bool(fast_kernels().conv2d_forward));
        return;
    }
    CHECK(bool(fast_kernels().conv2d_forward));
    CHECK(bool(fast_kernels().conv2d_backward));
    CHECK(bool(fast_kernels().conv2d_depthwise_forward));
    CHECK(bool(fast_kernels().conv2d_depthwise_backward));
}

TEST_CASE("fast image: depthwise conv2d forward and backward give the reference's bits") {
    if (!fast_kernels().installed) return;
    struct Case {
        int B, C, H, W, K, pad;
    };
    const Case cases[] = {
        {3, 32, 28, 28, 7, 3},                  // the ConvNeXt U-Net's first level
        {kConvGradImages + 2, 5, 7, 7, 7, 3},   // its bottom, more than one block of images
        {2, 3, 9, 6, 3, 1},                     // a 3x3, ragged sizes
        {2, 2, 5, 4, 5, 4},                     // padding K - 1 (the output grows)
        {1, 4, 6, 6, 8, 2},                     // the widest kernel of the fast path, even, pad below half
    };
    for (const Case& c : cases) {
        INFO("B=" << c.B << " C=" << c.C << " H=" << c.H << " W=" << c.W << " K=" << c.K << " pad=" << c.pad);
        const int OH = conv_out_size(c.H, c.K, 1, c.pad), OW = conv_out_size(c.W, c.K, 1, c.pad);
        const int64_t n_in = int64_t(c.B) * c.C * c.H * c.W, n_out = int64_t(c.B) * c.C * OH * OW;
        const int64_t n_w = int64_t(c.C) * c.K * c.K;
        const auto x = random_values(n_in, 11), w = random_values(n_w, 12, 0.2f), bias = random_values(c.C, 13);
        const auto dout = random_values(n_out, 14);
        check_same_bits(random_values(n_out, 15), [&](float* out) {
            conv2d_forward(out, x.data(), w.data(), bias.data(), c.B, c.C, c.H, c.W, c.C, c.K, 1, c.pad, c.C);
        });
        check_same_bits(random_values(n_out, 15), [&](float* out) {
            conv2d_forward(out, x.data(), w.data(), nullptr, c.B, c.C, c.H, c.W, c.C, c.K, 1, c.pad, c.C);
        });
        std::vector<float> all = random_values(n_in + n_w + c.C, 16);
        check_same_bits(all, [&](float* g) {
            conv2d_backward(g, g + n_in, g + n_in + n_w, dout.data(), x.data(), w.data(), c.B, c.C, c.H, c.W, c.C,
                            c.K, 1, c.pad, c.C);
        });
        check_same_bits(all, [&](float* g) {
            conv2d_backward(nullptr, g + n_in, nullptr, dout.data(), x.data(), w.data(), c.B, c.C, c.H, c.W, c.C,
                            c.K, 1, c.pad, c.C);
        });
    }
}

TEST_CASE("fast image: conv2d forward and backward give the reference's bits") {
    if (!fast_kernels().installed) return;
    struct Case {
        int B, C, H, W, OC, K, stride, pad;
    };
    const Case cases[] = {
        {3, 1, 28, 28, 16, 7, 1, 3},    // the CNN's first layer
        {2, 16, 28, 28, 32, 7, 1, 3},   // its second
        {kConvGradImages + 3, 4, 9, 7, 1, 3, 1, 1},  // a last layer (OC = 1), more than one block of images
        {2, 5, 14, 14, 8, 3, 2, 1},     // a U-Net downsampling
        {2, 6, 7, 7, 18, 1, 1, 0},      // a 1x1 (attention's projections)
        {1, 3, 5, 6, 37, 2, 2, 0},      // even kernel, ragged sizes
        {2, 2, 4, 4, 3, 5, 1, 3},       // padding wider than half the kernel
        {2, 32, 14, 14, 64, 3, 1, 1},   // a U-Net level: tiles of runs of 14 positions, 3 taps, 2 strips
        {2, 17, 7, 7, 16, 3, 1, 1},     // runs of 7 positions, one vector of columns
        {1, 20, 12, 9, 48, 5, 1, 2},    // runs of 9 (by 3), a strip of 32 and one of 16, 5 taps (any rows)
    };
    for (const Case& c : cases) {
        INFO("B=" << c.B << " C=" << c.C << " H=" << c.H << " W=" << c.W << " OC=" << c.OC << " K=" << c.K
                  << " stride=" << c.stride << " pad=" << c.pad);
        const int OH = conv_out_size(c.H, c.K, c.stride, c.pad), OW = conv_out_size(c.W, c.K, c.stride, c.pad);
        const int64_t n_in = int64_t(c.B) * c.C * c.H * c.W, n_out = int64_t(c.B) * c.OC * OH * OW;
        const int64_t n_w = int64_t(c.OC) * c.C * c.K * c.K;
        const auto x = random_values(n_in, 1), w = random_values(n_w, 2, 0.2f), bias = random_values(c.OC, 3);
        const auto dout = random_values(n_out, 4);
        check_same_bits(random_values(n_out, 5), [&](float* out) {
            conv2d_forward(out, x.data(), w.data(), bias.data(), c.B, c.C, c.H, c.W, c.OC, c.K, c.stride, c.pad, 1);
        });
        check_same_bits(random_values(n_out, 5), [&](float* out) {
            conv2d_forward(out, x.data(), w.data(), nullptr, c.B, c.C, c.H, c.W, c.OC, c.K, c.stride, c.pad, 1);
        });
        // the three gradients side by side, starting from values already there (backward adds)
        std::vector<float> all = random_values(n_in + n_w + c.OC, 6);
        check_same_bits(all, [&](float* g) {
            conv2d_backward(g, g + n_in, g + n_in + n_w, dout.data(), x.data(), w.data(), c.B, c.C, c.H, c.W, c.OC,
                            c.K, c.stride, c.pad, 1);
        });
        check_same_bits(all, [&](float* g) {  // the first layer: no input gradient
            conv2d_backward(nullptr, g + n_in, nullptr, dout.data(), x.data(), w.data(), c.B, c.C, c.H, c.W, c.OC,
                            c.K, c.stride, c.pad, 1);
        });
    }
}
