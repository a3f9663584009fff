#include "core/image_nn.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/image_kernels.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------
Conv2d::Conv2d(int in_channels, int out_channels, int K, Rng& rng, int stride_, int pad_, int groups_)
    : stride(stride_), pad(pad_ < 0 ? same_padding(K) : pad_), groups(groups_) {
    if (in_channels <= 0 || out_channels <= 0 || K <= 0 || groups <= 0 || in_channels % groups || out_channels % groups)
        fail("Conv2d: bad sizes " + std::to_string(in_channels) + " -> " + std::to_string(out_channels) + ", K = " +
             std::to_string(K) + ", groups = " + std::to_string(groups));
    const int fan_in = in_channels / groups * K * K;
    const float bound = 1.0f / std::sqrt(float(fan_in));
    weight = Tensor::zeros(Shape{out_channels, in_channels / groups, K, K}, true);
    bias = Tensor::zeros(Shape{out_channels}, true);
    rng.fill_uniform(weight.data(), weight.numel(), -bound, bound);
    rng.fill_uniform(bias.data(), bias.numel(), -bound, bound);
}

Tensor Conv2d::forward(const Tensor& x) const { return conv2d(x, weight, bias, stride, pad, groups); }

void Conv2d::collect(Params& params, const std::string& prefix) const {
    params.push_back({prefix + ".weight", weight});
    params.push_back({prefix + ".bias", bias});
}

GroupNorm::GroupNorm(int groups_, int channels)
    : gamma(Tensor::full(Shape{channels}, 1.0f, true)), beta(Tensor::zeros(Shape{channels}, true)), groups(groups_) {}

Tensor GroupNorm::forward(const Tensor& x) const { return group_norm(x, gamma, beta, groups, eps); }

void GroupNorm::collect(Params& params, const std::string& prefix) const {
    params.push_back({prefix + ".weight", gamma});
    params.push_back({prefix + ".bias", beta});
}

}  // namespace ddpm
