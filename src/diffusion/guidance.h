// guidance.h: lesson 11's classifier-free guidance (Ho and Salimans 2022): its training, where each
// image's label is replaced by "no label" now and then so that one network learns both the
// conditional and the unconditional prediction (their Algorithm 1), and its sampling, which mixes the
// two (their eq. 6, Algorithm 2). The network is nets/unet.h's U-Net with a class-label table.
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "diffusion/sampler.h"
#include "nets/image_model.h"

namespace ddpm {

// Training: labels[b] <- -1 ("no label") where a uniform draw of drop_rng is below p_uncond, one
// draw per label, in order (Algorithm 1, line 3).
void drop_labels(std::vector<int>& labels, float p_uncond, Rng& drop_rng);

// Classifier-free guidance (Ho and Salimans 2022, eq. 6): from the conditional prediction
// eps(x_t, c) and the unconditional one eps(x_t) (the "no label" row), n values each,
//   eps~ = (1 + w) eps(x_t, c) - w eps(x_t).
// w = 0 is the conditional model alone; larger w pushes samples towards what the label makes likely.
void guided_eps(float* out, const float* eps_cond, const float* eps_uncond, int64_t n, float w);

// A conditional U-Net as an EpsFunction with guidance scale w: row i is asked for labels[i] (0 ..
// classes - 1, or -1 for the unconditional model alone); the sampler must pass all labels.size()
// rows at once, as ddpm_sample and ddim_sample do. w = 0 or a label of -1 costs one forward, else two.
EpsFunction guided_eps_function(const ImageModel& model, std::vector<int> labels, float w);

}  // namespace ddpm
