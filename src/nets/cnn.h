// cnn.h: the CNN of seed [003], eps_theta(x_t, t) for (B, 1, 28, 28) images (lessons 08-09), built
// from the layers of core/image_nn.h. As in core/nn.h: params() lists the parameters with dotted
// names in a fixed order (the optimiser's and the checkpoint's order).
#pragma once

#include <vector>

#include "core/image_nn.h"

namespace ddpm {

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

}  // namespace ddpm
