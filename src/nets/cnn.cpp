#include "nets/cnn.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/image_kernels.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// The CNN of [003]
// ---------------------------------------------------------------------------------------------
namespace {
const int kTimeFeatures = 32;  // width of the sinusoidal embedding of t
}

ImageCNN::ImageCNN(Rng& rng) : time_mlp({kTimeFeatures, 128, 128, 16}, Activation::GELU, rng) {
    const int channels[] = {1, 16, 32, 32, 16, 1};
    for (int i = 0; i < 5; ++i) convs.emplace_back(channels[i], channels[i + 1], i < 4 ? 7 : 3, rng);
}

Tensor ImageCNN::forward(const Tensor& x, const std::vector<float>& t) const {
    const Tensor time = time_mlp.forward(timestep_embedding(t, kTimeFeatures));  // (B, 16)
    Tensor h = gelu(add_channel_vector(convs[0].forward(x), time));
    for (size_t i = 1; i + 1 < convs.size(); ++i) h = gelu(convs[i].forward(h));
    return convs.back().forward(h);
}

Params ImageCNN::params() const {
    Params p;
    time_mlp.collect(p, "time_mlp");
    for (size_t i = 0; i < convs.size(); ++i) convs[i].collect(p, "convs." + std::to_string(i));
    return p;
}

}  // namespace ddpm
