// toy_checkpoint.h: a toy Trainer (diffusion/train.h) as a checkpoint (store/checkpoint.h) and back.
// The reader checks every entry against the settings table (store/settings.h) before it builds
// anything, so that a damaged or crafted file gives one line, not an allocation of terabytes.
#pragma once

#include <string>

#include "diffusion/schedule.h"
#include "diffusion/train.h"
#include "store/checkpoint.h"

namespace ddpm {

// Everything needed to sample from and to resume a Trainer: architecture, schedule, weights,
// EMA weights, Adam's moments and step, the RNG counters. Extra metadata (data normalisation, ...)
// can be added by the caller.
Checkpoint trainer_checkpoint(const Trainer& trainer);
// The entries every trainer's checkpoint shares, in this order: train.batch, train.lr,
// train.ema_decay, train.clip, train.seed, train.step, adam.t, ema.updates, the three random streams'
// counters, then the weights, "ema." + each name and, once Adam has stepped, "adam.m." and "adam.v.".
void add_trainer_entries(Checkpoint& c, int batch, float lr, float ema_decay, double clip, uint64_t seed, int64_t step,
                         const Params& params, const Adam& adam, const EMA& ema, const Rng& index_rng, const Rng& t_rng,
                         const Rng& eps_rng);
// The schedule as checkpoint entries (schedule.name, schedule.T, its betas as exact text), and back.
void add_schedule_entries(Checkpoint& c, const Schedule& s);
Schedule schedule_from_entries(const Checkpoint& c, const std::string& source);
// Rebuilds a Trainer from such a checkpoint (source names the file in errors).
Trainer trainer_from_checkpoint(const Checkpoint& ckpt, const std::string& source);

}  // namespace ddpm
