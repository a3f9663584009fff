// ddim.h: denoising diffusion implicit models (Song, Meng and Ermon 2021): sampling on a
// subsequence of the timesteps, with a knob eta between a deterministic map (eta = 0) and DDPM's
// noise (eta = 1). Uses the same eps-model as DDPM: no retraining.
//
// docs/ddim.md has the derivation. With tau a strictly increasing subsequence of 1..T ending at T,
// and t_prev the element before t in tau (0 after the first), one step is (Song et al. eq. 12):
//
//   x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)
//   sigma  = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev)
//   x_prev = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - sigma^2) eps + sigma z
//
// where ab = alpha_bar and ab_0 = 1 (so the last step returns x0_hat).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "diffusion/sampler.h"
#include "diffusion/schedule.h"

namespace ddpm {

enum class Spacing { Uniform, Quadratic };
const char* spacing_name(Spacing s);

// The S timesteps tau_1 < ... < tau_S = T of a DDIM run, in increasing order.
// Uniform: tau_i = round(i T / S). Quadratic: tau_i = round((i / S)^2 T), pushed up where needed so
// that they stay strictly increasing (dense near t = 0, where the data's detail is decided).
// 1 <= steps <= T.
std::vector<int> ddim_timesteps(int T, int steps, Spacing spacing);

// One DDIM step from t to t_prev (0 <= t_prev < t); x_prev may alias x_t. z is only read when eta > 0.
void ddim_step(float* x_prev, const float* x_t, const float* eps, const float* z, int64_t n, const Schedule& s, int t,
               int t_prev, float eta);

// Runs the steps of tau from T down to 0 on x (rows, dim), x_T on entry, x_0 on return. z from
// Rng(seed, kSampleStream). record(t, x) is called with x_T first and after every step.
void ddim_sample(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& tau,
                 float eta, uint64_t seed, const std::function<void(int, const float*)>& record = {});

// The same with the predicted x_0 clipped to [-clip_x0, clip_x0] before each step (images; 0: off),
// and the noise re-derived from the clipped x_0, eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t), so that
// the step's two terms agree. Without it, the first steps of a schedule whose alpha_bar_T is nearly 0
// (cosine: 2.4e-9 at T = 1000, its square root 4.9e-5) divide the network's error by sqrt(alpha_bar_T)
// and throw pixels far outside the data range, which the later steps cannot take back.
void ddim_sample_clipped(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn,
                         const std::vector<int>& tau, float eta, uint64_t seed, float clip_x0,
                         const std::function<void(int, const float*)>& record = {});

// DDIM inversion: the deterministic update run forwards, x_0 -> x_T along tau (the noise at each
// step is predicted at the current point with the next timestep). Reversing it with ddim_sample at
// eta = 0 reconstructs x_0, up to the error of that approximation.
void ddim_invert(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& tau);

}  // namespace ddpm
