#include "lessonkit/mnist.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/common.h"
#include "core/idx.h"

namespace ddpm {

ImageSet load_mnist(const std::string& split, int max_n) {
    if (split != "train" && split != "test") fail("load_mnist: split is 'train' or 'test', got '" + split + "'");
    const std::string prefix = split == "train" ? "data/mnist/train" : "data/mnist/t10k";
    const std::string images = prefix + "-images-idx3-ubyte", labels = prefix + "-labels-idx1-ubyte";
    if (!std::filesystem::exists(images) || !std::filesystem::exists(labels)) {
        std::fprintf(stderr, "  %s missing: fetching MNIST (make data)\n", images.c_str());
        if (std::system("sh src/tools/get_mnist.sh data/mnist") != 0)
            fail(images + ": not found, and make data could not fetch it (see the line above)");
    }
    const IdxArray x = load_idx(images), y = load_idx(labels);
    return images_from_idx(x, &y, images, max_n);
}

}  // namespace ddpm
