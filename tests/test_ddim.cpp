// DDIM: the subsequence (L07.2), the update (L07.1), determinism, inversion.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "diffusion/ddim.h"
#include "helpers.h"

using namespace ddpm;

TEST_CASE("L07.2 uniform subsequences") {
    CHECK(ddim_timesteps(1000, 10, Spacing::Uniform) == std::vector<int>{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000});
    std::vector<int> all = ddim_timesteps(50, 50, Spacing::Uniform);
    for (int t = 1; t <= 50; ++t) CHECK(all[size_t(t - 1)] == t);
    CHECK(ddim_timesteps(1000, 1, Spacing::Uniform) == std::vector<int>{1000});
    CHECK(ddim_timesteps(10, 3, Spacing::Uniform) == std::vector<int>{3, 7, 10});
    CHECK_THROWS_WITH(ddim_timesteps(10, 11, Spacing::Uniform), "ddim_timesteps: steps must be in [1, T = 10], got 11");
}

TEST_CASE("L07.2 quadratic subsequences are dense near 0, strictly increasing, and end at T") {
    for (int steps : {5, 10, 50, 100, 999, 1000}) {
        std::vector<int> tau = ddim_timesteps(1000, steps, Spacing::Quadratic);
        REQUIRE(int(tau.size()) == steps);
        CHECK(tau.front() >= 1);
        CHECK(tau.back() == 1000);
        for (size_t i = 1; i < tau.size(); ++i) REQUIRE(tau[i] > tau[i - 1]);
    }
    std::vector<int> q = ddim_timesteps(1000, 10, Spacing::Quadratic);
    CHECK(q[0] == 10);   // (1/10)^2 * 1000
    CHECK(q[4] == 250);  // (5/10)^2 * 1000
}

TEST_CASE("L07.1 with eta = 1 on every step, DDIM is DDPM with sigma^2 = beta-tilde") {
    Schedule s = linear_schedule(200);
    const int n = 16;
    std::vector<float> x(n), eps(n), z(n), a(n), b(n);
    Rng(13, 0).fill_normal(x.data(), n);
    Rng(13, 1).fill_normal(eps.data(), n);
    Rng(13, 2).fill_normal(z.data(), n);
    for (int t : {2, 3, 50, 199, 200}) {
        ddim_step(a.data(), x.data(), eps.data(), z.data(), n, s, t, t - 1, 1.0f);
        p_sample_step(b.data(), x.data(), eps.data(), z.data(), n, s, t, Variance::BetaTilde);
        INFO("t = " << t);
        CHECK(testing_helpers::max_abs_diff(a.data(), b.data(), n) < 1e-5);
    }
}

TEST_CASE("L07.1 eta = 0 with the true eps moves exactly along the closed form") {
    // x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps  ->  x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev) eps
    Schedule s = cosine_schedule(100);
    const int n = 8;
    std::vector<float> x0(n), eps(n), xt(n), out(n), expected(n), z(n, 123.0f);
    Rng(14, 0).fill_normal(x0.data(), n);
    Rng(14, 1).fill_normal(eps.data(), n);
    for (const std::pair<int, int>& step : {std::pair<int, int>{100, 60}, {60, 7}, {7, 0}}) {
        const int t = step.first, t_prev = step.second;  // named, not bound: INFO's lambda captures them
        q_sample(xt.data(), x0.data(), eps.data(), n, s, t);
        ddim_step(out.data(), xt.data(), eps.data(), z.data(), n, s, t, t_prev, 0.0f);
        q_sample(expected.data(), x0.data(), eps.data(), n, s, t_prev);
        INFO("t = " << t << ", t_prev = " << t_prev);
        CHECK(testing_helpers::max_abs_diff(out.data(), expected.data(), n) < 1e-4);
    }
}

TEST_CASE("ddim: eta = 0 is deterministic; inversion and back reconstructs x_0 for an exact eps") {
    // N(m, 1) data: eps*(x_t) = sqrt(1 - ab) (x_t - sqrt(ab) m) is exact.
    const double m = -0.7;
    Schedule s = linear_schedule(1000);
    EpsFunction exact = [&](float* out, const float* x, int rows, int t) {
        const double ab = s.alpha_bar[size_t(t)];
        for (int i = 0; i < rows; ++i) out[i] = float(std::sqrt(1 - ab) * (x[i] - std::sqrt(ab) * m));
    };
    const int n = 20000;
    std::vector<float> a(n), b(n);
    Rng(15, 0).fill_normal(a.data(), n);
    b = a;
    // 200 steps: with 50 the ODE's discretisation error shows in the variance (about 0.94)
    std::vector<int> tau = ddim_timesteps(1000, 200, Spacing::Uniform);
    ddim_sample(a.data(), n, 1, s, exact, tau, 0.0f, 1);
    ddim_sample(b.data(), n, 1, s, exact, tau, 0.0f, 2);  // another noise seed: unused at eta = 0
    CHECK(std::memcmp(a.data(), b.data(), sizeof(float) * n) == 0);
    double mean = 0, var = 0;
    for (float v : a) mean += v / n;
    for (float v : a) var += (v - mean) * (v - mean) / n;
    CHECK(std::fabs(mean - m) < 0.03);
    CHECK(std::fabs(var - 1.0) < 0.05);

    std::vector<float> x0(64), x(64);
    Rng(15, 1).fill_normal(x0.data(), 64, float(m));
    x = x0;
    ddim_invert(x.data(), 64, 1, s, exact, tau);
    ddim_sample(x.data(), 64, 1, s, exact, tau, 0.0f, 0);
    CHECK(testing_helpers::max_abs_diff(x.data(), x0.data(), 64) < 0.05);
}
