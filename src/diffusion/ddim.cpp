#include "diffusion/ddim.h"

#include <cmath>
#include <string>

#include "core/common.h"
#include "core/rng.h"

namespace ddpm {

const char* spacing_name(Spacing s) { return s == Spacing::Uniform ? "uniform" : "quadratic"; }

std::vector<int> ddim_timesteps(int T, int steps, Spacing spacing) {
    if (T < 1) fail("ddim_timesteps: T must be at least 1, got " + std::to_string(T));
    if (steps < 1 || steps > T)
        fail("ddim_timesteps: steps must be in [1, T = " + std::to_string(T) + "], got " + std::to_string(steps));
    std::vector<int> tau;
    // BEGIN SOLUTION L07.2
    int previous = 0;
    for (int i = 1; i <= steps; ++i) {
        const double u = double(i) / steps;
        int t = int(std::lround((spacing == Spacing::Uniform ? u : u * u) * T));
        // keep tau strictly increasing, and leave room for the steps still to come
        t = std::max(t, previous + 1);
        t = std::min(t, T - (steps - i));
        tau.push_back(t);
        previous = t;
    }
    // END SOLUTION
    return tau;
}

void ddim_step(float* x_prev, const float* x_t, const float* eps, const float* z, int64_t n, const Schedule& s, int t,
               int t_prev, float eta) {
    if (t < 1 || t > s.T || t_prev < 0 || t_prev >= t)
        fail("ddim_step: needs 0 <= t_prev < t <= T, got t = " + std::to_string(t) + ", t_prev = " + std::to_string(t_prev));
    // BEGIN SOLUTION L07.1
    const double ab = s.alpha_bar[size_t(t)], ab_prev = s.alpha_bar[size_t(t_prev)];
    const double sigma = eta * std::sqrt((1.0 - ab_prev) / (1.0 - ab)) * std::sqrt(1.0 - ab / ab_prev);
    const double eps_coef = std::sqrt(std::fmax(0.0, 1.0 - ab_prev - sigma * sigma));
    for (int64_t i = 0; i < n; ++i) {
        const double x0_hat = (x_t[i] - std::sqrt(1.0 - ab) * eps[i]) / std::sqrt(ab);
        double v = std::sqrt(ab_prev) * x0_hat + eps_coef * eps[i];
        if (sigma > 0.0) v += sigma * z[i];
        x_prev[i] = float(v);
    }
    // END SOLUTION
}

void ddim_sample(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& tau,
                 float eta, uint64_t seed, const std::function<void(int, const float*)>& record) {
    ddim_sample_clipped(x, rows, dim, s, eps_fn, tau, eta, seed, 0.0f, record);
}

void ddim_sample_clipped(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn,
                         const std::vector<int>& tau, float eta, uint64_t seed, float clip_x0,
                         const std::function<void(int, const float*)>& record) {
    if (tau.empty() || tau.back() != s.T) fail("ddim_sample: the subsequence must end at T = " + std::to_string(s.T));
    const int64_t n = int64_t(rows) * dim;
    std::vector<float> eps(static_cast<size_t>(n)), z(static_cast<size_t>(n), 0.0f);
    Rng noise(seed, kSampleStream);
    if (record) record(s.T, x);
    for (size_t k = tau.size(); k-- > 0;) {
        const int t = tau[k], t_prev = k > 0 ? tau[k - 1] : 0;
        eps_fn(eps.data(), x, rows, t);
        if (clip_x0 > 0.0f) {
            const double ab = s.alpha_bar[size_t(t)], a = std::sqrt(ab), b = std::sqrt(1.0 - ab);
            for (int64_t i = 0; i < n; ++i) {
                const double x0 = std::fmin(std::fmax((x[i] - b * eps[size_t(i)]) / a, -double(clip_x0)), double(clip_x0));
                eps[size_t(i)] = float((x[i] - a * x0) / b);
            }
        }
        if (eta > 0.0f) noise.fill_normal(z.data(), n);
        ddim_step(x, x, eps.data(), z.data(), n, s, t, t_prev, eta);
        if (record) record(t_prev, x);
    }
}

void ddim_invert(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const std::vector<int>& tau) {
    const int64_t n = int64_t(rows) * dim;
    std::vector<float> eps(static_cast<size_t>(n));
    int t_prev = 0;
    for (int t : tau) {
        eps_fn(eps.data(), x, rows, t);  // eps(x_{t_prev}, t): the noise direction at the next level
        const double ab = s.alpha_bar[size_t(t)], ab_prev = s.alpha_bar[size_t(t_prev)];
        for (int64_t i = 0; i < n; ++i) {
            const double x0_hat = (x[i] - std::sqrt(1.0 - ab_prev) * eps[size_t(i)]) / std::sqrt(ab_prev);
            x[i] = float(std::sqrt(ab) * x0_hat + std::sqrt(1.0 - ab) * eps[size_t(i)]);
        }
        t_prev = t;
    }
}

}  // namespace ddpm
