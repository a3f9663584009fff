// commands.h: the three subcommands of the ddpm tool, each taking its parsed arguments (cli.h).
// Each returns 0 on success and throws (fail) on any error, before replacing any output file.
#pragma once

#include "app/cli.h"

namespace ddpm {

// Algorithm 1 of Ho et al. 2020 on the standardised rows of args.data; the checkpoint at args.model
// holds the trainer (weights, EMA, Adam, RNG counters), the normalisation (normalise.h) and
// tool.steps_total. Saved every checkpoint_every steps and at the end.
int run_train(const TrainArgs& args);

// Algorithm 2 from x_T ~ N(0, I) (Rng(seed, kStartStream)), rows written back in data units.
int run_sample(const SampleArgs& args);

// Sliced Wasserstein-1 and energy distance of the samples against a reference part of the data,
// beside the same distances for a floor part of the data of the same size (help text of eval).
int run_eval(const EvalArgs& args);

// The random streams of the tool (those of training are in train.h, 10-13; sampling noise is 20).
enum ToolStream : uint64_t { kStartStream = 30, kSplitStream = 40, kSubsetStream = 41 };

}  // namespace ddpm
