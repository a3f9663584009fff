// ode.h: samplers as solvers of the probability-flow ODE (Song et al. 2021, "Score-based generative
// modeling through SDEs", section 4.3), for lesson 12 (issue 36). docs/probability-flow.md has the
// maths; its equation numbers are used here.
//
// In the variables of DDIM's section 4.3 (Song, Meng and Ermon 2021, eq. 14),
//
//   xb = x_t / sqrt(ab_t),   sigma_t = sqrt((1 - ab_t) / ab_t)   (ab = alpha_bar, sigma_0 = 0),
//
// the deterministic DDIM update is one Euler step of
//
//   d xb / d sigma = eps(x_t, t),   x_t = xb / sqrt(1 + sigma^2),                         (12.3)
//
// from sigma_t to sigma_prev. The ODE carries x_T ~ N(0, (1 + sigma_T^2) I) in xb to the data end
// sigma = 0, where xb = x_0. The three solvers below make the same network calls on the same
// timesteps (integers of the schedule, where the network was trained) and differ in how they use
// them:
//   - Euler: xb_prev = xb + (sigma_prev - sigma_t) eps(x_t, t), which is DDIM with eta = 0 (order 1);
//   - Heun: Euler to the next timestep, a second call there, and the step again with the mean of
//     the two slopes (Karras et al. 2022, "EDM", Algorithm 1 without its noise; order 2); the last
//     step, to sigma = 0, stays Euler, as in EDM: 2 N - 1 calls for N steps;
//   - DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): the data prediction
//     x0 = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t) extrapolated linearly in lambda = log(1 / sigma)
//     from the last two calls, one call a step (order 2); the first step and the last (to sigma = 0)
//     are first order, as diffusers does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/sampler.h"
#include "diffusion/schedule.h"

namespace ddpm {

enum class OdeSolver { Euler, Heun, DpmPP2M };
const char* ode_solver_name(OdeSolver s);  // "euler", "heun", "dpmpp2m"

// sigma_t of (12.1) for t = 0..T.
double ode_sigma(const Schedule& s, int t);

// The timesteps of a solver run, t_1 > t_2 > ... > t_N >= 1 (the run then ends at t = 0):
//   Uniform: N equal steps in t; Quadratic: dense near t = 0 (ddim.h's, reversed);
//   Karras: EDM's eq. 5 with rho = 7, sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) -
//   sigma_max^(1/rho)))^rho between sigma_T and sigma_1, each taken to the timestep of the nearest
//   sigma, pushed apart where two would meet.
// 1 <= steps <= T.
// Where a solver starts. On a schedule that ends at a huge sigma_T (the cosine schedule's is about
// 2 * 10^4) the first step's prediction of x_0 divides the network's error by sqrt(ab_T); Karras et al.
// (EDM, sec. 5) start at sigma_max = 80 instead, where x_T ~ N(0, I) still stands for x_t (the data's
// share of x_t is sqrt(ab_t) x_0, about 1/80 of it). The largest t with sigma_t <= sigma_max (T when
// sigma_T is below it, as on a short schedule; the course's linear one has sigma_T = 157 > 80, so this gives t = 930);
// ode_timesteps(cut_schedule(s, t), ...) then starts the run at t.
constexpr double kOdeSigmaMax = 80.0;
int ode_start_timestep(const Schedule& s, double sigma_max = kOdeSigmaMax);

enum class OdeSpacing { Uniform, Quadratic, Karras };
const char* ode_spacing_name(OdeSpacing s);
std::vector<int> ode_timesteps(const Schedule& s, int steps, OdeSpacing spacing);

// The three steps, from timestep t to next < t, on x (n = rows * dim values, x_t in, x_next out),
// with eps = eps(x_t, t) already computed (the caller's call).
//   Euler (12.2), next >= 0.
void ode_euler_step(float* x, int64_t n, const Schedule& s, int t, int next, const float* eps);
//   Heun (12.4), 1 <= next: one more call of eps_fn, at the Euler trial point and timestep next;
//   probe and eps_next are n floats of scratch (on return: the trial point and the eps there).
//   Task L12.1.
void ode_heun_step(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, int t, int next,
                   const float* eps, float* probe, float* eps_next);
//   DPM-Solver++(2M) (12.5)-(12.6), next >= 0: x0_last (n doubles) holds the previous step's data
//   prediction and is overwritten with this one's; h_last is the previous step's length in
//   lambda = -log sigma, or 0 on the first step (then the step is first order, as on the last).
void ode_dpmpp2m_step(float* x, int64_t n, const Schedule& s, int t, int next, const float* eps, double* x0_last,
                      double h_last);

// Solves (12.3) on x (rows, dim) from x at timesteps[0] (x_t, not xb) to the data end; x_0 on
// return. Returns the network calls made. The timesteps must be strictly decreasing, in 1..T.
int ode_solve(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& timesteps,
              OdeSolver solver);

}  // namespace ddpm
