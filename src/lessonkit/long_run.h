// long_run.h: the one loop of the image trainings that take hours, shared by the lessons' --full runs
// (08, 10) and the programs that train the shipped models (src/shipped/train_unet.cpp, train_cold.cpp).
//
// A run is cut into blocks of a fixed number of steps (an epoch, for the shipped models). At each
// block's end the program scores the EMA model and returns one line for the run's log. When the run
// has a state file, its whole state is saved there at each block's end and every `every` steps
// between: the trainer's checkpoint (store/image_checkpoint.h) with the log so far, the seconds of
// training so far, the sum of the losses of the block under way and the block's length, the sums as
// exact decimal text. Started again, the run goes on from the state file with the same bits, on any
// thread count, and its log lines are those of a run that never stopped (wall times aside).
//
// The shipped programs' log line: "epoch step train_loss val_loss", then the program's own fields,
// then "seconds images_per_s", then the program's tail fields (if any); see run_epochs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "diffusion/image_train.h"
#include "store/checkpoint.h"

namespace ddpm {

// What the program is told at a block's end.
struct BlockEnd {
    int64_t step = 0;          // the trainer's step at the block's end
    int block = 0;             // the block's number, counted from 1
    double train_loss = 0.0;   // the mean training loss over the block's steps
    bool whole = true;         // false when part of the block was trained from a state file that did not
                               // keep its losses (written before the sums were kept); train_loss then
                               // covers only the steps of this run
    double seconds = 0.0;      // seconds of training so far, over every run that resumed
    double images_per_s = 0.0; // this run's rate
};

struct LongRun {
    std::string state;         // the state file; empty: nothing is read or written (a quick run)
    int64_t steps = 0;         // the step the run ends at
    int64_t block = 0;         // steps per block; the last block ends at `steps`
    int every = 0;             // also save the state every this many steps; 0: at blocks' ends only
    int progress_every = 0;    // a progress line on stderr every this many steps; 0: none
    // At a block's end, before the state is saved: the block's log line, without its line break. It
    // may write the program's own files (a figure, the model).
    std::function<std::string(const ImageTrainer& tr, const BlockEnd& end)> at_block;
};

// The log of a run, as the state file keeps it.
struct RunLog {
    std::string text;          // the lines so far (a program may start it with header lines)
    double seconds = 0.0;      // seconds of training so far
    double block_loss = 0.0;   // the sum of the losses of the block under way
    bool block_whole = true;   // whether block_loss covers every step of that block so far
};

// When run.state names a file that exists: replaces tr and log by what it holds and returns true.
// `tr` is the trainer the run would start from; a state of another run (another architecture,
// process, seed, batch, learning rate or block length) is refused with one line naming the file, as
// is whatever `check` refuses first. Returns false (tr and log untouched) when there is no state.
bool resume(const LongRun& run, ImageTrainer& tr, RunLog& log,
            const std::function<void(const ImageTrainer& stored)>& check = {});

// Trains tr on data.image(rows[k]) from its step to run.steps, as the header says.
void run_blocks(const LongRun& run, ImageTrainer& tr, const ImageSet& data, const std::vector<int>& rows, RunLog& log);

// The lines of a log that are not comments (do not start with '#'), each split at spaces.
std::vector<std::vector<std::string>> log_rows(const std::string& text);

// ---- the shipped models' epochs ------------------------------------------------------------------

struct EpochScore {
    double val_loss = 0.0;   // the EMA model's validation loss
    std::string fields;      // the program's fields after val_loss, formatted, without spaces at the ends
    std::string tail;        // fields after images_per_s, formatted (may be empty)
};

struct EpochFiles {
    std::string model, log;  // written (atomically) at each epoch's end, before the state
    // The EMA model's scores at an epoch's end; epoch counts from 1.
    std::function<EpochScore(const ImageModel& ema, const ImageTrainer& tr, int epoch)> score;
    // The model file of an epoch's end: the EMA model with the trainer's process (schedule or blur).
    std::function<Checkpoint(const ImageModel& ema, const ImageTrainer& tr)> model_file;
};

// run_blocks with one block an epoch: at each epoch's end, the log line above (train_loss "-" when
// the epoch is not whole), the model file and the log file. run.at_block is set here.
void run_epochs(LongRun run, const EpochFiles& files, ImageTrainer& tr, const ImageSet& data,
                const std::vector<int>& rows, RunLog& log);

}  // namespace ddpm
