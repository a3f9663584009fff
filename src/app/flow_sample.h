// flow_sample.h: `ddpm sample` on a flow model (ddpm train --objective flow; diffusion/flow.h, lesson 13):
// Euler or Heun on d x / d s = v(x, s) from s = 1 to s = 0, rows written back in data units.
#pragma once

#include "app/cli.h"
#include "app/model_file.h"

namespace ddpm {

// The rest of run_sample once the model file is known to hold a flow model (sample_cmd.cpp); every
// sampler or flag that does not apply to one is a one-line error naming the model file.
int run_sample_flow(const SampleArgs& a, const ModelFile& mf);

}  // namespace ddpm
