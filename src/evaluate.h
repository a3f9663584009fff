// evaluate.h: the score the lessons print for generated samples of a toy data set.
//
// Generated samples are compared with a held-out sample of the data (n points, seed + 1000), and the
// floor is the same distance for `draws` further true samples of the same size (seeds + 2000 + k),
// averaged (metrics.h explains why one draw is not enough). The ratio swd / swd_floor is the score:
// 1 means as good as fresh data, up to the floor's own spread (floor_sd).
#pragma once

#include <string>

#include "metrics.h"
#include "train.h"

namespace ddpm {

struct SetScore {
    int n = 0;
    double swd = 0.0, energy = 0.0;
    DistanceFloor floor;
    double swd_ratio() const { return swd / floor.swd_mean; }
};

SetScore score_against_set(const float* samples, int n, const std::string& set, uint64_t seed, int draws = 10);

// The model lesson 03 trained on `set` (out/03_train/<set>.ckpt). When that file is missing (a lesson
// run on its own), the same recipe is trained here for 3,000 steps, with a note on stderr.
// Lessons 04, 05 and 07 start from it.
Trainer lesson03_model(const std::string& set, uint64_t seed);

}  // namespace ddpm
