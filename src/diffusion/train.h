// train.h: epsilon-prediction training (Ho et al. 2020, Algorithm 1).
//
//   repeat:  x_0 ~ data,  t ~ Uniform{1..T},  eps ~ N(0, I)
//            gradient step on  || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2
//
// with Adam, gradient-norm clipping, and an exponential moving average of the weights for sampling.
#pragma once

#include <cstdint>
#include <vector>

#include "core/checkpoint.h"
#include "nets/eps_mlp.h"
#include "core/optim.h"
#include "diffusion/schedule.h"

namespace ddpm {

// L_simple (Ho et al. eq. 14), averaged over the batch and the coordinates:
//   x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps   (row b at t[b]),   loss = mse(eps_theta(x_t, t), eps).
// x0 and eps are (B, dim); t holds B timesteps in 1..T. When `prediction` is given, the model's output
// is stored there too (for per-timestep statistics).
Tensor simple_loss(const EpsModel& model, const Tensor& x0, const std::vector<int>& t, const Tensor& eps,
                   const Schedule& s, Tensor* prediction = nullptr);

struct TrainConfig {
    int batch = 256;
    float lr = 1e-3f;
    float ema_decay = 0.999f;
    double clip = 1.0;        // max gradient norm; <= 0 turns clipping off
    uint64_t seed = 0;
    // > 0: the learning rate of step k (k = 0, 1, ...) is lr * (1 + cos(pi * min(k, N) / N)) / 2 with
    // N = lr_decay_steps, a cosine decay to 0 over N steps (Loshchilov and Hutter 2017, eq. 5, with one
    // period and no restart). 0: lr at every step.
    int64_t lr_decay_steps = 0;
};

// The learning rate of step `step` (counted from 0) under c.
float step_lr(const TrainConfig& c, int64_t step);

struct StepStats {
    float loss = 0.0f;
    double grad_norm = 0.0;         // before clipping
    std::vector<int> t;             // the batch's timesteps
    std::vector<float> row_loss;    // the loss of each row (mean over coordinates)
};

// Random streams of training, all keyed by TrainConfig::seed.
enum TrainStream : uint64_t { kInitStream = 10, kIndexStream = 11, kTimestepStream = 12, kNoiseStream = 13 };

struct Trainer {
    TrainConfig config;
    Schedule schedule;
    EpsModel model;
    Params params;
    Adam adam;
    EMA ema;
    int64_t step = 0;
    Rng index_rng, t_rng, eps_rng;

    Trainer(const EpsModelConfig& model_config, const TrainConfig& config, Schedule schedule);
    // One step of Algorithm 1 on a batch drawn (with replacement) from data (n rows of model dim).
    StepStats train_step(const float* data, int n);
    // The EMA weights in a copy of the model, for sampling.
    EpsModel ema_model() const;
};

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
