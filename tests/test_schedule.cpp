// Noise schedules (task L01.1) against values known from the seeds and the papers.
#include <doctest/doctest.h>

#include <cmath>

#include "diffusion/schedule.h"

using namespace ddpm;

// doctest's Approx allows epsilon * (scale + max(|a|, |b|)) with scale 1 by default: an absolute
// tolerance of about epsilon for values below 1, which 4e-5 and 7e-10 pass whatever the index.
// scale(0) makes it relative, as these values are (5 digits of each).
namespace {
doctest::Approx relative(double value, double rtol) { return doctest::Approx(value).epsilon(rtol).scale(0); }
}  // namespace

TEST_CASE("L01.1 alpha-bar of the linear and constant schedules matches the known values") {
    CHECK(linear_schedule(1000).alpha_bar[1000] == relative(4.0358e-5, 1e-4));
    CHECK(linear_schedule(50).alpha_bar[50] == relative(0.60295, 1e-4));
    CHECK(constant_schedule(100, 0.01511).alpha_bar[100] == relative(0.21816, 1e-4));
    CHECK(constant_schedule(2000, 0.001).alpha_bar[2000] == relative(0.13520, 1e-4));
    CHECK(constant_schedule(200, 0.1).alpha_bar[200] == relative(7.0551e-10, 1e-4));
}

TEST_CASE("L01.1 index convention: entry t is alpha-bar_t, entry 0 is the data") {
    Schedule s = linear_schedule(10, 0.1, 0.5);
    CHECK(s.alpha_bar[0] == 1.0);
    CHECK(s.alpha[1] == doctest::Approx(0.9));
    CHECK(s.alpha_bar[1] == doctest::Approx(0.9));
    CHECK(s.alpha_bar[2] == doctest::Approx(0.9 * (1 - (0.1 + 0.4 / 9))));
    CHECK(s.beta[10] == doctest::Approx(0.5));
}

TEST_CASE("L01.1 beta-tilde and SNR") {
    Schedule s = linear_schedule(1000);
    CHECK(s.beta_tilde[1] == 0.0);  // q(x_0 | x_1, x_0) is a point: no variance
    for (int t = 2; t <= 1000; ++t) {
        const double expected = (1 - s.alpha_bar[size_t(t) - 1]) / (1 - s.alpha_bar[size_t(t)]) * s.beta[size_t(t)];
        REQUIRE(s.beta_tilde[size_t(t)] == doctest::Approx(expected).epsilon(1e-12));
        REQUIRE(s.beta_tilde[size_t(t)] <= s.beta[size_t(t)]);
        REQUIRE(s.snr[size_t(t)] < s.snr[size_t(t) - 1]);
    }
    CHECK(s.snr[500] == doctest::Approx(s.alpha_bar[500] / (1 - s.alpha_bar[500])));
}

TEST_CASE("L01.1 cosine schedule follows f(t)/f(0) until the cap") {
    Schedule s = cosine_schedule(1000);
    auto f = [](double t) { double c = std::cos((t / 1000 + 0.008) / 1.008 * M_PI / 2); return c * c; };
    for (int t : {1, 100, 500, 900}) CHECK(s.alpha_bar[size_t(t)] == doctest::Approx(f(t) / f(0)).epsilon(1e-9));
    CHECK(s.beta[1000] == doctest::Approx(0.999));  // the last beta is capped
}

TEST_CASE("schedules: sigmoid spans the linear range; bad arguments are refused") {
    Schedule s = sigmoid_schedule(1000);
    CHECK(s.beta[1] == doctest::Approx(1e-4 + (0.02 - 1e-4) / (1 + std::exp(6.0))));
    CHECK(s.beta[1000] == doctest::Approx(1e-4 + (0.02 - 1e-4) / (1 + std::exp(-6.0))));
    CHECK_THROWS_WITH(constant_schedule(10, 1.0), "schedule constant(1): beta_1 = 1.000000 is outside (0, 1)");
    CHECK_THROWS_WITH(linear_schedule(0), "linear schedule: T must be in [1, 1000000], got 0");
    CHECK_THROWS_WITH(make_schedule("quadratic", 10), "unknown schedule 'quadratic' (expected linear, constant, cosine or sigmoid)");
    CHECK(make_schedule("constant", 5, 0.2).beta[3] == doctest::Approx(0.2));
}
