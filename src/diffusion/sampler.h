// sampler.h: reverse (generative) sampling, DDPM ancestral sampling (Ho et al. 2020, Algorithm 2).
//
// The reverse step is Gaussian, p(x_{t-1} | x_t) = N(mu_theta(x_t, t), sigma_t^2 I), with the mean
// written through the predicted noise (docs/reverse-process.md, eq. 4.3; Ho et al. eq. 11):
//
//     mu_theta(x_t, t) = ( x_t - beta_t / sqrt(1 - alpha_bar_t) * eps_theta(x_t, t) ) / sqrt(alpha_t)
//
// and sigma_t^2 = beta_t or beta_tilde_t (both are used by Ho et al.; beta_tilde_t is the variance of
// the true posterior q(x_{t-1} | x_t, x_0)).
#pragma once

#include <cstdint>
#include <functional>

#include "nets/eps_mlp.h"
#include "diffusion/schedule.h"

namespace ddpm {

// Something that predicts the noise of rows of x_t, all at timestep t: eps_out, x_t are (rows, dim).
using EpsFunction = std::function<void(float* eps_out, const float* x_t, int rows, int t)>;
// The network as an EpsFunction (no graph is recorded).
EpsFunction model_eps_function(const EpsModel& model);

// Eq. (4.3): mu from eps. All arrays hold n values; t in 1..T.
void p_mean_from_eps(float* mu, const float* x_t, const float* eps, int64_t n, const Schedule& s, int t);
// Eq. (4.1): the posterior mean of q(x_{t-1} | x_t, x_0) = c0 x_0 + ct x_t,
//   c0 = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t),  ct = sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t).
void q_posterior_mean(float* mu, const float* x0, const float* x_t, int64_t n, const Schedule& s, int t);
// x_0 predicted from eps: (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)   (eq. 1.2 solved for x_0)
void predict_x0(float* x0, const float* x_t, const float* eps, int64_t n, const Schedule& s, int t);

enum class Variance { Beta, BetaTilde };
const char* variance_name(Variance v);
double sigma_of(const Schedule& s, int t, Variance v);   // sqrt(beta_t) or sqrt(beta_tilde_t)

// One ancestral step: x_{t-1} = mu_theta(x_t, t) + sigma_scale * sigma_t * z; no noise at t = 1
// (the last step returns the mean). x_prev may alias x_t.
void p_sample_step(float* x_prev, const float* x_t, const float* eps, const float* z, int64_t n, const Schedule& s,
                   int t, Variance v, float sigma_scale = 1.0f);

struct SampleOptions {
    Variance variance = Variance::BetaTilde;
    float sigma_scale = 1.0f;   // multiplies sigma_t (0: deterministic mean path)
    float clip_x0 = 0.0f;       // > 0: clip the predicted x_0 to [-clip_x0, clip_x0] (images); 0: off
    uint64_t seed = 0;          // the noise z of every step comes from Rng(seed, kSampleStream)
};
enum SampleStream : uint64_t { kSampleStream = 20 };

// Runs t = T, ..., 1 on x (rows, dim), which holds x_T on entry and x_0 on return. When `record` is
// given it is called as record(t, x) with x = x_t for t = T (before the first step) down to 0.
void ddpm_sample(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const SampleOptions& o,
                 const std::function<void(int, const float*)>& record = {});

}  // namespace ddpm
