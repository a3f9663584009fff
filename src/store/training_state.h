// training_state.h: a lesson's long image training run, saved and resumed with the same bits.
//
// A --full run of lesson 08 trains for hours; it saves its state now and then and, when rerun, goes
// on from the last state instead of starting again. The state is the trainer's whole checkpoint
// (image_train.h: weights, EMA, Adam, counters, schedule) with the lesson's log: the mean training
// loss and the validation loss of every finished report block, and the sum of the losses of the
// block under way, all as exact decimal text (%.17g), so that a resumed run prints and plots the
// numbers of one that never stopped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/image_train.h"

namespace ddpm {

struct TrainingLog {
    std::vector<double> train_loss, val_loss;  // one of each per finished block
    double block_loss = 0.0;                   // the sum of the losses of the block under way
};

// Writes the state atomically; `steps` is the length of the whole run.
void save_training_state(const std::string& path, const ImageTrainer& tr, const TrainingLog& log, int64_t steps);

// When `path` exists: reads it into tr and log and returns true. The file must be a state of the
// same run as `tr` was built for (architecture, schedule, seed, batch, learning rate, and `steps`);
// another is refused with one line that says to delete it. Returns false when there is no file.
bool load_training_state(const std::string& path, ImageTrainer& tr, TrainingLog& log, int64_t steps);

}  // namespace ddpm
