// Lesson 02's statistics (diffusion/stats.h): the z-scores of sample moments (L02.1) and the
// two-sample Kolmogorov-Smirnov test.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diffusion/diffusion.h"
#include "diffusion/stats.h"
#include "helpers.h"

using namespace ddpm;

TEST_CASE("L02.1 check_moments: z-scores by hand") {
    Moments m;
    m.n = 100;
    m.mean = 0.3;
    m.var = 1.2;
    m.m4 = 4.44;  // m4 - var^2 = 3
    MomentCheck c = check_moments(m, 0.1, 1.0);
    CHECK(c.z_mean == doctest::Approx(0.2 / std::sqrt(1.0 / 100)));
    CHECK(c.z_var == doctest::Approx(0.2 / std::sqrt(3.0 / 100)));
}

TEST_CASE("L02.1 check_moments: small for the right formula, large for the wrong one") {
    Schedule s = linear_schedule(1000);
    const int64_t n = 50000;
    std::vector<float> x0(n), eps(n), xt(n);
    Rng(8, 0).fill_normal(x0.data(), n, 1.0f, 2.0f);  // mean 1, variance 4
    Rng(8, 1).fill_normal(eps.data(), n);
    const int t = 300;
    q_sample(xt.data(), x0.data(), eps.data(), n, s, t);
    MomentCheck right = check_moments(sample_moments(xt.data(), n), forward_mean(1.0, s, t), forward_var(4.0, s, t));
    CHECK(std::fabs(right.z_mean) < 5);
    CHECK(std::fabs(right.z_var) < 5);
    // the variance written with alpha-bar_t in place of 1 - alpha-bar_t
    const double wrong_var = s.alpha_bar[t] * 4.0 + s.alpha_bar[t];
    MomentCheck wrong = check_moments(sample_moments(xt.data(), n), forward_mean(1.0, s, t), wrong_var);
    CHECK(std::fabs(wrong.z_var) > 10);
}

TEST_CASE("stats: KS test on equal and on shifted normals; Kolmogorov Q") {
    std::vector<float> a(5000), b(5000), c(5000);
    Rng(9, 0).fill_normal(a.data(), 5000);
    Rng(9, 1).fill_normal(b.data(), 5000);
    Rng(9, 2).fill_normal(c.data(), 5000, 0.2f);
    CHECK(ks_two_sample(a, b).p_value > 1e-3);
    CHECK(ks_two_sample(a, c).p_value < 1e-6);
    CHECK(kolmogorov_q(1.358) == doctest::Approx(0.05).epsilon(0.02));  // the 5% critical value
    CHECK(ks_two_sample(a, a).D == 0.0);
}
