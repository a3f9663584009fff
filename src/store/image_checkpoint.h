// image_checkpoint.h: what the image half writes to checkpoints (store/checkpoint.h) and reads back,
// each reader checking every entry and shape before it builds anything: the image trainer's whole
// state, a model to sample from (with its schedule or its blur process), and lesson 08's classifier.
#pragma once

#include <string>

#include "diffusion/classifier.h"
#include "diffusion/cold.h"
#include "diffusion/image_train.h"
#include "diffusion/schedule.h"
#include "store/checkpoint.h"

namespace ddpm {

// The whole training state (weights, EMA, Adam's moments, counters, schedule, settings): a trainer
// rebuilt from it continues with the same bits as one that never stopped.
Checkpoint image_trainer_checkpoint(const ImageTrainer& tr);
ImageTrainer image_trainer_from_checkpoint(const Checkpoint& c, const std::string& source);

// A model to sample from: the architecture, the schedule and one set of weights (the EMA's, as
// shipped in data/models/), without the optimiser. The reader checks every entry and shape.
Checkpoint image_model_checkpoint(const ImageModel& model, const Schedule& s);
ImageModel image_model_from_checkpoint(const Checkpoint& c, const std::string& source, Schedule& schedule);
// The same for a cold-diffusion model: the blur process in place of the schedule.
Checkpoint cold_model_checkpoint(const ImageModel& model, const BlurProcess& p);
ImageModel cold_model_from_checkpoint(const Checkpoint& c, const std::string& source, BlurProcess& p);

Checkpoint classifier_checkpoint(const MnistClassifier& model, const ClassifierConfig& config, double test_accuracy);
// source names the file in errors; the architecture and every tensor's shape are checked.
MnistClassifier classifier_from_checkpoint(const Checkpoint& ckpt, const std::string& source);

}  // namespace ddpm
