// long_run.h: the loop of a training that takes hours, shared by the programs that train the
// shipped image models (src/shipped/train_unet.cpp, train_cold.cpp).
//
// The run is cut into epochs of a fixed number of steps. It saves its whole state (the trainer's
// checkpoint, store/image_checkpoint.h, with the log so far and the seconds of training so far) every
// `every` steps and at each epoch's end; started again, it goes on from the state file with the same
// bits as one run that never stopped, on any thread count. At each epoch's end the program scores
// the EMA model, and the loop appends one line to the log, writes the model file (the EMA weights) and
// the log, each atomically.
//
// A log line: "epoch step train_loss val_loss", then the program's own fields, then "seconds
// images_per_s", then the program's tail fields (if any). train_loss is the mean over the epoch's
// steps when this run did all of them, else "-".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "diffusion/image_train.h"
#include "store/checkpoint.h"

namespace ddpm {

struct EpochScore {
    double val_loss = 0.0;   // the EMA model's validation loss
    std::string fields;      // the program's fields after val_loss, formatted, without spaces at the ends
    std::string tail;        // fields after images_per_s, formatted (may be empty)
};

struct LongRun {
    std::string state, model, log;  // the state file, the model file, the log file
    int64_t steps_per_epoch = 0;
    int epochs = 0;
    int every = 0;                  // save the state every this many steps, between epochs' ends
    int progress_every = 50;        // a progress line on stderr every this many steps
    // At an epoch's end: the EMA model's scores. epoch counts from 1.
    std::function<EpochScore(const ImageModel& ema, const ImageTrainer& tr, int epoch)> score;
    // The model file of an epoch's end: the EMA model with the trainer's process (schedule or blur).
    std::function<Checkpoint(const ImageModel& ema, const ImageTrainer& tr)> model_file;
};

// The trainer of a long run: read from run.state when that file exists (`check` refuses a state of
// another run, with one line), else `fresh()`. `log` and `seconds` receive the log and the seconds of
// training so far (empty and 0 for a fresh trainer).
ImageTrainer resume_or_start(const LongRun& run, const std::function<ImageTrainer()>& fresh,
                             const std::function<void(const ImageTrainer&)>& check, std::string& log, double& seconds);

// Trains tr on data.image(rows[k]) until the last epoch's end, as the header says. log holds the log
// so far (its header lines when the run starts at step 0).
void run_epochs(const LongRun& run, ImageTrainer& tr, const ImageSet& data, const std::vector<int>& rows, std::string& log,
                double seconds);

}  // namespace ddpm
