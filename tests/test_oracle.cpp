// The exact optimal noise predictor of Gaussian-mixture data: the closed form of one Gaussian, the
// gradient of log q(x_t) by finite differences, and the regression property E[eps - eps* | x_t] = 0
// by Monte Carlo.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diffusion/data.h"
#include "diffusion/oracle.h"
#include "core/pool.h"
#include "core/rng.h"
#include "diffusion/schedule.h"

using namespace ddpm;

namespace {

// Three 2-D components with different weights and widths, some overlap between the first two.
GaussianMixture uneven_mixture() {
    GaussianMixture gm;
    gm.dim = 2;
    gm.weights = {0.5f, 0.3f, 0.2f};
    gm.means = {-1.0f, 0.5f, 1.5f, 1.0f, 0.0f, -2.0f};
    gm.stds = {0.3f, 0.6f, 0.15f};
    return gm;
}

// log q(x_t) of the forward marginal, in double: log sum_k w_k N(x; sqrt(ab) mu_k, s_k^2 I).
double log_marginal(const std::vector<double>& x, const GaussianMixture& gm, double ab) {
    const int dim = gm.dim;
    std::vector<double> terms;
    double largest = -INFINITY;
    for (int k = 0; k < gm.components(); ++k) {
        const double var = ab * gm.stds[size_t(k)] * gm.stds[size_t(k)] + 1.0 - ab;
        double dist2 = 0.0;
        for (int d = 0; d < dim; ++d) {
            const double diff = x[size_t(d)] - std::sqrt(ab) * gm.means[size_t(k * dim + d)];
            dist2 += diff * diff;
        }
        terms.push_back(std::log(gm.weights[size_t(k)]) - 0.5 * dist2 / var - 0.5 * dim * std::log(2 * M_PI * var));
        largest = std::fmax(largest, terms.back());
    }
    double sum = 0.0;
    for (double v : terms) sum += std::exp(v - largest);
    return largest + std::log(sum);
}

// Mean and standard error of n values.
struct MeanSE {
    double mean, se;
};
MeanSE mean_se(const std::vector<double>& v) {
    double mean = 0.0, var = 0.0;
    for (double x : v) mean += x / double(v.size());
    for (double x : v) var += (x - mean) * (x - mean) / double(v.size() - 1);
    return {mean, std::sqrt(var / double(v.size()))};
}

double mse(const std::vector<float>& prediction, const std::vector<float>& target) {
    double s = 0.0;
    for (size_t i = 0; i < target.size(); ++i) s += (double(prediction[i]) - target[i]) * (double(prediction[i]) - target[i]);
    return s / double(target.size());
}

}  // namespace

TEST_CASE("oracle: one Gaussian component gives the closed form exactly") {
    GaussianMixture gm;
    gm.dim = 2;
    gm.weights = {1.0f};
    gm.means = {0.7f, -1.2f};
    gm.stds = {0.4f};
    const Schedule s = linear_schedule(1000);
    const std::vector<float> x = {0.0f, 0.0f, 2.5f, -3.0f, -0.1f, 0.9f};
    std::vector<float> eps(x.size()), x0(x.size());
    for (int t : {1, 10, 250, 999, 1000}) {
        CAPTURE(t);
        oracle_eps(eps.data(), x.data(), 3, gm, s, t);
        oracle_x0(x0.data(), x.data(), 3, gm, s, t);
        const double ab = s.alpha_bar[size_t(t)], sigma = gm.stds[0];
        const double var = ab * sigma * sigma + (1.0 - ab);  // s^2 = ab sigma^2 + 1 - ab
        for (size_t i = 0; i < x.size(); ++i) {
            const double mu = gm.means[i % 2];
            const double centred = double(x[i]) - std::sqrt(ab) * mu;
            CHECK(eps[i] == float(std::sqrt(1.0 - ab) * (centred / var)));
            // E[x_0 | x_t] of a Gaussian prior: mu + sqrt(ab) sigma^2 / s^2 (x_t - sqrt(ab) mu)
            CHECK(x0[i] == doctest::Approx(mu + std::sqrt(ab) * sigma * sigma / var * centred).epsilon(1e-5));
        }
    }
}

TEST_CASE("oracle: eps* = -sqrt(1 - ab) grad log q(x_t), against finite differences") {
    const GaussianMixture gm = uneven_mixture();
    const Schedule s = linear_schedule(1000);
    const std::vector<float> points = {0.0f, 0.0f, -1.1f, 0.4f, 1.0f, 0.8f, 0.1f, -1.7f, 3.0f, -2.5f, -0.2f, 0.6f};
    const int rows = int(points.size()) / 2;
    std::vector<float> eps(points.size());
    const double h = 1e-5;
    for (int t : {1, 5, 50, 300, 1000}) {
        oracle_eps(eps.data(), points.data(), rows, gm, s, t);
        const double ab = s.alpha_bar[size_t(t)];
        for (int i = 0; i < rows; ++i)
            for (int d = 0; d < 2; ++d) {
                std::vector<double> plus = {points[size_t(2 * i)], points[size_t(2 * i + 1)]}, minus = plus;
                plus[size_t(d)] += h;
                minus[size_t(d)] -= h;
                const double grad = (log_marginal(plus, gm, ab) - log_marginal(minus, gm, ab)) / (2 * h);
                const double expected = -std::sqrt(1.0 - ab) * grad;
                CAPTURE(t);
                CAPTURE(i);
                CHECK(eps[size_t(2 * i + d)] == doctest::Approx(expected).epsilon(1e-4).scale(1.0));
            }
    }
}

TEST_CASE("oracle: Monte Carlo, the residual eps - eps* is uncorrelated with x_t and the MSE is minimal") {
    const GaussianMixture gm = uneven_mixture();
    const Schedule s = linear_schedule(1000);
    const int n = 200000, dim = 2;
    const Dataset data = sample_mixture(gm, n, 11, "x0");
    std::vector<float> noise(static_cast<size_t>(n) * dim);
    Rng(12, 0).fill_normal(noise.data(), int64_t(noise.size()));
    for (int t : {20, 200, 600}) {
        CAPTURE(t);
        const double ab = s.alpha_bar[size_t(t)];
        std::vector<float> x_t(noise.size());
        for (size_t i = 0; i < x_t.size(); ++i) x_t[i] = float(std::sqrt(ab) * data.x[i] + std::sqrt(1.0 - ab) * noise[i]);
        std::vector<float> eps_star(noise.size());
        oracle_eps(eps_star.data(), x_t.data(), n, gm, s, t);
        // E[(eps - eps*) g(x_t)] = 0 for g = 1, x_t[0], x_t[1]: the residual is orthogonal to functions of x_t.
        for (int d = 0; d < dim; ++d)
            for (int g = -1; g < dim; ++g) {
                std::vector<double> product(static_cast<size_t>(n));
                for (size_t i = 0; i < size_t(n); ++i) {
                    const double residual = double(noise[i * dim + size_t(d)]) - eps_star[i * dim + size_t(d)];
                    product[i] = residual * (g < 0 ? 1.0 : double(x_t[i * dim + size_t(g)]));
                }
                const MeanSE m = mean_se(product);
                CAPTURE(d);
                CAPTURE(g);
                CHECK(std::fabs(m.mean) < 5.0 * m.se);
            }
        // The oracle beats predicting 0 and any nearby predictor.
        std::vector<float> zero(noise.size(), 0.0f), scaled(noise.size()), shifted(noise.size());
        for (size_t i = 0; i < noise.size(); ++i) {
            scaled[i] = 1.05f * eps_star[i];
            shifted[i] = eps_star[i] + (i % 2 == 0 ? 0.05f : -0.03f);
        }
        const double best = mse(eps_star, noise);
        CHECK(best < mse(zero, noise));
        CHECK(best < mse(scaled, noise));
        CHECK(best < mse(shifted, noise));
    }
}

TEST_CASE("oracle: finite far from every mode, pointing away from the data") {
    const GaussianMixture gm = eight_gaussians_mixture();
    const Schedule s = linear_schedule(1000);
    std::vector<float> x;
    for (int k = 0; k < 12; ++k) {
        x.push_back(float(50.0 * std::cos(0.5 * k)));
        x.push_back(float(50.0 * std::sin(0.5 * k)));
    }
    std::vector<float> eps(x.size()), x0(x.size());
    for (int t : {1, 2, 100, 1000}) {
        CAPTURE(t);
        oracle_eps(eps.data(), x.data(), 12, gm, s, t);
        oracle_x0(x0.data(), x.data(), 12, gm, s, t);
        for (size_t i = 0; i < x.size(); ++i) {
            REQUIRE(std::isfinite(eps[i]));
            REQUIRE(std::isfinite(x0[i]));
        }
        for (size_t i = 0; i < x.size(); i += 2) CHECK(eps[i] * x[i] + eps[i + 1] * x[i + 1] > 0.0f);
    }
}

TEST_CASE("oracle: one t for all rows equals one t per row; thread count and bad t") {
    const GaussianMixture gm = uneven_mixture();
    const Schedule s = linear_schedule(100);
    const int rows = 3000;
    std::vector<float> x(static_cast<size_t>(rows) * 2);
    Rng(13, 0).fill_normal(x.data(), int64_t(x.size()), 0.0f, 2.0f);
    std::vector<float> same_t(x.size()), per_row(x.size()), two_threads(x.size());
    const std::vector<int> t(static_cast<size_t>(rows), 37);
    oracle_eps(same_t.data(), x.data(), rows, gm, s, 37);
    oracle_eps_rows(per_row.data(), x.data(), t.data(), rows, gm, s);
    CHECK(same_t == per_row);
    const int saved = num_threads();
    set_num_threads(saved == 1 ? 2 : 1);
    oracle_eps(two_threads.data(), x.data(), rows, gm, s, 37);
    set_num_threads(saved);
    CHECK(two_threads == same_t);
    CHECK_THROWS_WITH(oracle_eps(same_t.data(), x.data(), rows, gm, s, 0), "oracle_eps: t must be in [1, 100], got 0");
    const std::vector<int> bad = {5, 101};
    CHECK_THROWS_WITH(oracle_eps_rows(same_t.data(), x.data(), bad.data(), 2, gm, s),
                      "oracle_eps: t must be in [1, 100], got 101");
}
