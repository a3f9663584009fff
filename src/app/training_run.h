// training_run.h: what `ddpm train` does the same way on CSV rows (train_cmd.cpp) and on images
// (image_cmd.cpp): the schedule check, the refusal of a flag that contradicts the model being resumed,
// the saving of finite states only, the seeded permutation of eval's split, and the loop that trains,
// saves every --checkpoint-every steps, reports progress and stops cleanly on SIGINT and SIGTERM.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/platform.h"
#include "store/checkpoint.h"
#include "core/common.h"
#include "diffusion/schedule.h"

namespace ddpm {

// The schedule the flags ask for, if the samplers can run it: alpha_bar_T must not fall below
// kMinAlphaBar (a constant beta of 0.5 over 1000 steps, or the linear schedule over 10^6, would train
// and then give samples that are not finite).
Schedule checked_schedule(const TrainArgs& args);

// --resume with a flag given that differs from what the model file holds: one line naming both.
template <typename V>
void must_agree(const TrainArgs& a, const char* flag, const V& requested, const V& stored, const std::string& shown_r,
                const std::string& shown_s) {
    if (a.given.count(flag) && !(requested == stored))
        fail("--resume: " + std::string(flag) + " " + shown_r + " differs from " + a.model + ", which has " + shown_s +
             " (drop the flag, or train a new model)");
}

// A permutation of 0..n-1 (Fisher-Yates), a pure function of (seed, stream).
std::vector<int> shuffled(int n, uint64_t seed, uint64_t stream);

// Only a state whose every value is finite is saved (weights, EMA, Adam's moments): a checkpoint on
// disk is always one that training can continue from. The step of the last one saved is kept for the
// message of a divergence.
class Saver {
 public:
    Saver(const std::string& path, int64_t saved_step) : path_(path), saved_step_(saved_step) {}
    void save(const Checkpoint& c, int64_t step);
    [[noreturn]] void diverged(int64_t step, const std::string& what) const;

 private:
    std::string path_;
    int64_t saved_step_;  // -1: none yet
};

// One run of training steps from the trainer's step to `total`.
struct TrainingLoop {
    std::function<int64_t()> step_count;  // the trainer's step now
    // one training step; its loss, and in `diverged` what was not finite (left empty when all was)
    std::function<double(std::string& diverged)> step;
    std::function<Checkpoint()> checkpoint;  // the whole state, as the model file holds it
    int64_t total = 0;
    int64_t checkpoint_every = 1;
    int rate_decimals = 0;  // of the steps/s shown
};

struct TrainingEnd {
    int signal = 0;  // 0: every step ran and the model was saved; else the signal that stopped it
    double last_loss = 0.0, smoothed_loss = 0.0, seconds = 0.0;
};

// Runs the loop: from the first step on, SIGINT and SIGTERM save the last completed step (or nothing,
// before the first) and end it; a non-finite step ends the run with one line naming the checkpoint
// kept; a progress line every two seconds; the model saved at the end. `resumed`: the file at `model`
// already holds the first step's state.
TrainingEnd run_training_loop(const TrainingLoop& loop, StopSignals& stop, const std::string& model, bool resumed);

}  // namespace ddpm
