// trainer_checkpoint.h: the state every trainer shares (diffusion/trainer_state.h) as checkpoint
// entries (store/checkpoint.h) and back, one dialect for the toy trainer and the image trainer; the
// schedule's entries; and the toy Trainer (diffusion/train.h) whole. The readers check every entry
// against the settings table (store/settings.h) before they build anything, so that a damaged or
// crafted file gives one line, not an allocation of terabytes.
#pragma once

#include <string>

#include "diffusion/schedule.h"
#include "diffusion/train.h"
#include "diffusion/trainer_state.h"
#include "store/checkpoint.h"

namespace ddpm {

// Everything needed to sample from and to resume a Trainer: architecture, schedule, weights,
// EMA weights, Adam's moments and step, the RNG counters. Extra metadata (data normalisation, ...)
// can be added by the caller.
Checkpoint trainer_checkpoint(const Trainer& trainer);
// The entries every trainer's checkpoint shares, in this order: train.batch, train.lr,
// train.ema_decay, train.clip, train.seed, train.step, adam.t, ema.updates, the three random streams'
// counters, then the weights, "ema." + each name and, once Adam has stepped, "adam.m." and "adam.v.".
void add_trainer_entries(Checkpoint& c, int batch, float lr, float ema_decay, double clip, uint64_t seed,
                         const TrainerState& state);
// Those entries back into a trainer built from the file's configuration (its params, Adam, EMA and
// streams already in place): the weights, the EMA, Adam's moments and counters, the streams'
// counters, each name and shape checked.
void read_trainer_state(const Checkpoint& c, const std::string& source, TrainerState& state);
// The schedule as checkpoint entries (schedule.name, schedule.T, its betas as exact text), and back.
void add_schedule_entries(Checkpoint& c, const Schedule& s);
Schedule schedule_from_entries(const Checkpoint& c, const std::string& source);
// Rebuilds a Trainer from such a checkpoint (source names the file in errors).
Trainer trainer_from_checkpoint(const Checkpoint& ckpt, const std::string& source);

}  // namespace ddpm
