#include "diffusion/sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/common.h"
#include "core/pool.h"
#include "core/rng.h"

namespace ddpm {

namespace {

void check_t(const Schedule& s, int t, const char* who) {
    if (t < 1 || t > s.T)
        fail(std::string(who) + ": t = " + std::to_string(t) + " outside [1, " + std::to_string(s.T) + "]");
}

const int kRowsPerChunk = 512;  // rows of one network evaluation during sampling

}  // namespace

EpsFunction model_eps_function(const EpsModel& model) {
    return [&model](float* eps_out, const float* x_t, int rows, int t) {
        const int dim = model.config.dim;
        const int64_t n_chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
        // Fixed chunks of rows, one network evaluation each, spread over the threads (the kernels
        // inside a chunk then run serially): the same calls, so the same bits, for any thread count.
        parallel_for(n_chunks, [&](int64_t c) {
            const int begin = int(c) * kRowsPerChunk;
            const int count = std::min(kRowsPerChunk, rows - begin);
            eps_forward_shared_t(model, eps_out + int64_t(begin) * dim, x_t + int64_t(begin) * dim, count, t);
        });
    };
}

void p_mean_from_eps(float* mu, const float* x_t, const float* eps, int64_t n, const Schedule& s, int t) {
    check_t(s, t, "p_mean_from_eps");
    // BEGIN SOLUTION L04.1
    const double eps_coef = s.beta[size_t(t)] / std::sqrt(1.0 - s.alpha_bar[size_t(t)]);
    const double scale = 1.0 / std::sqrt(s.alpha[size_t(t)]);
    for (int64_t i = 0; i < n; ++i) mu[i] = float(scale * (x_t[i] - eps_coef * eps[i]));
    // END SOLUTION
}

void q_posterior_mean(float* mu, const float* x0, const float* x_t, int64_t n, const Schedule& s, int t) {
    check_t(s, t, "q_posterior_mean");
    const double ab = s.alpha_bar[size_t(t)], ab_prev = s.alpha_bar[size_t(t) - 1];
    const double c0 = std::sqrt(ab_prev) * s.beta[size_t(t)] / (1.0 - ab);
    const double ct = std::sqrt(s.alpha[size_t(t)]) * (1.0 - ab_prev) / (1.0 - ab);
    for (int64_t i = 0; i < n; ++i) mu[i] = float(c0 * x0[i] + ct * x_t[i]);
}

void predict_x0(float* x0, const float* x_t, const float* eps, int64_t n, const Schedule& s, int t) {
    check_t(s, t, "predict_x0");
    const double ab = s.alpha_bar[size_t(t)];
    for (int64_t i = 0; i < n; ++i) x0[i] = float((x_t[i] - std::sqrt(1.0 - ab) * eps[i]) / std::sqrt(ab));
}

const char* variance_name(Variance v) { return v == Variance::Beta ? "beta" : "beta_tilde"; }

double sigma_of(const Schedule& s, int t, Variance v) {
    return std::sqrt(v == Variance::Beta ? s.beta[size_t(t)] : s.beta_tilde[size_t(t)]);
}

void p_sample_step(float* x_prev, const float* x_t, const float* eps, const float* z, int64_t n, const Schedule& s,
                   int t, Variance v, float sigma_scale) {
    // BEGIN SOLUTION L04.2
    p_mean_from_eps(x_prev, x_t, eps, n, s, t);
    if (t > 1) {
        const float sigma = float(sigma_scale * sigma_of(s, t, v));
        for (int64_t i = 0; i < n; ++i) x_prev[i] += sigma * z[i];
    }
    // END SOLUTION
}

void ddpm_sample(float* x, int rows, int dim, const Schedule& s, const EpsFunction& eps_fn, const SampleOptions& o,
                 const std::function<void(int, const float*)>& record) {
    const int64_t n = int64_t(rows) * dim;
    std::vector<float> eps(static_cast<size_t>(n)), z(static_cast<size_t>(n)), x0(static_cast<size_t>(n));
    Rng noise(o.seed, kSampleStream);
    if (record) record(s.T, x);
    for (int t = s.T; t >= 1; --t) {
        eps_fn(eps.data(), x, rows, t);
        noise.fill_normal(z.data(), n);
        if (o.clip_x0 > 0.0f) {
            // mean through a clipped x_0: keeps image samples inside the data range
            predict_x0(x0.data(), x, eps.data(), n, s, t);
            for (float& v : x0) v = std::min(std::max(v, -o.clip_x0), o.clip_x0);
            q_posterior_mean(x, x0.data(), x, n, s, t);
            if (t > 1) {
                const float sigma = float(o.sigma_scale * sigma_of(s, t, o.variance));
                for (int64_t i = 0; i < n; ++i) x[i] += sigma * z[size_t(i)];
            }
        } else {
            p_sample_step(x, x, eps.data(), z.data(), n, s, t, o.variance, o.sigma_scale);
        }
        if (record) record(t - 1, x);
    }
}

}  // namespace ddpm
