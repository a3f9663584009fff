// likelihood.h: the variational bound of Ho et al. (2020) term by term, its Gaussian pieces, the
// discretised decoder for 8-bit images, and the v target of Salimans and Ho (2022).
//
// The bound ([001] eq. 4-7, Ho et al. eq. 5; docs/reverse-process.md, eq. 4.4; docs/likelihood.md):
//
//     -log p_theta(x_0) <= L_T + sum_{t=2..T} L_{t-1} + L_0
//     L_T     = KL( q(x_T | x_0) || N(0, I) )                                  no parameters
//     L_{t-1} = KL( q(x_{t-1} | x_t, x_0) || p_theta(x_{t-1} | x_t) ),  x_t ~ q(x_t | x_0)
//     L_0     = -log p_theta(x_0 | x_1),                                 x_1 ~ q(x_1 | x_0)
//
// Every KL is between Gaussians with diagonal covariance and is computed in closed form (11.1); the
// expectation over x_t is one draw per row and per t, so a row's total is an unbiased estimate of its
// bound. Units: nats per dimension (divide by log 2 for bits).
//
// Reverse variances sigma_t^2 (docs/likelihood.md, sec. 3):
//   Beta       sigma_t^2 = beta_t for every t, the decoder included;
//   BetaTilde  sigma_t^2 = beta_tilde_t for t >= 2; beta_tilde_1 = 0 would make the decoder a point
//              mass, so the decoder uses beta_tilde_2 (the clipped value of Nichol and Dhariwal's code);
//   Learned    log sigma_t^2 = v log beta_t + (1 - v) log beta_tilde_t per coordinate (Nichol and
//              Dhariwal 2021, eq. 15), beta_tilde_1 replaced by beta_tilde_2 the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "diffusion/data.h"
#include "diffusion/sampler.h"
#include "diffusion/schedule.h"

namespace ddpm {

// ---- Gaussian pieces --------------------------------------------------------------------------
// (11.1) KL( N(mean1, exp(logvar1)) || N(mean2, exp(logvar2)) ) for one coordinate, in nats:
//   0.5 (logvar2 - logvar1 + exp(logvar1 - logvar2) + (mean1 - mean2)^2 exp(-logvar2) - 1).
double normal_kl(double mean1, double logvar1, double mean2, double logvar2);

// log N(x; mean, exp(logvar)) for one coordinate.
double normal_log_density(double x, double mean, double logvar);

// erfc(x) with relative error below 1.2e-7 for every x (the Chebyshev fit of Press et al.,
// Numerical Recipes, sec. 6.2), and the standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2.
double erfc_approx(double x);
double std_normal_cdf(double x);

// log p(x) of a Gaussian mixture at one point x (gm.dim values), by log-sum-exp over the components:
// the exact density, whose mean over held-out points estimates the data's entropy (its true NLL).
double mixture_log_density(const GaussianMixture& gm, const float* x);

// ---- the discretised decoder (Ho et al. 2020, sec. 3.3, eq. 13) --------------------------------
// Pixels x = b / 127.5 - 1 for bytes b = 0..255 (images.h). The probability of x's bin under
// N(mean, exp(2 log_scale)): the mass between x - 1/255 and x + 1/255, with the first bin's lower
// edge at -inf and the last bin's upper edge at +inf, so the 256 probabilities sum to 1. Its log,
// with the probability clamped below at 1e-12 (as in Ho et al.'s code).
double discretized_gaussian_log_likelihood(double x, double mean, double log_scale);

// ---- the v target (Salimans and Ho 2022, sec. 4 and appendix D) --------------------------------
// With x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps, ab = alpha_bar_t:
//   v = sqrt(ab) eps - sqrt(1 - ab) x_0,
//   x_0 = sqrt(ab) x_t - sqrt(1 - ab) v,      eps = sqrt(1 - ab) x_t + sqrt(ab) v.
// All arrays hold n values.
void v_target(float* v, const float* x0, const float* eps, int64_t n, double alpha_bar);
void x0_from_v(float* x0, const float* x_t, const float* v, int64_t n, double alpha_bar);
void eps_from_v(float* eps, const float* x_t, const float* v, int64_t n, double alpha_bar);

// ---- the bound, term by term -----------------------------------------------------------------
enum class BoundVariance { Beta, BetaTilde, Learned };
const char* bound_variance_name(BoundVariance v);  // "beta", "beta_tilde", "learned"
// The log-variance of p_theta(x_{t-1} | x_t) at t in 1..T; `v` is the network's interpolation output
// (used by Learned only).
double reverse_logvar(const Schedule& s, int t, BoundVariance kind, double v = 0.0);

enum class Decoder { Gaussian, Discretised };

// One network evaluation at t for `rows` rows of x_t (rows, dim): the noise eps (rows, dim) and, for
// a learned variance, the interpolation v (rows, dim); v is null when no learned variance is asked for.
using ReversePrediction = std::function<void(float* eps, float* v, const float* x_t, int rows, int t)>;
ReversePrediction fixed_variance_prediction(const EpsFunction& eps);  // writes eps only

struct BoundTerms {
    BoundVariance variance = BoundVariance::BetaTilde;
    int T = 0, dim = 0, rows = 0;
    // term[0] = L_0, term[t - 1] = L_{t-1} for t = 2..T, term[T] = L_T; means over the rows, nats per
    // dimension. row_total: each row's L_T + sum L_{t-1} + L_0 in nats per dimension.
    std::vector<double> term;
    std::vector<double> row_total;
    double total() const;        // sum of term = mean of row_total
    double standard_error() const;  // of the mean of row_total
};

// The bound of every variance in `variances` for one model, on the rows of x0 (rows, dim), from one
// network evaluation per t: x_t ~ q(x_t | x_0) with noise from Rng(seed, kBoundStream), drawn for
// t = 1, 2, ..., T in turn (the same x_t for every model given the same seed: differences between
// models are paired). Same bits for any thread count when `predict` gives them.
enum BoundStream : uint64_t { kBoundStream = 90 };
std::vector<BoundTerms> variational_bound(const float* x0, int rows, int dim, const Schedule& s,
                                          const ReversePrediction& predict, const std::vector<BoundVariance>& variances,
                                          Decoder decoder, uint64_t seed);

}  // namespace ddpm
