#include "app/ode_sample.h"

#include <cmath>

#include "core/common.h"
#include "core/io.h"

namespace ddpm {

bool is_ode_sampler(const std::string& sampler) {
    return sampler == "euler" || sampler == "heun" || sampler == "dpmpp2m";
}

OdeSolver ode_solver_of(const std::string& sampler) {
    if (sampler == "euler") return OdeSolver::Euler;
    if (sampler == "heun") return OdeSolver::Heun;
    if (sampler == "dpmpp2m") return OdeSolver::DpmPP2M;
    fail("--sampler: '" + shown(sampler) + "' is not a solver of the probability-flow ODE (euler, heun or dpmpp2m)");
}

OdeSpacing ode_spacing_of(const std::string& spacing) {
    if (spacing == "uniform") return OdeSpacing::Uniform;
    if (spacing == "quadratic") return OdeSpacing::Quadratic;
    if (spacing == "karras") return OdeSpacing::Karras;
    fail("--spacing: expected uniform, quadratic or karras, got '" + shown(spacing) + "'");
}

int ode_calls_of(OdeSolver solver, int steps) { return solver == OdeSolver::Heun ? 2 * steps - 1 : steps; }

int run_ode_sampler(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, OdeSolver solver,
                    const std::vector<int>& timesteps, const std::function<void(int)>& after_call) {
    int calls = 0;
    const EpsFunction counted = [&](float* eps, const float* x_t, int n, int t) {
        eps_fn(eps, x_t, n, t);
        if (after_call) after_call(++calls);
    };
    return ode_solve(x, rows, dim, s, counted, timesteps, solver);
}

EpsFunction clipped_eps_function(EpsFunction eps_fn, const Schedule& s, int dim, float clip) {
    if (!(clip > 0.0f)) fail("clipped_eps_function: the clip must be positive");
    return [eps_fn = std::move(eps_fn), alpha_bar = s.alpha_bar, dim, clip](float* eps, const float* x_t, int rows, int t) {
        eps_fn(eps, x_t, rows, t);
        // the solvers call the network at t >= 1 only, where 1 - ab_t > 0; the same arithmetic as
        // ddim_sample_clipped's, so that euler here and ddim --eta 0 there differ by rounding alone
        const double ab = alpha_bar[size_t(t)], a = std::sqrt(ab), b = std::sqrt(1.0 - ab);
        const int64_t n = int64_t(rows) * dim;
        for (int64_t i = 0; i < n; ++i) {
            const double x0 = std::fmin(std::fmax((x_t[i] - b * eps[i]) / a, -double(clip)), double(clip));
            eps[i] = float((x_t[i] - a * x0) / b);
        }
    };
}

std::string ode_sampler_text(OdeSolver solver, OdeSpacing spacing, int calls, const Schedule& s, int start) {
    return std::string(ode_solver_name(solver)) + " sampler (probability-flow ODE from t = " + std::to_string(start) +
           ", sigma " + fmt_g(ode_sigma(s, start), 4) + ", " + ode_spacing_name(spacing) + " spacing, " +
           std::to_string(calls) + " network call" + (calls == 1 ? "" : "s") + ")";
}

}  // namespace ddpm
