// ode_sample.h: `ddpm sample --sampler euler|heun|dpmpp2m`, the solvers of the probability-flow ODE
// (diffusion/ode.h, docs/probability-flow.md) as the tool runs them on CSV rows and on images.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "diffusion/ode.h"
#include "diffusion/sampler.h"
#include "diffusion/schedule.h"

namespace ddpm {

// True for the three names of --sampler that solve the ODE: euler, heun, dpmpp2m.
bool is_ode_sampler(const std::string& sampler);
// The solver of one of those names, and the spacing of uniform, quadratic or karras (fails on others).
OdeSolver ode_solver_of(const std::string& sampler);
OdeSpacing ode_spacing_of(const std::string& spacing);

// The network calls that `steps` steps make: one a step for euler and dpmpp2m; 2 steps - 1 for heun,
// whose last step (to t = 0) is an Euler step.
int ode_calls_of(OdeSolver solver, int steps);

// Solves the ODE on x (rows, dim), x_T on entry, x_0 on return, over `timesteps` (ode_timesteps'
// order: from T down); after_call(calls so far) follows each network call (for progress lines).
// Returns the calls made, as ode_solve counts them.
int run_ode_sampler(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, OdeSolver solver,
                    const std::vector<int>& timesteps, const std::function<void(int)>& after_call);

// eps_fn with the x_0 it implies, (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t), clipped to [-clip, clip]
// and the noise derived again from the clipped x_0, eps = (x_t - sqrt(ab_t) x_0) / sqrt(1 - ab_t):
// what ddim_sample_clipped does to each prediction, for the solvers on images. The solvers then see
// a network whose data prediction stays in the pixel range, which DPM-Solver++ extrapolates and the
// others step towards (without it the first step of a cosine schedule throws pixels far out of range,
// as ddim.h says). dim: the values of one row; clip > 0.
EpsFunction clipped_eps_function(EpsFunction eps_fn, const Schedule& s, int dim, float clip);

// How a run is named in the tool's summary line:
// "heun sampler (probability-flow ODE from t = 991, sigma 71.27, karras spacing, 19 network calls)".
std::string ode_sampler_text(OdeSolver solver, OdeSpacing spacing, int calls, const Schedule& s, int start);

}  // namespace ddpm
