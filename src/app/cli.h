// cli.h: the command line of the ddpm tool: train a diffusion model on a CSV file, sample from it,
// and score samples against held-out data.
//
//   ddpm train  --data FILE.csv --model OUT.ckpt [options]
//   ddpm sample --model IN.ckpt --out FILE.csv [options]
//   ddpm eval   --samples A.csv --data B.csv [--seed S]
//
// ddpm_main(argc, argv) is the whole program (src/app/ddpm_main.cpp only wraps it in run_main); the
// parse_* functions turn a subcommand's arguments into an *Args struct, and run_train, run_sample
// and run_eval (commands.h) do the work, so that tests can call every layer in-process.
// Every error is thrown through fail() as one line; run_main prints it as "ddpm: <problem>".
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "store/settings.h"

namespace ddpm {

// threads = 0 means "as the pool is" (DDPM_THREADS or every core); the parsers fill in the default.
struct TrainArgs {
    std::string data;               // training CSV
    std::string model;              // checkpoint to write (and to read with resume)
    int64_t steps = setting::steps.fallback;          // total optimiser steps, counted from the first
    int batch = int(setting::batch.fallback);
    double lr = setting::lr.fallback;
    int T = int(setting::T.fallback);
    std::string schedule = "linear";
    double beta = setting::beta.fallback;             // constant schedule only
    double ema = setting::ema.fallback;
    std::string lr_decay = "none";                   // none | cosine (over the run's --steps)
    std::string objective = "eps";  // eps | flow (lesson 13: the velocity eps - x_0 on the straight path); CSV rows and images
    int hidden = int(setting::hidden.fallback);
    int layers = int(setting::layers.fallback);
    bool residual = false;
    uint64_t seed = 0;
    int threads = 0;
    bool resume = false;
    int64_t checkpoint_every = setting::checkpoint_every.fallback;
    std::set<std::string> given;    // the flags that appeared on the command line ("--lr", ...)
    // images (image_cmd.h): --data is an IDX3 file or a folder of PNG files
    std::string arch;               // cnn | unet; empty: CSV rows (or the checkpoint's, with --resume)
    std::string block = "residual"; // unet only: residual | convnext
};

struct SampleArgs {
    std::string model;              // checkpoint of `ddpm train`
    std::string out;                // CSV to write
    int n = int(setting::sample_rows.fallback);
    std::string sampler = "ddpm";
    int steps = 0;                  // 0: all T steps
    uint64_t seed = 0;
    int threads = 0;
    std::string variance = "beta_tilde";
    bool use_ema = true;
    double eta = setting::eta.fallback;               // ddim only: 0 deterministic, 1 DDPM's noise
    std::string spacing = "uniform";  // ddim: uniform or quadratic; the ODE solvers: karras unless given
    double sigma_max = setting::sigma_max.fallback;  // the ODE solvers start at the largest t with sigma_t <= it
    bool sampler_given = false, spacing_given = false, variance_given = false;  // (a flow model refuses them)
    bool sigma_max_given = false;
    int label = -1;                 // --class K (a class-conditional image model); -1: none asked
    double guidance = setting::guidance.fallback;  // --guidance W: classifier-free guidance's scale
    bool guidance_given = false;
};

struct EvalArgs {
    std::string samples;            // generated samples (A)
    std::string data;               // held-out data (B)
    uint64_t seed = 0;
    int threads = 0;
    // images (image_cmd.h)
    std::string classifier = "data/models/mnist_classifier.ckpt";  // whose features the Frechet distance uses
    bool paired = false;            // sample i is a reconstruction of data image i: RMSE, PSNR, SSIM too
    std::set<std::string> given;
};

// Each parser reads the arguments after the subcommand's name. They return false when --help was
// asked for (the help text is then printed on stdout) and throw on any bad argument.
bool parse_train_args(const std::vector<std::string>& args, TrainArgs& o);
bool parse_sample_args(const std::vector<std::string>& args, SampleArgs& o);
bool parse_eval_args(const std::vector<std::string>& args, EvalArgs& o);

// The help texts, as printed by --help.
const char* main_help();
const char* train_help();
const char* sample_help();
const char* eval_help();

// The program: dispatches on argv[1]. Returns 0 on success; throws on errors (see run_main).
int ddpm_main(int argc, char** argv);
// Fails with one line when a file flag's value is "-" (which would name a file "-").
void require_file_name(const std::string& value, const std::string& flag);

}  // namespace ddpm
