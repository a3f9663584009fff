// oracle.h: the best possible noise predictor, in closed form, when the data is a Gaussian mixture.
//
// A network trained with the simple DDPM loss E |eps_theta(x_t, t) - eps|^2 can at best learn the
// regression function eps*(x_t, t) = E[eps | x_t]. For most data that is unknown; for a Gaussian mixture
//   x_0 ~ sum_k w_k N(mu_k, sigma_k^2 I)
// it is a formula. The forward marginal stays a mixture (x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps):
//   q(x_t) = sum_k w_k N(x_t; sqrt(ab) mu_k, s_k^2 I),    ab = alpha_bar_t,  s_k^2 = ab sigma_k^2 + 1 - ab,
// and Tweedie's formula (Vincent 2011; Efron 2011) gives E[eps | x_t] = -sqrt(1 - ab) grad log q(x_t):
//   eps*(x_t, t) = sqrt(1 - ab) sum_k r_k(x_t) (x_t - sqrt(ab) mu_k) / s_k^2,
//   r_k(x_t)     = w_k N(x_t; sqrt(ab) mu_k, s_k^2 I) / q(x_t), the posterior probability of component k.
// The responsibilities are computed with log-sum-exp, so points far from every mode get finite values.
//
// Shapes: x_t, eps_out, x0_out are (rows, gm.dim), row-major. All in double inside, float out.
// Rows are independent and split in fixed chunks: the same bits for any thread count.
#pragma once

#include "diffusion/data.h"
#include "diffusion/schedule.h"

namespace ddpm {

// eps_out (rows, dim) = eps*(x_t, t) for every row of x_t (rows, dim), all at the same t in 1..T.
void oracle_eps(float* eps_out, const float* x_t, int rows, const GaussianMixture& gm, const Schedule& s, int t);

// The same with one timestep per row: t (rows), each in 1..T.
void oracle_eps_rows(float* eps_out, const float* x_t, const int* t, int rows, const GaussianMixture& gm,
                     const Schedule& s);

// The posterior mean of the data, x0_out (rows, dim) = E[x_0 | x_t]
//   = (x_t - sqrt(1 - ab) eps*(x_t, t)) / sqrt(ab),
// the same identity that turns any noise prediction into a prediction of x_0. t in 1..T.
void oracle_x0(float* x0_out, const float* x_t, int rows, const GaussianMixture& gm, const Schedule& s, int t);

}  // namespace ddpm
