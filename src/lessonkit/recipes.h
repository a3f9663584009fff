// recipes.h: the training recipe of each shipped image model, in one place: the programs of
// src/shipped/ that train the files of data/models/ and the lessons that train the same networks for
// a few steps (09, 10) both take them from here, so that a lesson's quick run is the shipped model's
// recipe, only shorter.
#pragma once

#include <cstdint>

#include "diffusion/image_train.h"

namespace ddpm {

// Lesson 09's U-Net (data/models/mnist_unet.ckpt): residual blocks, widths 32-64-64, Adam 1e-3,
// batch 64, EMA 0.999, clipping at 1. conditional: lesson 11's class-conditional U-Net
// (mnist_unet_cond.ckpt), ten classes and a no-label row, labels dropped at the rate 0.1.
ImageTrainConfig unet_recipe(uint64_t seed, bool conditional = false);

// Lesson 10's two cold-diffusion models (mnist_cold_blur.ckpt, mnist_cold_noise.ckpt): [003]'s ConvNeXt
// U-Net, 32 channels doubling twice, Adam 2e-4, batch 128, with the EMA and the clipping of every
// trainer here. blur: the blur process of T = 100 (beta 1, 11 taps), else the noise schedule's model.
ImageTrainConfig cold_recipe(uint64_t seed, bool blur);

}  // namespace ddpm
