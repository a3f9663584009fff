#include "diffusion/ode.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/dmath.h"
#include "diffusion/ddim.h"

namespace ddpm {

const char* ode_solver_name(OdeSolver s) {
    return s == OdeSolver::Euler ? "euler" : s == OdeSolver::Heun ? "heun" : "dpmpp2m";
}

const char* ode_spacing_name(OdeSpacing s) {
    return s == OdeSpacing::Uniform ? "uniform" : s == OdeSpacing::Quadratic ? "quadratic" : "karras";
}

double ode_sigma(const Schedule& s, int t) {
    if (t < 0 || t > s.T) fail("ode_sigma: t = " + std::to_string(t) + " outside 0..T = " + std::to_string(s.T));
    const double ab = s.alpha_bar[size_t(t)];
    return std::sqrt((1.0 - ab) / ab);
}

int ode_start_timestep(const Schedule& s, double sigma_max) {
    int t = s.T;
    while (t > 1 && ode_sigma(s, t) > sigma_max) --t;
    return t;
}

std::vector<int> ode_timesteps(const Schedule& s, int steps, OdeSpacing spacing) {
    if (steps < 1 || steps > s.T)
        fail("ode_timesteps: steps must be in [1, T = " + std::to_string(s.T) + "], got " + std::to_string(steps));
    std::vector<int> t;
    if (spacing != OdeSpacing::Karras) {
        t = ddim_timesteps(s.T, steps, spacing == OdeSpacing::Uniform ? Spacing::Uniform : Spacing::Quadratic);
        std::reverse(t.begin(), t.end());
        return t;
    }
    // EDM's eq. 5 between sigma_T and sigma_1, each sigma taken to the timestep of the nearest sigma
    // x^(1/7) through dmath (the C library's pow differs between systems in its last bits)
    const double rho = 7.0, hi = dmath::exp(dmath::log(ode_sigma(s, s.T)) / rho), lo = dmath::exp(dmath::log(ode_sigma(s, 1)) / rho);
    for (int i = 0; i < steps; ++i) {
        const double target = dmath::pow_int(steps == 1 ? hi : hi + double(i) / (steps - 1) * (lo - hi), 7);
        int best = 1;
        for (int k = 2; k <= s.T; ++k)
            if (std::fabs(ode_sigma(s, k) - target) < std::fabs(ode_sigma(s, best) - target)) best = k;
        // strictly decreasing, with room left for the steps to come
        if (!t.empty()) best = std::min(best, t.back() - 1);
        best = std::max(best, steps - i);
        t.push_back(best);
    }
    return t;
}

void ode_euler_step(float* x, int64_t n, const Schedule& s, int t, int next, const float* eps) {
    const double ab = s.alpha_bar[size_t(t)], ab_next = s.alpha_bar[size_t(next)];
    const double sigma = std::sqrt((1.0 - ab) / ab), sigma_next = std::sqrt((1.0 - ab_next) / ab_next);
    const double a = std::sqrt(ab), a_next = std::sqrt(ab_next);  // x = a xb
    // (12.2): xb_next = xb + (sigma_next - sigma) eps, with xb = x / a
    for (int64_t i = 0; i < n; ++i) x[i] = float((x[i] / a + (sigma_next - sigma) * eps[i]) * a_next);
}

void ode_heun_step(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, int t, int next,
                   const float* eps, float* probe, float* eps_next) {
    if (next < 1 || next >= t || t > s.T)
        fail("ode_heun_step: needs 1 <= next < t <= T, got t = " + std::to_string(t) + ", next = " + std::to_string(next));
    const int64_t n = int64_t(rows) * dim;
    const double ab = s.alpha_bar[size_t(t)], ab_next = s.alpha_bar[size_t(next)];
    const double sigma = std::sqrt((1.0 - ab) / ab), sigma_next = std::sqrt((1.0 - ab_next) / ab_next);
    const double a = std::sqrt(ab), a_next = std::sqrt(ab_next);  // x = a xb
    // BEGIN SOLUTION L12.1
    // the Euler step (12.2) to a trial point, as x (not xb), where the network is called again
    for (int64_t i = 0; i < n; ++i) probe[i] = float((x[i] / a + (sigma_next - sigma) * eps[i]) * a_next);
    eps_fn(eps_next, probe, rows, next);
    // (12.4): the step again from xb, with the mean of the two slopes
    for (int64_t i = 0; i < n; ++i) {
        const double slope = 0.5 * (double(eps[i]) + eps_next[i]);
        x[i] = float((x[i] / a + (sigma_next - sigma) * slope) * a_next);
    }
    // END SOLUTION
}

void ode_dpmpp2m_step(float* x, int64_t n, const Schedule& s, int t, int next, const float* eps, double* x0_last,
                      double h_last) {
    // (12.5) in x: x_next = (s_next / s) x - a_next (e^-h - 1) D, with a = sqrt(ab), s = sqrt(1 - ab),
    // h = lambda_next - lambda (lambda = log(a / s) = -log sigma), and D the data prediction
    // extrapolated in lambda from the last two (12.6) when there are two (h_last > 0), not on the last
    // step, to sigma = 0, where e^-h = 0 and x_next = D.
    const double ab = s.alpha_bar[size_t(t)], ab_next = s.alpha_bar[size_t(next)];
    const double a = std::sqrt(ab), a_next = std::sqrt(ab_next);
    const double sv = std::sqrt(1.0 - ab), sv_next = std::sqrt(1.0 - ab_next);
    const bool last = next == 0, second_order = h_last > 0.0 && !last;
    const double h = last ? 0.0 : dmath::log(ode_sigma(s, t) / ode_sigma(s, next));
    const double r = second_order ? h_last / h : 0.0;
    const double e = last ? 0.0 : dmath::exp(-h);
    for (int64_t i = 0; i < n; ++i) {
        const double x0 = (x[i] - sv * eps[i]) / a;
        const double d = second_order ? (1.0 + 0.5 / r) * x0 - (0.5 / r) * x0_last[i] : x0;
        x0_last[i] = x0;
        x[i] = float(last ? d : (sv_next / sv) * x[i] - a_next * (e - 1.0) * d);
    }
}

int ode_solve(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& timesteps,
              OdeSolver solver) {
    if (timesteps.empty()) fail("ode_solve: no timesteps");
    for (size_t k = 0; k < timesteps.size(); ++k)
        if (timesteps[k] < 1 || timesteps[k] > s.T || (k > 0 && timesteps[k] >= timesteps[k - 1]))
            fail("ode_solve: the timesteps must decrease strictly within 1..T = " + std::to_string(s.T));
    const int64_t n = int64_t(rows) * dim;
    std::vector<float> eps(static_cast<size_t>(n)), probe, eps_next;
    if (solver == OdeSolver::Heun) probe.resize(size_t(n)), eps_next.resize(size_t(n));
    std::vector<double> x0_last(solver == OdeSolver::DpmPP2M ? size_t(n) : 0);  // the previous data prediction
    int calls = 0;
    double h_last = 0.0;
    for (size_t k = 0; k < timesteps.size(); ++k) {
        const int t = timesteps[k], next = k + 1 < timesteps.size() ? timesteps[k + 1] : 0;
        eps_fn(eps.data(), x, rows, t);
        ++calls;
        if (solver == OdeSolver::Euler || (solver == OdeSolver::Heun && next == 0)) {
            ode_euler_step(x, n, s, t, next, eps.data());
        } else if (solver == OdeSolver::Heun) {
            ode_heun_step(x, rows, dim, s, eps_fn, t, next, eps.data(), probe.data(), eps_next.data());
            ++calls;
        } else {
            ode_dpmpp2m_step(x, n, s, t, next, eps.data(), x0_last.data(), h_last);
            if (next > 0) h_last = dmath::log(ode_sigma(s, t) / ode_sigma(s, next));
        }
    }
    return calls;
}

}  // namespace ddpm
