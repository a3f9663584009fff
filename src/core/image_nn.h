// image_nn.h: the layers of image networks, built from image_ops.h: Conv2d and GroupNorm. The
// networks made of them (the CNN of seed [003], the U-Nets and their blocks) are in src/nets/.
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

}  // namespace ddpm
