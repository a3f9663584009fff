// flow_sample.h: `ddpm sample` on a flow model (ddpm train --objective flow; diffusion/flow.h, lesson 13):
// Euler or Heun on d x / d s = v(x, s) from s = 1 to s = 0, rows written back in data units.
#pragma once

#include "app/cli.h"
#include "app/model_file.h"

namespace ddpm {

// The rest of run_sample once the model file is known to hold a flow model (sample_cmd.cpp); every
// sampler or flag that does not apply to one is a one-line error naming the model file.
int run_sample_flow(const SampleArgs& a, const ModelFile& mf);

// What a flow model (rows or images) takes of `ddpm sample`'s flags: the sampler (euler, the
// default, or heun) and the steps (at most T; 0 asks for T), each other sampler and --sigma-max,
// --spacing, --variance refused in one line naming the model file. Returns the sampler's name.
std::string flow_sampler_and_steps(const SampleArgs& a, int T, int* steps);

// The summary table of a run on CSV rows: each column's mean and std in the data and in the samples.
void print_column_moments(const ModelFile& mf, const Dataset& out, int dim);

}  // namespace ddpm
