// Flow matching (diffusion/flow.h, lesson 13): the loss (task L13.1), the solvers against an ODE with
// a known solution, the conversions between v, x_0 and eps.
//
// The known answer: for data x_0 ~ N(0, c^2) the point x_s = (1 - s) x_0 + s eps is N(0, sigma_s^2),
// sigma_s^2 = (1 - s)^2 c^2 + s^2, and the best velocity E[eps - x_0 | x_s = x] is linear in x,
//   v*(x, s) = x (s - (1 - s) c^2) / sigma_s^2 = x (d sigma_s / d s) / sigma_s,
// so the ODE d x / d s = v* is solved by x(s) = x(1) sigma_s / sigma_1: from s = 1 to s = 0, x(0) = c x(1).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diffusion/flow.h"
#include "helpers.h"

using namespace ddpm;

namespace {

const double kC = 0.5;  // the data's standard deviation

double gaussian_velocity(double x, double s) {
    const double var = (1.0 - s) * (1.0 - s) * kC * kC + s * s;
    return x * (s - (1.0 - s) * kC * kC) / var;
}

const VelocityFunction exact_velocity = [](float* v, const float* x, int rows, double s) {
    for (int i = 0; i < rows; ++i) v[i] = float(gaussian_velocity(x[i], s));
};

// s = 1, 1 - 1/N, ..., 0 (exact, not on a network's grid of T)
std::vector<double> uniform_grid(int steps) {
    std::vector<double> g;
    for (int i = 0; i <= steps; ++i) g.push_back(double(steps - i) / steps);
    return g;
}

// |x(0) - c x(1)| from x(1) = 1 with N steps
double error_of(FlowSolver solver, int steps, int* calls = nullptr) {
    float x = 1.0f;
    const int c = flow_solve(&x, 1, 1, exact_velocity, uniform_grid(steps), solver);
    if (calls) *calls = c;
    return std::fabs(double(x) - kC);
}

double order(FlowSolver solver, int steps) {
    return std::log(error_of(solver, steps) / error_of(solver, 4 * steps)) / std::log(4.0);
}

EpsModelConfig small_model(int dim) {
    EpsModelConfig c;
    c.dim = dim;
    c.emb_dim = 8;
    c.hidden = 16;
    c.layers = 2;
    return c;
}

}  // namespace

TEST_CASE("flow: the grid runs from s = 1 to s = 0 on the network's timesteps") {
    const std::vector<double> g = flow_grid(4);
    REQUIRE(g.size() == 5);
    CHECK(g == std::vector<double>{1.0, 0.75, 0.5, 0.25, 0.0});
    const std::vector<double> odd = flow_grid(3, 1000);  // round(1000 i / 3) / 1000
    CHECK(odd == std::vector<double>{1.0, 0.667, 0.333, 0.0});
    for (int steps : {1, 7, 999, 1000}) {
        const std::vector<double> h = flow_grid(steps);
        CHECK(h.front() == 1.0);
        CHECK(h.back() == 0.0);
        for (size_t k = 1; k < h.size(); ++k) CHECK(h[k] < h[k - 1]);
    }
    CHECK_THROWS(flow_grid(0));
    CHECK_THROWS(flow_grid(1001));
    float x = 0.0f;
    CHECK_THROWS(flow_solve(&x, 1, 1, exact_velocity, {1.0, 1.0}, FlowSolver::Euler));
    CHECK_THROWS(flow_solve(&x, 1, 1, exact_velocity, {1.5, 0.0}, FlowSolver::Euler));
    Rng rng(3, 0);
    const EpsModel model(small_model(1), rng);
    float v = 0.0f;
    CHECK_THROWS_WITH(model_velocity_function(model)(&v, &x, 1, 0.0005),
                      "model_velocity_function: s = 0.0005 is not on the network's grid t / 1000");
}

TEST_CASE("flow: Euler makes N calls, Heun 2 N (to s = 0 with its second call); the record sees every grid point") {
    int calls = 0;
    error_of(FlowSolver::Euler, 10, &calls);
    CHECK(calls == 10);
    error_of(FlowSolver::Heun, 10, &calls);
    CHECK(calls == 20);
    std::vector<double> at;
    std::vector<double> seen_s;
    const VelocityFunction spy = [&](float* v, const float* x, int rows, double s) {
        seen_s.push_back(s);
        exact_velocity(v, x, rows, s);
    };
    float x = 1.0f;
    flow_solve(&x, 1, 1, spy, uniform_grid(4), FlowSolver::Heun, [&](int k, const float* xk) {
        CHECK(k == int(at.size()));
        at.push_back(xk[0]);
    });
    CHECK(at.size() == 5);
    CHECK(at.front() == 1.0);
    CHECK(seen_s == std::vector<double>{1.0, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25, 0.0});
}

TEST_CASE("flow: on the Gaussian's exact answer Euler converges with order 1, Heun with order 2") {
    const double euler = order(FlowSolver::Euler, 16), heun = order(FlowSolver::Heun, 16);
    CAPTURE(euler);
    CAPTURE(heun);
    CHECK(euler == doctest::Approx(1.0).epsilon(0.2).scale(0));
    CHECK(heun == doctest::Approx(2.0).epsilon(0.2).scale(0));
    // at equal calls Heun is ahead
    CHECK(error_of(FlowSolver::Heun, 16) < error_of(FlowSolver::Euler, 32) / 4);
    // a straight field (the velocity constant along each path) is solved exactly by one Euler step
    const VelocityFunction constant = [](float* v, const float*, int rows, double) {
        for (int i = 0; i < rows; ++i) v[i] = 0.75f;
    };
    float x = 2.0f;
    flow_solve(&x, 1, 1, constant, {1.0, 0.0}, FlowSolver::Euler);
    CHECK(x == doctest::Approx(1.25));
}

TEST_CASE("flow: v, x_0 and eps convert into one another on the straight path") {
    const std::vector<float> x0 = {0.3f, -1.2f, 2.0f}, eps = {-0.7f, 0.4f, 1.1f};
    for (double s : {0.1, 0.5, 0.9}) {
        CAPTURE(s);
        std::vector<float> x_s(3), v(3), x0_hat(3), eps_hat(3), v_hat(3);
        for (int i = 0; i < 3; ++i) {
            x_s[size_t(i)] = float((1.0 - s) * x0[size_t(i)] + s * eps[size_t(i)]);
            v[size_t(i)] = eps[size_t(i)] - x0[size_t(i)];
        }
        flow_x0_eps_from_v(x0_hat.data(), eps_hat.data(), x_s.data(), v.data(), 3, s);
        flow_v_from_eps(v_hat.data(), x_s.data(), eps.data(), 3, s);
        for (size_t i = 0; i < 3; ++i) {
            CHECK(x0_hat[i] == doctest::Approx(x0[i]).epsilon(1e-5));
            CHECK(eps_hat[i] == doctest::Approx(eps[i]).epsilon(1e-5));
            CHECK(v_hat[i] == doctest::Approx(v[i]).epsilon(1e-5));
        }
    }
}

// ---- Task L13.1: the flow-matching loss --------------------------------------------------------

TEST_CASE("L13.1 flow loss: the network sees (1 - s) x_0 + s eps at t = s T, and is scored against eps - x_0") {
    Rng rng(4, 0);
    const EpsModel model(small_model(2), rng);
    const int T = 1000;
    const Tensor x0 = testing_helpers::randn(Shape{4, 2}, 80, false);
    const Tensor eps = testing_helpers::randn(Shape{4, 2}, 81, false);
    const std::vector<int> t = {0, 250, 700, 1000};
    Tensor x_s = Tensor::zeros(Shape{4, 2});
    std::vector<float> v(8);
    for (int b = 0; b < 4; ++b)
        for (int d = 0; d < 2; ++d) {
            const int i = b * 2 + d;
            const double s = t[size_t(b)] / 1000.0;
            x_s.data()[i] = float((1.0 - s) * x0.data()[i] + s * eps.data()[i]);
            v[size_t(i)] = eps.data()[i] - x0.data()[i];
        }
    // at s = 0 the data itself, at s = 1 the noise itself
    CHECK(x_s.data()[0] == x0.data()[0]);
    CHECK(x_s.data()[7] == eps.data()[7]);
    const Tensor expected_pred = model.forward(x_s, {0.0f, 250.0f, 700.0f, 1000.0f});
    double expected = 0.0;
    for (int i = 0; i < 8; ++i) {
        const double diff = double(expected_pred.data()[i]) - v[size_t(i)];
        expected += diff * diff / 8.0;
    }
    Tensor prediction;
    const Tensor loss = flow_loss(model, x0, t, eps, T, &prediction);
    CHECK(loss.item() == doctest::Approx(expected).epsilon(1e-5));
    REQUIRE(prediction.shape() == Shape{4, 2});
    for (int i = 0; i < 8; ++i) CHECK(prediction.data()[i] == doctest::Approx(expected_pred.data()[i]).epsilon(1e-5));
}

TEST_CASE("L13.1 flow training: the trained velocity is the Gaussian's v*, and Heun's samples have its spread") {
    // 1-D data N(0, c^2); the best velocity is linear (v* above). 1,500 steps of a small network.
    const int n = 4000;
    std::vector<float> data(static_cast<size_t>(n));
    Rng(6, 0).fill_normal(data.data(), n, 0.0f, float(kC));
    EpsModelConfig mc = small_model(1);
    mc.hidden = 32;
    TrainConfig tc;
    tc.seed = 7;
    tc.lr = 3e-3f;
    FlowTrainer trainer(mc, tc);
    double first = 0.0, last = 0.0;
    const int steps = 1500;
    for (int k = 0; k < steps; ++k) {
        const float loss = trainer.train_step(data.data(), n).loss;
        if (k < 50) first += loss / 50.0;
        if (k >= steps - 200) last += loss / 200.0;
    }
    // the loss's floor is E Var(eps - x_0 | x_s) = E over s of c^2 / sigma_s^2 (the conditional variance
    // of a Gaussian pair), which is pi / 4 for c = 0.5; an untrained network starts near E (eps - x_0)^2 = 1 + c^2
    CAPTURE(first);
    CAPTURE(last);
    CHECK(last < 0.85);
    CHECK(last > 0.7);
    const EpsModel ema = trainer.ema_model();
    const VelocityFunction v = model_velocity_function(ema);
    for (double s : {0.2, 0.5, 0.8})
        for (float x : {-1.0f, 0.5f}) {
            CAPTURE(s);
            CAPTURE(x);
            float got = 0.0f;
            v(&got, &x, 1, s);
            CHECK(std::fabs(got - gaussian_velocity(x, s)) < 0.15);
        }
    // samples: x(1) ~ N(0, 1) carried to s = 0 have standard deviation near c
    const int rows = 2000;
    std::vector<float> x(static_cast<size_t>(rows));
    Rng(8, 0).fill_normal(x.data(), rows);
    flow_solve(x.data(), rows, 1, v, flow_grid(10), FlowSolver::Heun);
    double m2 = 0.0;
    for (float xi : x) m2 += double(xi) * xi / rows;
    CHECK(std::sqrt(m2) == doctest::Approx(kC).epsilon(0.1));
}
