// image_model.h: one image network, the [003] CNN or a U-Net (nets/cnn.h, nets/unet.h), chosen when
// it is built: what the image trainer, the samplers, the checkpoints and the tool hold.
#pragma once

#include <vector>

#include "nets/cnn.h"
#include "nets/unet.h"

namespace ddpm {

enum class ImageArch { CNN, UNet };
const char* arch_name(ImageArch arch);  // "cnn", "unet"

// One of the two networks, chosen when it is built.
struct ImageModel {
    ImageArch arch = ImageArch::CNN;
    ImageCNN cnn;
    UNet unet;

    ImageModel() = default;
    ImageModel(ImageArch arch, Rng& rng, const UNetConfig& unet_config = UNetConfig{});
    Tensor forward(const Tensor& x, const std::vector<float>& t) const;  // (B,1,28,28), B timesteps
    // labels as UNet::forward takes them (-1: none); only a class-conditional U-Net takes any
    Tensor forward(const Tensor& x, const std::vector<float>& t, const std::vector<int>& labels) const;
    int classes() const { return arch == ImageArch::UNet ? unet.config.classes : 0; }
    Params params() const;
};

}  // namespace ddpm
