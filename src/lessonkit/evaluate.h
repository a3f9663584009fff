// evaluate.h: what the toy lessons share: the seeds of their held-out data, lesson 03's recipe and
// model, and the score they print for generated samples.
//
// Generated samples are compared with a held-out sample of the data (n points, seed + kHeldOut), and
// the floor is the same distance for `draws` further true samples of the same size (seeds + kFloor +
// k), averaged (metrics.h explains why one draw is not enough). The ratio swd / swd_floor is the
// score: 1 means as good as fresh data, up to the floor's own spread (floor_sd).
#pragma once

#include <cstdint>
#include <string>

#include "diffusion/data.h"
#include "diffusion/metrics.h"
#include "diffusion/train.h"
#include "lessonkit/lesson.h"
#include "plot/plot.h"

namespace ddpm {

// Seed offsets of the data every toy lesson draws: the training set is make_dataset(set, n, seed),
// held-out data make_dataset(set, n, seed + kHeldOut), the floor's true samples seed + kFloor + k.
// A lesson's own random streams (Rng(seed, stream)) stay below kHeldOut.
const uint64_t kHeldOut = 1000;
const uint64_t kFloor = 2000;

// Lesson 03's recipe, the one model that lessons 03, 04, 05 and 07 train or load: kToyRows training
// points of `data`'s set, the default EpsModelConfig and TrainConfig (seeded), the linear schedule
// with T = 1000; kToyQuickSteps steps in quick mode.
const int kToyRows = 20000;
const int kToyQuickSteps = 3000;
Trainer toy_trainer(const Dataset& data, uint64_t seed);

struct SetScore {
    int n = 0;
    double swd = 0.0, energy = 0.0;
    DistanceFloor floor;
    double swd_ratio() const { return swd / floor.swd_mean; }
};

// One panel of a 2-D toy sample: the first n rows of x (n, 2) as points, in the window
// [-3.5, 3.5]^2 that every toy set fits, equal aspect, axes labelled by coordinate.
void toy_scatter(plot::Axes& ax, const std::vector<float>& x, int n, const std::vector<plot::Color>& colours,
                 float radius, const std::string& title);
void toy_scatter(plot::Axes& ax, const std::vector<float>& x, int n, plot::Color colour, float radius,
                 const std::string& title);

SetScore score_against_set(const float* samples, int n, const std::string& set, uint64_t seed, int draws = 10);

// The model lesson 03 trained on `set`: <set>.ckpt in 03_train beside this lesson's output folder
// (out/03_train/ by default). When that file is missing (a lesson run on its own), the same recipe is
// trained here for kToyQuickSteps steps, with a note on stderr. Lessons 04, 05 and 07 start from it.
Trainer lesson03_model(const LessonArgs& args, const std::string& set);

}  // namespace ddpm
