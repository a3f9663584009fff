// settings.h: one table of the settings of a training run and of the ddpm tool: each one's flag, its
// checkpoint entry, its bounds and its default. The tool's flags (src/app/cli.cpp), the checkpoint's
// metadata (trainer_from_checkpoint, src/app/model_file.cpp), the trainer's configuration and the
// schedules' T all check against these entries, so that whatever `ddpm train` accepts, `ddpm sample`
// and `--resume` load, and a file can hold nothing that a flag could not have asked for.
//
// The limits on what the tool reads (file sizes, columns, rows) and on the memory a run may ask for
// are here too; docs/reliability.md lists them.
#pragma once

#include <cfloat>
#include <cstdint>
#include <string>

#include "diffusion/schedule.h"
#include "diffusion/train.h"

namespace ddpm {

struct Checkpoint;

// A whole-number setting in [lo, hi]. flag or key is null when the setting has none.
struct IntSetting {
    const char* flag;   // "--batch"
    const char* key;    // "train.batch"
    int64_t lo, hi;
    int64_t fallback;   // the default
};

// A real setting, stored as a float: the bounds hold for the value after rounding to float, as the
// run uses it. lo_open / hi_open: the bound itself is excluded.
struct RealSetting {
    const char* flag;
    const char* key;
    double lo, hi;
    bool lo_open, hi_open;
    double fallback;
};

namespace setting {

// ---- the network (model.*) ------------------------------------------------------------------------
inline constexpr IntSetting columns{nullptr, "model.dim", 1, 4096, 2};  // also data.columns
inline constexpr IntSetting emb_dim{nullptr, "model.emb_dim", 2, 4096, 32};
// the tool's default width: docs/defaults.md (the lessons' EpsModelConfig keeps 128)
inline constexpr IntSetting hidden{"--hidden", "model.hidden", 1, 65536, 64};
inline constexpr IntSetting layers{"--layers", "model.layers", 1, 64, 3};

// ---- the schedule and the trainer (schedule.*, train.*) ----------------------------------------------
inline constexpr IntSetting T{"--T", "schedule.T", 1, kMaxT, 1000};  // diffusion/schedule.h
// The beta of a constant schedule: below 1e-12, 1 - beta leaves too little of beta for the sampler.
inline constexpr RealSetting beta{"--beta", nullptr, 1e-12, 1.0, false, true, 0.01};
inline constexpr IntSetting batch{"--batch", "train.batch", 1, kMaxBatch, 256};  // diffusion/train.h
inline constexpr RealSetting lr{"--lr", "train.lr", 0.0, FLT_MAX, true, false, 1e-3};
// --lr-decay cosine: the steps of the decay (train.h, TrainConfig::lr_decay_steps), the run's --steps
inline constexpr IntSetting lr_decay_steps{nullptr, "train.lr_decay_steps", 0, INT64_MAX, 0};
inline constexpr RealSetting ema{"--ema", "train.ema_decay", 0.0, 1.0, false, true, 0.999};
inline constexpr IntSetting seed{"--seed", "train.seed", 0, INT64_MAX, 0};
inline constexpr IntSetting steps{"--steps", "tool.steps_total", 1, INT64_MAX, 20000};
inline constexpr IntSetting checkpoint_every{"--checkpoint-every", nullptr, 1, INT64_MAX, 1000};
inline constexpr IntSetting threads{"--threads", nullptr, 1, 256, 0};  // 0: DDPM_THREADS or every core

// ---- sampling ---------------------------------------------------------------------------------------
inline constexpr IntSetting sample_rows{"--n", nullptr, 1, 100000000, 8000};
inline constexpr IntSetting sample_steps{"--steps", nullptr, 1, 1000000, 0};  // 0: all T
inline constexpr RealSetting eta{"--eta", nullptr, 0.0, 1.0, false, false, 0.0};
// where the ODE solvers start: the largest t with sigma_t <= this (EDM's sigma_max; diffusion/ode.h)
inline constexpr RealSetting sigma_max{"--sigma-max", nullptr, 0.0, 1e12, true, false, 80.0};
// a class-conditional image model (lesson 11): the class asked for, and classifier-free guidance's w
inline constexpr IntSetting sample_class{"--class", nullptr, 0, 999, 0};
inline constexpr RealSetting guidance{"--guidance", nullptr, 0.0, 100.0, false, false, 0.0};

}  // namespace setting

// ---- what the tool reads, and the memory a run may ask for -----------------------------------------
inline constexpr int64_t kMaxInputBytes = int64_t(1) << 30;   // a CSV file or a checkpoint: 1 GiB
inline constexpr int64_t kMaxCsvValues = int64_t(1) << 27;     // rows x columns of one CSV file (512 MB)
inline constexpr int64_t kMaxHeaderName = 1024;                // bytes of one name of a header line
inline constexpr int64_t kMaxEvalRows = 1000000;               // rows of each file `ddpm eval` reads
inline constexpr int64_t kEnergyRows = 20000;                  // rows of each part in eval's energy distance
// The least alpha_bar_T a new schedule may reach: 1 / FLT_MAX^2, so that 1 / sqrt(alpha_bar_T), by
// which the samplers scale a prediction of x_0, is a float. (Linear with T = 10^6 reaches 0; the
// cosine schedule about 4e-33.)
inline constexpr double kMinAlphaBar = 1.0 / (double(FLT_MAX) * double(FLT_MAX));
// The most by which `ddpm sample --sampler ddim` lets its first step scale the error of the noise
// prediction, sqrt(alpha_bar_t' / alpha_bar_T) (src/app/sample_cmd.cpp): 10. The linear and sigmoid
// schedules at T = 1000 pass with 5 steps or more (one or two steps: 40-160); the cosine one never does
// (31.6 at 1,000 steps and more with fewer).
inline constexpr double kMaxDdimGain = 10.0;
inline constexpr int64_t kMemoryLimit = 4000000000;         // what a run may need: 4 GB

// "--batch must be from 1 to 1048576, got 0"; the flag's text is quoted as given.
int64_t parse_setting(const IntSetting& s, const std::string& text);
double parse_setting(const RealSetting& s, const std::string& text);

// The entry s.key of a checkpoint, within the same bounds; every error is one line naming `source`.
int64_t checkpoint_setting(const Checkpoint& c, const IntSetting& s, const std::string& source);
double checkpoint_setting(const Checkpoint& c, const RealSetting& s, const std::string& source);

// The bounds as a message shows them: "from 1 to 64", "at least 1", "in [0, 1)".
std::string bounds_text(const IntSetting& s);
std::string bounds_text(const RealSetting& s);

// The weights and biases of the eps-model (nets/eps_mlp.h) of this shape: the plain MLP
// (dim + emb) -> hidden x layers -> dim, or the residual one (in, `layers` blocks of two hidden x hidden
// layers, out). Computed without building it, so that a file can be checked before anything is allocated.
int64_t eps_model_values(int64_t dim, int64_t emb, int64_t hidden, int64_t layers, bool residual);

// "2.5 GB", "310 MB", "12 kB": a size for a message.
std::string bytes_text(double bytes);

}  // namespace ddpm
