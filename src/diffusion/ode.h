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
enum class OdeSpacing { Uniform, Quadratic, Karras };
const char* ode_spacing_name(OdeSpacing s);
std::vector<int> ode_timesteps(const Schedule& s, int steps, OdeSpacing spacing);

// Solves (12.3) on x (rows, dim) from x at timesteps[0] (x_t, not xb) to the data end; x_0 on
// return. Returns the network calls made. The timesteps must be strictly decreasing, in 1..T.
int ode_solve(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& timesteps,
              OdeSolver solver);

}  // namespace ddpm
