// objectives.h: other things to train the toy network on than L_simple's noise: a learned variance
// (Nichol and Dhariwal 2021), the x_0 and v targets (Salimans and Ho 2022), min-SNR-gamma weighting
// (Hang et al. 2023); and ancestral sampling on a subsequence of the timesteps with respaced betas,
// for fixed and learned variances. docs/likelihood.md derives each formula.
//
// The network is train.h's EpsModel (the same MLP and timestep embedding); with a learned variance
// its last layer has 2 dim outputs, [prediction | v]. Training follows Trainer::train_step (same
// random streams, Adam, clipping, EMA); only the loss differs:
//
//   L = E_t[ w_t || f_theta(x_t, t) - target ||^2 / dim ]             target: eps, x_0 or v
//     + (learned) lambda T E_t[ L_{t-1}(v) / dim ]   with the mean stopped (Nichol and Dhariwal, sec. 3.1)
//
// where L_{t-1} is the KL of likelihood.h (L_0 at t = 1, Gaussian decoder), T E_t[L_{t-1}] the one-draw
// estimate of L_vlb, lambda = 0.001. w_t = 1, or with min-SNR-gamma the weight that makes each target's
// loss min(SNR_t, gamma) times the x_0 error: eps min(SNR, gamma) / SNR, x_0 min(SNR, gamma),
// v min(SNR, gamma) / (SNR + 1)  (Hang et al. 2023, sec. 3.4).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/optim.h"
#include "diffusion/likelihood.h"
#include "nets/eps_mlp.h"
#include "diffusion/schedule.h"
#include "diffusion/train.h"

namespace ddpm {

enum class Target { Eps, X0, V };
const char* target_name(Target t);  // "eps", "x0", "v"

struct ObjectiveConfig {
    Target target = Target::Eps;
    bool learned_variance = false;
    double vlb_weight = 0.001;   // lambda
    double min_snr_gamma = 0.0;  // > 0: min-SNR-gamma weights; 0: w_t = 1
};
std::string describe(const ObjectiveConfig& o);  // "eps", "v, min-SNR-5", "eps + learned variance"

double min_snr_weight(Target target, double snr, double gamma);

// The network's prediction of the target, turned into the noise at t (x_t, pred: n values):
//   eps = pred;   eps = (x_t - sqrt(ab) x0_hat) / sqrt(1 - ab);   eps = sqrt(1 - ab) x_t + sqrt(ab) v_hat.
void eps_from_prediction(float* eps, const float* x_t, const float* pred, int64_t n, Target target, double alpha_bar);

// A network that predicts `target`, as the EpsFunction of its noise: each call converts the prediction
// at t with eps_from_prediction (alpha_bar = s.alpha_bar[t]), so that every sampler of the tool runs a
// model of x_0 or v as it runs one of eps. Keeps a reference to s, which must outlive it.
EpsFunction eps_from_target_function(EpsFunction predict, Target target, const Schedule& s, int dim);
// "eps", "x0" or "v" (a checkpoint's model.objective) into `out`; false for anything else.
bool parse_target(const std::string& name, Target& out);

// params, adam, ema, step and the three streams are TrainerState's (trainer_state.h).
struct ObjectiveTrainer : TrainerState {
    ObjectiveConfig objective;
    TrainConfig config;
    Schedule schedule;
    EpsModel model;

    ObjectiveTrainer(const EpsModelConfig& model_config, const ObjectiveConfig& objective, const TrainConfig& config,
                     Schedule schedule);
    // One step on a batch drawn with replacement from data (n rows); returns the loss.
    float train_step(const float* data, int n);
    EpsModel ema_model() const;
};

// The network as a ReversePrediction (likelihood.h): eps from its target and, with a learned variance, v.
// Rows in fixed chunks over the threads: the same bits for any thread count. It keeps references to
// model and s, which must outlive it.
ReversePrediction objective_prediction(const EpsModel& model, const ObjectiveConfig& objective, const Schedule& s);

// Ancestral sampling on tau_1 < ... < tau_S = T (ddim.h's ddim_timesteps) with the respaced schedule
// (Nichol and Dhariwal, sec. 4): from tau_i to tau_{i-1} (tau_0 = 0, alpha_bar_0 = 1),
//   beta'_i = 1 - ab_{tau_i} / ab_{tau_{i-1}},  beta_tilde'_i = (1 - ab_{tau_{i-1}}) / (1 - ab_{tau_i}) beta'_i,
//   x <- (x - beta'_i / sqrt(1 - ab_{tau_i}) eps) / sqrt(1 - beta'_i) + sigma_i z   (no noise at the last step)
// with sigma_i^2 = beta'_i, beta_tilde'_i, or exp(v log beta'_i + (1 - v) log beta_tilde'_i). With every t
// (S = T) it is Algorithm 2. z from Rng(seed, kSampleStream), one draw per step.
void respaced_sample(float* x, int rows, int dim, const Schedule& s, const ReversePrediction& predict,
                     BoundVariance variance, const std::vector<int>& tau, uint64_t seed);

}  // namespace ddpm
