// train.h: epsilon-prediction training (Ho et al. 2020, Algorithm 1).
//
//   repeat:  x_0 ~ data,  t ~ Uniform{1..T},  eps ~ N(0, I)
//            gradient step on  || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2
//
// with Adam, gradient-norm clipping, and an exponential moving average of the weights for sampling.
#pragma once

#include <cstdint>
#include <vector>

#include "nets/eps_mlp.h"
#include "core/optim.h"
#include "diffusion/schedule.h"
#include "diffusion/trainer_state.h"

namespace ddpm {

// L_simple (Ho et al. eq. 14), averaged over the batch and the coordinates:
//   x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps   (row b at t[b]),   loss = mse(eps_theta(x_t, t), eps).
// x0 and eps are (B, dim); t holds B timesteps in 1..T. When `prediction` is given, the model's output
// is stored there too (for per-timestep statistics).
Tensor simple_loss(const EpsModel& model, const Tensor& x0, const std::vector<int>& t, const Tensor& eps,
                   const Schedule& s, Tensor* prediction = nullptr);

// The largest batch a trainer takes (the tool's --batch shares it, store/settings.h).
inline constexpr int kMaxBatch = 1 << 20;

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

// The state every trainer shares (params, adam, ema, step, index_rng, t_rng, eps_rng) is
// TrainerState's (trainer_state.h).
struct Trainer : TrainerState {
    TrainConfig config;
    Schedule schedule;
    EpsModel model;

    Trainer(const EpsModelConfig& model_config, const TrainConfig& config, Schedule schedule);
    // One step of Algorithm 1 on a batch drawn (with replacement) from data (n rows of model dim).
    StepStats train_step(const float* data, int n);
    // The EMA weights in a copy of the model, for sampling.
    EpsModel ema_model() const;
};

}  // namespace ddpm
