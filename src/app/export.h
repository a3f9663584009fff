// export.h: `ddpm export` and `ddpm import`: a checkpoint's weights as a safetensors file
// (store/safetensors.h), for PyTorch and the tools around it, and such a file back into a checkpoint.
//
//   ddpm export --model M.ckpt --out M.safetensors [--raw]
//   ddpm import --model M.safetensors --out M.ckpt
//
// What an export holds (docs/checkpoint-format.md, "safetensors export", says the same):
//   - one set of weights, under the names of our Params ("mlp.0.weight", "block0.conv1.bias", ...):
//     the EMA weights ("ema.<name>" in a trainer's checkpoint) by default, the last iterate with
//     --raw; a checkpoint that holds a single set (an image model file) exports that one. Adam's
//     moments are left out.
//   - every Linear weight (a rank-2 tensor named "*.weight") transposed to PyTorch's (out, in):
//     ours are stored (in, out) (core/nn.h, y = x W + b), torch.nn.Linear's are (out, in)
//     (y = x W^T + b). Convolutions (out, in, K, K) and norms are stored as torch stores them.
//   - in "__metadata__": every metadata entry of the checkpoint as it is (model.*, schedule.* with
//     the betas as exact text, train.*, data.* for the normalisation, ...), and
//       format                     "pt" (what Hugging Face's loaders expect)
//       ddpm.weights               "ema", "raw" or "single"
//       ddpm.linear_weight_layout  "out_in" (the transpose above)
//       ddpm.had_ema               "1" when the checkpoint had EMA weights beside its own
// Import undoes each of these: the weights go back as the checkpoint's weights (and as its EMA
// weights too, when it had them), the transposes are undone, the ddpm.* and format entries are
// dropped and adam.t is set to 0 (the moments were not exported: a resumed run starts them afresh).
// The result is checked the way `ddpm sample` (or the image reader) will read it.
#pragma once

#include <string>
#include <vector>

#include "store/checkpoint.h"

namespace ddpm {

struct ExportArgs {
    std::string model;  // checkpoint to read
    std::string out;    // safetensors file to write
    bool use_ema = true;
};

struct ImportArgs {
    std::string model;  // safetensors file to read
    std::string out;    // checkpoint to write
};

bool parse_export_args(const std::vector<std::string>& args, ExportArgs& o);  // false: --help was printed
bool parse_import_args(const std::vector<std::string>& args, ImportArgs& o);
const char* export_help();
const char* import_help();

int run_export(const ExportArgs& args);
int run_import(const ImportArgs& args);

// The generic parts, for any checkpoint of tensors and metadata (the tool's toy models, the image
// trainers' and models' checkpoints of diffusion/image_train.h): what is written to the safetensors
// file, and the checkpoint made from what was read. `source` names the file in errors.
Checkpoint export_weights(const Checkpoint& ckpt, bool use_ema, const std::string& source);
Checkpoint import_weights(const Checkpoint& exported, const std::string& source);
// Reads the imported checkpoint as its kind's reader will (the tool's model file, a toy trainer, an
// image trainer or image model) and fails with that reader's one-line error if it would.
void check_imported(const Checkpoint& ckpt, const std::string& source);

}  // namespace ddpm
