// image_cmd.h: the ddpm tool on images (docs/images.md). train, sample and eval hand over to these
// when their files hold images: an IDX3 ubyte file or a folder of PNG files of 28 x 28 pixels, the
// size [003]'s CNN and the U-Net of src/nets/ take.
//
// The model file of an image model is diffusion/image_train.h's image_trainer_checkpoint (the whole
// training state: weights, EMA, Adam, counters, schedule; entry model.kind = image) plus
// tool.steps_total, read with the same checks as the CSV tool's (checksum, every entry, every value
// finite). --resume continues it with the same bits as one run; SIGINT and SIGTERM save the last step.
#pragma once

#include <string>

#include "app/cli.h"
#include "app/platform.h"
#include "store/image_checkpoint.h"

namespace ddpm {

// True when --data names image data: a folder, or a file whose first bytes are those of IDX (the
// bytes are not read twice: the CSV path asks looks_like_idx of what it has read).
bool is_folder(const std::string& path);

// True when `bytes` are a checkpoint of an image model (entry model.kind = image); damaged bytes
// are not, and are left to the reader of the CSV tool to report.
bool is_image_model(const std::string& bytes, const std::string& path);

// ddpm train on images: run_train hands over, once its signals, lock and output checks are in force,
// when --arch is given, --data is a folder, or --data is an IDX file (data_bytes, already read; null
// when not read yet).
int run_train_images(const TrainArgs& args, StopSignals& stop, const std::string* data_bytes, const FileId& data_id);

// ddpm sample of an image model (its bytes, read once by run_sample, whose signals, lock and output
// checks are in force).
int run_sample_images(const SampleArgs& args, const std::string& model_bytes, const FileId& model_id);

// ddpm eval of images; the bytes of a file already read, or "" for a folder.
int run_eval_images(const EvalArgs& args, const std::string& samples_bytes, const std::string& data_bytes);

// An output named *.png or *.idx (any case): what an image model writes and a CSV model refuses.
bool is_image_output(const std::string& path);

}  // namespace ddpm
