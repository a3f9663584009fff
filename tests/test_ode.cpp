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
    error_of(s, OdeSolver::Heun, OdeSpacing::Uniform, 20, &calls);
    CHECK(calls == 39);
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

TEST_CASE("ode: on the Gaussian's exact answer, Euler converges with order 1, Heun and DPM-Solver++(2M) with order 2") {
    const Schedule s = smooth_schedule(4096, 20.0);
    // from 128 to 512 steps: DPM-Solver++(2M) reaches its order later than Heun on this grid, whose
    // last steps are long in lambda = -log sigma (its error falls 3.5x from 32 to 64 steps, 4.7x from
    // 64 to 128 and 4.5x from 128 to 256; Heun's 3.9x, 4.0x and 4.0x)
    const double euler = order(s, OdeSolver::Euler, OdeSpacing::Uniform, 128),
                 heun = order(s, OdeSolver::Heun, OdeSpacing::Uniform, 128),
                 dpm = order(s, OdeSolver::DpmPP2M, OdeSpacing::Uniform, 128);
    CAPTURE(euler);
    CAPTURE(heun);
    CAPTURE(dpm);
    CHECK(euler == doctest::Approx(1.0).epsilon(0.2).scale(0));
    CHECK(heun == doctest::Approx(2.0).epsilon(0.1).scale(0));
    CHECK(dpm == doctest::Approx(2.0).epsilon(0.1).scale(0));
    // at equal network calls the second-order solvers are ahead of Euler
    CHECK(error_of(s, OdeSolver::DpmPP2M, OdeSpacing::Uniform, 128) < error_of(s, OdeSolver::Euler, OdeSpacing::Uniform, 128) / 4);
    CHECK(error_of(s, OdeSolver::Heun, OdeSpacing::Uniform, 64) < error_of(s, OdeSolver::Euler, OdeSpacing::Uniform, 128) / 4);
}
