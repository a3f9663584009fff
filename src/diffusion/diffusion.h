// diffusion.h: the forward process q of DDPM (Ho et al. 2020), on plain arrays.
//
// Notation in docs/notation.md: t = 0 is the data, t = 1..T the noising steps, and
// schedule.alpha_bar[t] is alpha-bar_t = prod_{s=1..t} (1 - beta_s).
#pragma once

#include <cstdint>

#include "diffusion/data.h"
#include "diffusion/schedule.h"

namespace ddpm {

// One step of the chain, eq. (1.1) of docs/forward-process.md (Ho et al. eq. 2):
//   x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps,   eps ~ N(0, I).
// x_t, x_prev, eps hold n values; x_t may alias x_prev. t in [1, T].
void q_step(float* x_t, const float* x_prev, const float* eps, int64_t n, const Schedule& s, int t);

// The closed form, eq. (1.2) (Ho et al. eq. 4):
//   x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.
// t in [0, T] (t = 0 returns x_0).
void q_sample(float* x_t, const float* x0, const float* eps, int64_t n, const Schedule& s, int t);

// The closed form for a batch with one timestep per row: rows of `dim` values, row b at t[b].
void q_sample_rows(float* x_t, const float* x0, const float* eps, const int* t, int rows, int dim,
                   const Schedule& s);

// Moments of x_t when x_0 has mean m0 and variance v0 (per coordinate), eq. (1.4):
//   E[x_t] = sqrt(alpha_bar_t) m0,   Var[x_t] = alpha_bar_t v0 + 1 - alpha_bar_t.
double forward_mean(double m0, const Schedule& s, int t);
double forward_var(double v0, const Schedule& s, int t);

// When the data is a Gaussian mixture sum_k w_k N(mu_k, sigma_k^2 I), so is every marginal of the
// forward process: q(x_t) = sum_k w_k N(sqrt(alpha_bar_t) mu_k, (alpha_bar_t sigma_k^2 + 1 - alpha_bar_t) I).
GaussianMixture q_marginal(const GaussianMixture& data, const Schedule& s, int t);
// The density of a 1-D mixture at x.
double mixture_pdf_1d(const GaussianMixture& gm, double x);

}  // namespace ddpm
