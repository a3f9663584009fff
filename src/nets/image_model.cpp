#include "nets/image_model.h"

#include "core/common.h"

namespace ddpm {

const char* arch_name(ImageArch arch) { return arch == ImageArch::CNN ? "cnn" : "unet"; }

ImageModel::ImageModel(ImageArch a, Rng& rng, const UNetConfig& unet_config) : arch(a) {
    if (arch == ImageArch::CNN) cnn = ImageCNN(rng);
    else unet = UNet(unet_config, rng);
}

Tensor ImageModel::forward(const Tensor& x, const std::vector<float>& t) const {
    return arch == ImageArch::CNN ? cnn.forward(x, t) : unet.forward(x, t);
}

Tensor ImageModel::forward(const Tensor& x, const std::vector<float>& t, const std::vector<int>& labels) const {
    if (arch == ImageArch::CNN) {
        if (!labels.empty()) fail("ImageModel: the CNN takes no labels");
        return cnn.forward(x, t);
    }
    return unet.forward(x, t, labels);
}

Params ImageModel::params() const { return arch == ImageArch::CNN ? cnn.params() : unet.params(); }

}  // namespace ddpm
