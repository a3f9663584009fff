// The forward process: one step (L01.2) and the closed form (L01.3). The moment check of lesson 02
// (L02.1) is tested in test_stats.cpp.
#include <doctest/doctest.h>

#include <cmath>

#include "diffusion/diffusion.h"
#include "helpers.h"
#include "diffusion/stats.h"

using namespace ddpm;

TEST_CASE("L01.2 q_step: one step by hand, and in place") {
    Schedule s = constant_schedule(10, 0.36);  // sqrt(1 - beta) = 0.8, sqrt(beta) = 0.6
    float x[3] = {1.0f, -2.0f, 0.5f}, eps[3] = {0.5f, 1.0f, -1.0f}, out[3];
    q_step(out, x, eps, 3, s, 4);
    CHECK(out[0] == doctest::Approx(0.8 + 0.3));
    CHECK(out[1] == doctest::Approx(-1.6 + 0.6));
    CHECK(out[2] == doctest::Approx(0.4 - 0.6));
    q_step(x, x, eps, 3, s, 4);  // x_t may alias x_prev
    CHECK(x[1] == doctest::Approx(-1.0));
    CHECK_THROWS(q_step(out, x, eps, 3, s, 0));

    // betas that differ from step to step: both factors of step t take beta_t
    Schedule linear = linear_schedule(4, 0.1, 0.4);  // beta_3 = 0.3
    const float y[2] = {1.0f, 0.0f}, noise[2] = {0.0f, 1.0f};
    q_step(out, y, noise, 2, linear, 3);
    CHECK(out[0] == doctest::Approx(std::sqrt(0.7)).epsilon(1e-6).scale(0));
    CHECK(out[1] == doctest::Approx(std::sqrt(0.3)).epsilon(1e-6).scale(0));
}

TEST_CASE("L01.2 q_step: T steps from data give the analytic moments") {
    Schedule s = linear_schedule(200, 1e-3, 0.05);
    const int64_t n = 200000;
    std::vector<float> x(n, 2.0f), eps(n);  // x_0 = 2 for every sample: mean 2, variance 0
    Rng rng(5, 0);
    for (int t = 1; t <= s.T; ++t) {
        rng.fill_normal(eps.data(), n);
        q_step(x.data(), x.data(), eps.data(), n, s, t);
    }
    Moments m = sample_moments(x.data(), n);
    const double mean = forward_mean(2.0, s, s.T), var = forward_var(0.0, s, s.T);
    CHECK(std::fabs(m.mean - mean) < 5 * std::sqrt(var / n));
    CHECK(std::fabs(m.var - var) < 5 * var * std::sqrt(2.0 / n));
}

TEST_CASE("L01.3 q_sample: by hand, and t = 0 is the data") {
    Schedule s = constant_schedule(2, 0.36);  // alpha_bar_2 = 0.64^2
    float x0[2] = {1.0f, -1.0f}, eps[2] = {1.0f, 2.0f}, out[2];
    q_sample(out, x0, eps, 2, s, 2);
    const double a = 0.64;  // sqrt(alpha_bar_2)
    CHECK(out[0] == doctest::Approx(a + std::sqrt(1 - a * a)));
    CHECK(out[1] == doctest::Approx(-a + 2 * std::sqrt(1 - a * a)));
    q_sample(out, x0, eps, 2, s, 0);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == -1.0f);
}

TEST_CASE("L01.3 q_sample agrees in distribution with T steps of q_step (KS test)") {
    Schedule s = linear_schedule(100, 1e-3, 0.05);
    const int64_t n = 20000;
    // x_0: half at -1.5, half at +1.5, so that x_t is bimodal for small t
    std::vector<float> x0(n), stepwise(n), direct(n), eps(n);
    for (int64_t i = 0; i < n; ++i) x0[size_t(i)] = i % 2 ? 1.5f : -1.5f;
    stepwise = x0;
    Rng step_noise(6, 0), direct_noise(6, 1);
    for (int t = 1; t <= 30; ++t) {
        step_noise.fill_normal(eps.data(), n);
        q_step(stepwise.data(), stepwise.data(), eps.data(), n, s, t);
    }
    direct_noise.fill_normal(eps.data(), n);
    q_sample(direct.data(), x0.data(), eps.data(), n, s, 30);
    KSResult ks = ks_two_sample(stepwise, direct);
    CHECK(ks.p_value > 1e-3);
    // and a closed form with the wrong variance (alpha-bar_t in place of 1 - alpha-bar_t) is caught
    for (int64_t i = 0; i < n; ++i)
        direct[size_t(i)] = float(std::sqrt(s.alpha_bar[30]) * x0[size_t(i)] + std::sqrt(s.alpha_bar[30]) * eps[size_t(i)]);
    CHECK(ks_two_sample(stepwise, direct).p_value < 1e-6);
}
