// normalise.h: the per-column standardisation of the ddpm tool, and where it lives in a checkpoint.
//
// The network is trained on z = (x - mean) / std, column by column, so that data far from the origin
// or with columns of very different scales looks like the toy sets (centred, unit scale) to the
// forward process, whose noise has unit variance. Samples are mapped back with x = mean + std * z.
//
// A column with zero variance keeps std = 1 (it is centred, not scaled): dividing by 0 would give NaN.
//
// Checkpoint metadata (text, so that it survives any reader):
//   data.columns   "2"
//   data.mean      "%.17g %.17g"   (space-separated; %.17g reads back to the same double)
//   data.std       "%.17g %.17g"
//   data.header    "x,y"           (only when the training CSV had a header line)
#pragma once

#include <string>
#include <vector>

#include "store/checkpoint.h"
#include "diffusion/data.h"
#include "store/settings.h"

namespace ddpm {

// The most columns a data file of the tool may have (data.columns of a checkpoint, model.dim).
constexpr int kMaxColumns = int(setting::columns.hi);

struct Normalisation {
    std::vector<double> mean;         // (columns)
    std::vector<double> std;          // (columns), every entry > 0
    std::vector<std::string> header;  // (columns) or empty

    int columns() const { return int(mean.size()); }
};

// Mean and std of every column of d, and d.header; a constant column adds a line to `notes` (when
// given), which the caller prints once every check has passed. `source` names the file in the note.
Normalisation fit_normalisation(const Dataset& d, const std::string& source, std::vector<std::string>* notes = nullptr);

// x (n, columns) -> z (n, columns), and back. Arithmetic in double, one rounding to float.
std::vector<float> standardise(const Normalisation& nm, const std::vector<float>& x);
std::vector<float> unstandardise(const Normalisation& nm, const std::vector<float>& z);

void put_normalisation(Checkpoint& ckpt, const Normalisation& nm);
// `source` names the checkpoint file in every error.
Normalisation get_normalisation(const Checkpoint& ckpt, const std::string& source);

// "%.17g" of each value, separated by single spaces.
std::string join_doubles(const std::vector<double>& values);

}  // namespace ddpm
