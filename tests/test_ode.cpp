// The probability-flow ODE solvers (diffusion/ode.h) against an ODE with a known solution: for data
// x_0 ~ N(0, c^2) the best eps is linear in x_t, eps*(x_t, t) = sqrt(1 - ab_t) x_t / (ab_t c^2 + 1 - ab_t),
// and (12.1) becomes d xb / d sigma = sigma xb / (c^2 + sigma^2), solved by
// xb(sigma) = xb(sigma_1) sqrt((c^2 + sigma^2) / (c^2 + sigma_1^2)). Each solver's error at the data
// end, against the number of steps, falls with the order it claims.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diffusion/ddim.h"
#include "diffusion/ode.h"
#include "diffusion/schedule.h"

using namespace ddpm;

namespace {

const double kC = 0.5;  // the data's standard deviation

EpsFunction gaussian_eps(const Schedule& s) {
    return [&s](float* eps, const float* x, int rows, int t) {
        const double ab = s.alpha_bar[size_t(t)];
        for (int i = 0; i < rows; ++i) eps[i] = float(std::sqrt(1.0 - ab) * x[i] / (ab * kC * kC + 1.0 - ab));
    };
}

// the exact x_0 from x at timestep t
double exact_x0(const Schedule& s, int t, double x_t) {
    const double sigma = ode_sigma(s, t);
    return x_t / std::sqrt(s.alpha_bar[size_t(t)]) * kC / std::sqrt(kC * kC + sigma * sigma);
}

// |error| at the data end of one solve from x_T = 1 with `steps` steps
double error_of(const Schedule& s, OdeSolver solver, OdeSpacing spacing, int steps, int* calls = nullptr) {
    const std::vector<int> t = ode_timesteps(s, steps, spacing);
    float x = 1.0f;
    const int c = ode_solve(&x, 1, 1, s, gaussian_eps(s), t, solver);
    if (calls) *calls = c;
    return std::fabs(double(x) - exact_x0(s, t[0], 1.0));
}

// the slope of log(error) against log(steps) between `steps` and 4 x steps
double order(const Schedule& s, OdeSolver solver, OdeSpacing spacing, int steps) {
    return std::log(error_of(s, solver, spacing, steps) / error_of(s, solver, spacing, 4 * steps)) / std::log(4.0);
}

}  // namespace

TEST_CASE("ode: the timesteps decrease from T, as many as asked, in every spacing") {
    const Schedule s = cosine_schedule(1000);
    for (OdeSpacing spacing : {OdeSpacing::Uniform, OdeSpacing::Quadratic, OdeSpacing::Karras})
        for (int steps : {1, 2, 5, 10, 50, 1000}) {
            CAPTURE(ode_spacing_name(spacing));
            CAPTURE(steps);
            const std::vector<int> t = ode_timesteps(s, steps, spacing);
            REQUIRE(int(t.size()) == steps);
            CHECK(t.front() == 1000);
            for (size_t k = 1; k < t.size(); ++k) CHECK(t[k] < t[k - 1]);
            CHECK(t.back() >= 1);
        }
    // Karras's steps crowd the small sigmas: its last step is nearer t = 1 than uniform's
    CHECK(ode_timesteps(s, 10, OdeSpacing::Karras).back() < ode_timesteps(s, 10, OdeSpacing::Uniform).back());
    CHECK_THROWS(ode_timesteps(s, 0, OdeSpacing::Uniform));
    float x = 0.0f;
    CHECK_THROWS(ode_solve(&x, 1, 1, s, gaussian_eps(s), {5, 5}, OdeSolver::Euler));
    CHECK_THROWS(ode_solve(&x, 1, 1, s, gaussian_eps(s), {1001}, OdeSolver::Euler));
}

TEST_CASE("ode: Euler is DDIM with eta = 0; the calls are N, 2N - 1 and N") {
    const Schedule s = linear_schedule(1000);
    const std::vector<int> t = ode_timesteps(s, 20, OdeSpacing::Uniform);
    std::vector<float> a = {1.0f, -0.5f, 2.0f}, b = a;
    CHECK(ode_solve(a.data(), 3, 1, s, gaussian_eps(s), t, OdeSolver::Euler) == 20);
    ddim_sample(b.data(), 3, 1, s, gaussian_eps(s), ddim_timesteps(1000, 20, Spacing::Uniform), 0.0f, 0);
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
    int calls = 0;
    error_of(s, OdeSolver::DpmPP2M, OdeSpacing::Uniform, 20, &calls);
    CHECK(calls == 20);
}

// A schedule on which sigma_t is a smooth function of t, sigma_t = sigma_max (t / T)^2: the solvers'
// grids of N uniform steps (N dividing T) then refine one another exactly, and the orders show clean.
// (On the course's schedules the integer timesteps and sigma_T in the hundreds or thousands put the
// first steps far from the asymptotic regime at these step counts; lesson 12 shows that.)
Schedule smooth_schedule(int T, double sigma_max) {
    std::vector<double> beta(size_t(T) + 1, 0.0);
    double ab_prev = 1.0;
    for (int t = 1; t <= T; ++t) {
        const double u = double(t) / T, sigma = sigma_max * u * u, ab = 1.0 / (1.0 + sigma * sigma);
        beta[size_t(t)] = 1.0 - ab / ab_prev;
        ab_prev = ab;
    }
    return schedule_from_betas("smooth", beta);
}

TEST_CASE("ode: on the Gaussian's exact answer, Euler converges with order 1, DPM-Solver++(2M) with order 2") {
    const Schedule s = smooth_schedule(4096, 20.0);
    // from 128 to 512 steps: DPM-Solver++(2M) reaches its order later than Heun on this grid, whose
    // last steps are long in lambda = -log sigma (its error falls 3.5x from 32 to 64 steps, 4.7x from
    // 64 to 128 and 4.5x from 128 to 256; Heun's 3.9x, 4.0x and 4.0x)
    const double euler = order(s, OdeSolver::Euler, OdeSpacing::Uniform, 128),
                 dpm = order(s, OdeSolver::DpmPP2M, OdeSpacing::Uniform, 128);
    CAPTURE(euler);
    CAPTURE(dpm);
    CHECK(euler == doctest::Approx(1.0).epsilon(0.2).scale(0));
    CHECK(dpm == doctest::Approx(2.0).epsilon(0.1).scale(0));
    // at equal network calls the second-order solver is ahead of Euler
    CHECK(error_of(s, OdeSolver::DpmPP2M, OdeSpacing::Uniform, 128) < error_of(s, OdeSolver::Euler, OdeSpacing::Uniform, 128) / 4);
}

// ---- Task L12.1: the Heun step -----------------------------------------------------------------

TEST_CASE("L12.1 Heun: the trial point is Euler's step, the network is called there once, at the next timestep") {
    const Schedule s = linear_schedule(1000);
    const int t = 700, next = 400;
    const std::vector<float> x = {0.5f, -1.25f, 2.0f, 0.0f};
    const std::vector<float> eps = {0.1f, -0.3f, 0.7f, 1.0f};
    std::vector<float> euler = x;
    ode_euler_step(euler.data(), 4, s, t, next, eps.data());
    std::vector<int> called_at;
    std::vector<float> seen;
    const EpsFunction record = [&](float* out, const float* xt, int rows, int tt) {
        called_at.push_back(tt);
        seen.assign(xt, xt + rows * 2);
        for (int i = 0; i < rows * 2; ++i) out[i] = 0.25f * xt[i];
    };
    std::vector<float> y = x, probe(4), eps_next(4);
    ode_heun_step(y.data(), 2, 2, s, record, t, next, eps.data(), probe.data(), eps_next.data());
    REQUIRE(called_at.size() == 1);
    CHECK(called_at[0] == next);
    for (int i = 0; i < 4; ++i) {
        CAPTURE(i);
        CHECK(seen[size_t(i)] == doctest::Approx(euler[size_t(i)]).epsilon(1e-6));
        CHECK(eps_next[size_t(i)] == doctest::Approx(0.25 * euler[size_t(i)]).epsilon(1e-6));
    }
}

TEST_CASE("L12.1 Heun: exact when the slope is linear in sigma, where Euler is not") {
    // eps(x, t) = sigma_t for every value: (12.3) is d xb / d sigma = sigma, so
    // xb(sigma') = xb(sigma) + (sigma'^2 - sigma^2) / 2, which the trapezoid rule (12.4) gets exactly
    const Schedule s = linear_schedule(1000);
    const EpsFunction linear = [&s](float* out, const float*, int rows, int t) {
        for (int i = 0; i < rows; ++i) out[i] = float(ode_sigma(s, t));
    };
    for (const auto& step : std::vector<std::pair<int, int>>{{1000, 600}, {300, 299}, {120, 1}}) {
        const int t = step.first, next = step.second;
        CAPTURE(t);
        CAPTURE(next);
        const double sg = ode_sigma(s, t), sg_next = ode_sigma(s, next);
        const double a = std::sqrt(s.alpha_bar[size_t(t)]), a_next = std::sqrt(s.alpha_bar[size_t(next)]);
        for (float x0 : {1.0f, -0.4f}) {
            std::vector<float> x = {x0}, eps(1), probe(1), eps_next(1);
            linear(eps.data(), x.data(), 1, t);
            std::vector<float> euler = x;
            ode_euler_step(euler.data(), 1, s, t, next, eps.data());
            ode_heun_step(x.data(), 1, 1, s, linear, t, next, eps.data(), probe.data(), eps_next.data());
            const double exact = (x0 / a + 0.5 * (sg_next * sg_next - sg * sg)) * a_next;
            CHECK(x[0] == doctest::Approx(exact).epsilon(1e-5));
            if (t - next > 1) CHECK(std::fabs(euler[0] - exact) > 1e-3 * std::fabs(exact));
        }
    }
}

TEST_CASE("L12.1 Heun: 2N - 1 calls, order 2 on the Gaussian's exact answer") {
    int calls = 0;
    error_of(linear_schedule(1000), OdeSolver::Heun, OdeSpacing::Uniform, 20, &calls);
    CHECK(calls == 39);
    const Schedule s = smooth_schedule(4096, 20.0);
    const double heun = order(s, OdeSolver::Heun, OdeSpacing::Uniform, 128);
    CAPTURE(heun);
    CHECK(heun == doctest::Approx(2.0).epsilon(0.1).scale(0));
    // at equal network calls Heun is ahead of Euler
    CHECK(error_of(s, OdeSolver::Heun, OdeSpacing::Uniform, 64) < error_of(s, OdeSolver::Euler, OdeSpacing::Uniform, 128) / 4);
}
