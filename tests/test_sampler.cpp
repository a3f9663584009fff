// The reverse process: mu from eps (L04.1) and one ancestral step (L04.2).
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.h"
#include "diffusion/sampler.h"

using namespace ddpm;

TEST_CASE("L04.1 mu from the true eps equals the posterior mean of q(x_{t-1} | x_t, x_0)") {
    Schedule s = linear_schedule(1000);
    const int n = 64;
    std::vector<float> x0(n), eps(n), xt(n), mu_eps(n), mu_post(n);
    Rng(11, 0).fill_normal(x0.data(), n, 0.5f, 1.5f);
    Rng(11, 1).fill_normal(eps.data(), n);
    for (int t : {1, 2, 10, 500, 999, 1000}) {
        q_sample(xt.data(), x0.data(), eps.data(), n, s, t);
        p_mean_from_eps(mu_eps.data(), xt.data(), eps.data(), n, s, t);
        q_posterior_mean(mu_post.data(), x0.data(), xt.data(), n, s, t);
        INFO("t = " << t);
        CHECK(testing_helpers::max_abs_diff(mu_eps.data(), mu_post.data(), n) < 1e-4);
    }
}

TEST_CASE("L04.1 p_mean_from_eps by hand, at t = 1, 2 and 3") {
    // At t = 1, alpha_bar_1 = alpha_1, so sqrt(1 - alpha_bar_t) and the typo sqrt(1 - alpha_t) of
    // [002] eq. 9 and [001] Algorithm 2 line 4 agree there: t = 2 and 3 tell them apart.
    Schedule s = constant_schedule(3, 0.19);  // alpha_t = 0.81 (sqrt 0.9); alpha_bar_t = 0.81^t
    float xt[1] = {1.0f}, eps[1] = {0.5f}, mu[1];
    for (int t : {1, 2, 3}) {
        p_mean_from_eps(mu, xt, eps, 1, s, t);
        const double alpha_bar = std::pow(0.81, t);  // 0.81, 0.6561, 0.531441
        const double right = (1.0 - 0.19 / std::sqrt(1.0 - alpha_bar) * 0.5) / 0.9;
        const double typo = (1.0 - 0.19 / std::sqrt(0.19) * 0.5) / 0.9;
        INFO("t = " << t);
        CHECK(mu[0] == doctest::Approx(right).epsilon(1e-6));
        if (t >= 2) CHECK(std::fabs(right - typo) > 0.05);  // the hand value does tell the typo apart
    }
}

TEST_CASE("L04.2 p_sample_step adds sigma_t z, none at t = 1") {
    Schedule s = linear_schedule(100);
    float xt[2] = {0.3f, -0.2f}, eps[2] = {0.1f, 0.4f}, z[2] = {1.0f, -2.0f}, mu[2], out[2];
    for (int t : {1, 2, 50}) {
        p_mean_from_eps(mu, xt, eps, 2, s, t);
        for (Variance v : {Variance::Beta, Variance::BetaTilde}) {
            p_sample_step(out, xt, eps, z, 2, s, t, v);
            const double sigma = t == 1 ? 0.0 : sigma_of(s, t, v);
            CHECK(out[0] == doctest::Approx(mu[0] + sigma * z[0]));
            CHECK(out[1] == doctest::Approx(mu[1] + sigma * z[1]));
            p_sample_step(out, xt, eps, z, 2, s, t, v, 0.0f);
            CHECK(out[0] == doctest::Approx(mu[0]));
        }
    }
    CHECK(sigma_of(s, 50, Variance::Beta) == doctest::Approx(std::sqrt(s.beta[50])));
    CHECK(sigma_of(s, 50, Variance::BetaTilde) == doctest::Approx(std::sqrt(s.beta_tilde[50])));
}

TEST_CASE("sampler: with the exact eps of N(m, 1) data, DDPM returns N(m, 1)") {
    // For x_0 ~ N(m, 1): x_t ~ N(sqrt(ab) m, 1) and E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) m).
    const double m = 1.5;
    Schedule s = linear_schedule(200, 1e-3, 0.1);
    EpsFunction exact = [&](float* out, const float* x, int rows, int t) {
        const double ab = s.alpha_bar[size_t(t)];
        for (int i = 0; i < rows; ++i) out[i] = float(std::sqrt(1 - ab) * (x[i] - std::sqrt(ab) * m));
    };
    const int n = 20000;
    std::vector<float> x(n);
    Rng(12, 0).fill_normal(x.data(), n);
    SampleOptions o;
    o.seed = 3;
    int calls = 0;
    ddpm_sample(x.data(), n, 1, s, exact, o, [&](int, const float*) { ++calls; });
    CHECK(calls == s.T + 1);
    double mean = 0, var = 0;
    for (float v : x) mean += v / n;
    for (float v : x) var += (v - mean) * (v - mean) / n;
    CHECK(std::fabs(mean - m) < 5 * std::sqrt(1.0 / n));
    CHECK(std::fabs(var - 1.0) < 5 * std::sqrt(2.0 / n) + 0.02);
}

TEST_CASE("sampler: the feature-major forward of sampling agrees with EpsModel::forward") {
    // model_eps_function runs EpsModel::forward_shared_t in chunks of rows; it must agree with the
    // graph-building forward to rounding (its first layer adds the same terms in another order), for
    // plain and residual models and each activation.
    for (bool residual : {false, true})
        for (Activation act : {Activation::GELU, Activation::SiLU, Activation::ReLU}) {
            EpsModelConfig c;
            c.dim = 3;
            c.hidden = 40;  // not a multiple of the 32-column tile
            c.layers = 2;
            c.residual = residual;
            c.act = act;
            Rng init(9, 0);
            const EpsModel model(c, init);
            const int rows = 700;  // two chunks, the second ragged
            std::vector<float> x(size_t(rows) * 3);
            Rng data(10, 0);
            data.fill_normal(x.data(), int64_t(x.size()));
            for (int t : {1, 537, 1000}) {
                std::vector<float> fast(x.size());
                model_eps_function(model)(fast.data(), x.data(), rows, t);
                NoGrad no_grad;
                const Tensor slow = model.forward(Tensor::from(Shape{rows, 3}, x), std::vector<float>(rows, float(t)));
                double diff = 0.0, scale = 0.0;
                for (size_t i = 0; i < fast.size(); ++i) {
                    diff = std::fmax(diff, std::fabs(double(fast[i]) - double(slow.data()[i])));
                    scale = std::fmax(scale, std::fabs(double(slow.data()[i])));
                }
                INFO("residual " << residual << ", " << activation_name(act) << ", t = " << t);
                CHECK(scale > 0.0);
                CHECK(diff <= 1e-5 * scale);
            }
        }
}
