// model_file.h: the checkpoint of the ddpm tool = the trainer's checkpoint (train.h: architecture,
// schedule, weights, EMA weights, Adam state, step, RNG counters) + the data normalisation
// (normalise.h: data.columns, data.mean, data.std, data.header) + tool.steps_total, the number of
// steps that `ddpm train` was asked for (what --resume continues to by default).
#pragma once

#include <cstdint>
#include <string>

#include "app/normalise.h"
#include "diffusion/train.h"

namespace ddpm {

struct ModelFile {
    Normalisation norm;
    Trainer trainer;
    int64_t steps_total = 0;
    // "eps" or "flow" (ddpm train --objective): the entry model.objective, written for flow models only;
    // a file without it (every file before lesson 13) is an eps model. A flow model's trainer carries
    // the schedule of its flags, unused but for T, the grid s = t / T of its network.
    std::string objective = "eps";
};

Checkpoint model_file_checkpoint(const ModelFile& mf);
void save_model_file(const std::string& path, const ModelFile& mf);   // atomic
// Every error is one line naming `path`: missing file, damaged bytes, entries missing or inconsistent.
ModelFile load_model_file(const std::string& path);
// The same from the bytes of such a file (`path` names it in errors); used by load_model_file and by
// the fuzzer (tests/fuzz/fuzz_checkpoint.cpp).
ModelFile parse_model_file(const std::string& bytes, const std::string& path);

}  // namespace ddpm
