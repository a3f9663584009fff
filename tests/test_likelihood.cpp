// The pieces of lesson 11's bound, each against an answer known another way: the Gaussian KL against
// numerical integration, erfc against tabulated values, the discretised decoder's 256 probabilities
// summing to 1 and a bin against its integral, the v target's inverses, and the whole bound on a
// point mass with a predictor that knows the noise (where every term has a closed form).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dmath.h"
#include "core/rng.h"
#include "diffusion/data.h"
#include "diffusion/likelihood.h"
#include "diffusion/objectives.h"
#include "diffusion/train.h"
#include "diffusion/schedule.h"

using namespace ddpm;

namespace {

double gauss_pdf(double x, double mean, double var) {
    return dmath::exp(-0.5 * (x - mean) * (x - mean) / var) / std::sqrt(2.0 * 3.141592653589793 * var);
}

// integral of p1 log(p1 / p2) by Simpson's rule over mean1 +- 14 sd1
double kl_by_integration(double m1, double v1, double m2, double v2) {
    const int n = 20000;
    const double lo = m1 - 14.0 * std::sqrt(v1), hi = m1 + 14.0 * std::sqrt(v1), h = (hi - lo) / n;
    double sum = 0.0;
    for (int i = 0; i <= n; ++i) {
        const double x = lo + i * h;
        const double p = gauss_pdf(x, m1, v1);
        const double f = p > 0 ? p * (normal_log_density(x, m1, dmath::log(v1)) - normal_log_density(x, m2, dmath::log(v2))) : 0.0;
        sum += f * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
    }
    return sum * h / 3.0;
}

}  // namespace

TEST_CASE("L11.1 the KL of two Gaussians: zero for equal ones, against numerical integration, not symmetric") {
    CHECK(normal_kl(0.3, -1.0, 0.3, -1.0) == doctest::Approx(0.0).epsilon(1e-15));
    struct Case {
        double m1, v1, m2, v2;
    };
    for (const Case& c : {Case{0.0, 1.0, 0.0, 1.0}, Case{0.5, 1.0, -0.2, 1.0}, Case{0.1, 0.25, 0.4, 2.0},
                          Case{-1.0, 3.0, 0.5, 0.5}, Case{0.0, 1e-4, 0.001, 5e-5}}) {
        const double closed = normal_kl(c.m1, dmath::log(c.v1), c.m2, dmath::log(c.v2));
        const double numeric = kl_by_integration(c.m1, c.v1, c.m2, c.v2);
        INFO("N(" << c.m1 << ", " << c.v1 << ") || N(" << c.m2 << ", " << c.v2 << "): " << closed << " vs " << numeric);
        CHECK(closed == doctest::Approx(numeric).epsilon(1e-6).scale(1.0));
    }
    // equal variances: the squared distance over twice the variance
    CHECK(normal_kl(1.0, dmath::log(0.5), 0.0, dmath::log(0.5)) == doctest::Approx(1.0).epsilon(1e-12));
    // KL(p || q) != KL(q || p) in general
    CHECK(normal_kl(0.0, 0.0, 0.0, dmath::log(4.0)) != doctest::Approx(normal_kl(0.0, dmath::log(4.0), 0.0, 0.0)));
}

TEST_CASE("likelihood: erfc and the normal CDF against tabulated values") {
    // erfc values from Abramowitz and Stegun, table 7.1 (to the digits shown there and beyond)
    CHECK(erfc_approx(0.0) == doctest::Approx(1.0).epsilon(2e-7));
    CHECK(erfc_approx(0.5) == doctest::Approx(0.4795001221869535).epsilon(2e-7));
    CHECK(erfc_approx(1.0) == doctest::Approx(0.15729920705028513).epsilon(2e-7));
    CHECK(erfc_approx(2.0) == doctest::Approx(0.004677734981047266).epsilon(2e-7));
    CHECK(erfc_approx(3.0) == doctest::Approx(2.209049699858544e-05).epsilon(2e-7));
    CHECK(erfc_approx(-1.0) == doctest::Approx(2.0 - 0.15729920705028513).epsilon(2e-7));
    CHECK(std_normal_cdf(0.0) == doctest::Approx(0.5).epsilon(1e-7));
    CHECK(std_normal_cdf(1.959963984540054) == doctest::Approx(0.975).epsilon(2e-7));
    // the tail, relative (scale(0): doctest's default scale 1 would make 1e-6 an absolute tolerance)
    CHECK(std_normal_cdf(-6.0) == doctest::Approx(9.865876450377e-10).epsilon(1e-6).scale(0));
}

TEST_CASE("L11.2 the discretised decoder: the 256 bins sum to 1, a middle bin is its integral, the edge bins reach infinity") {
    for (double mean : {-1.0, -0.3, 0.0, 0.41, 1.0, 1.3}) {
        for (double scale : {0.002, 0.01, 0.1, 0.5, 2.0}) {
            double total = 0.0;
            for (int b = 0; b < 256; ++b)
                total += dmath::exp(discretized_gaussian_log_likelihood(b / 127.5 - 1.0, mean, dmath::log(scale)));
            INFO("mean " << mean << ", scale " << scale);
            CHECK(total == doctest::Approx(1.0).epsilon(2e-6));
        }
    }
    // a middle bin against Simpson's rule over x +- 1/255
    const double x = 100 / 127.5 - 1.0, mean = -0.05, scale = 0.2;
    const int n = 2000;
    const double lo = x - 1.0 / 255.0, h = (2.0 / 255.0) / n;
    double sum = 0.0;
    for (int i = 0; i <= n; ++i)
        sum += gauss_pdf(lo + i * h, mean, scale * scale) * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
    CHECK(discretized_gaussian_log_likelihood(x, mean, dmath::log(scale)) ==
          doctest::Approx(dmath::log(sum * h / 3.0)).epsilon(1e-6));
    // the first bin is everything below -1 + 1/255: the mean at -1 puts more than half its mass there
    CHECK(dmath::exp(discretized_gaussian_log_likelihood(-1.0, -1.0, dmath::log(0.5))) ==
          doctest::Approx(std_normal_cdf(1.0 / 255.0 / 0.5)).epsilon(1e-9));
    CHECK(dmath::exp(discretized_gaussian_log_likelihood(1.0, 1.0, dmath::log(0.5))) ==
          doctest::Approx(std_normal_cdf(1.0 / 255.0 / 0.5)).epsilon(1e-9));
    // a narrow decoder on the right bin is almost certain; far away, the clamp at 1e-12
    CHECK(discretized_gaussian_log_likelihood(0.2 - 0.2 / 255.0, 0.2 - 0.2 / 255.0, dmath::log(1e-4)) ==
          doctest::Approx(0.0).scale(1.0).epsilon(1e-9));
    CHECK(discretized_gaussian_log_likelihood(0.6, -0.6, dmath::log(0.01)) == doctest::Approx(dmath::log(1e-12)));
    // far in the right tail the difference of two upper tails is still positive and accurate
    const double tail = discretized_gaussian_log_likelihood(0.0, -0.04, dmath::log(0.01));  // 3.6 to 4.4 sd
    CHECK(tail == doctest::Approx(dmath::log(std_normal_cdf(-3.6078431372549) - std_normal_cdf(-4.3921568627451))).epsilon(1e-5));
}

TEST_CASE("L11.3 the v target: x_0 and eps recovered from v and x_t, and its values at ab = 1 and ab = 0") {
    const std::vector<float> x0 = {0.7f, -1.2f, 0.05f, 2.0f}, eps = {-0.3f, 0.9f, 1.5f, -2.2f};
    for (double ab : {0.999, 0.7, 0.2, 1e-3}) {
        std::vector<float> x_t(4), v(4), x0_back(4), eps_back(4);
        for (int i = 0; i < 4; ++i) x_t[size_t(i)] = float(std::sqrt(ab) * x0[size_t(i)] + std::sqrt(1.0 - ab) * eps[size_t(i)]);
        v_target(v.data(), x0.data(), eps.data(), 4, ab);
        for (int i = 0; i < 4; ++i)
            CHECK(v[size_t(i)] == doctest::Approx(std::sqrt(ab) * eps[size_t(i)] - std::sqrt(1.0 - ab) * x0[size_t(i)]).epsilon(1e-6));
        x0_from_v(x0_back.data(), x_t.data(), v.data(), 4, ab);
        eps_from_v(eps_back.data(), x_t.data(), v.data(), 4, ab);
        for (int i = 0; i < 4; ++i) {
            CHECK(x0_back[size_t(i)] == doctest::Approx(x0[size_t(i)]).epsilon(1e-5).scale(1.0));
            CHECK(eps_back[size_t(i)] == doctest::Approx(eps[size_t(i)]).epsilon(1e-5).scale(1.0));
        }
        // v has unit variance when x_0 does (ab + (1 - ab) = 1): |v|^2 = ab |eps|^2 + (1-ab) |x0|^2 - cross
    }
    std::vector<float> v(4);
    v_target(v.data(), x0.data(), eps.data(), 4, 1.0);  // no noise: v is eps
    for (int i = 0; i < 4; ++i) CHECK(v[size_t(i)] == doctest::Approx(eps[size_t(i)]));
    v_target(v.data(), x0.data(), eps.data(), 4, 0.0);  // all noise: v is -x_0
    for (int i = 0; i < 4; ++i) CHECK(v[size_t(i)] == doctest::Approx(-x0[size_t(i)]));
}

TEST_CASE("likelihood: the whole bound on a point mass, with a predictor that knows the noise, is its closed form") {
    // x_0 = 0.5 in every row: eps = (x_t - sqrt(ab) x_0) / sqrt(1 - ab) exactly, so every mean is right
    // and each L_{t-1} is the variance part of the KL alone.
    const Schedule s = linear_schedule(100, 1e-3, 0.2);
    const int rows = 16, dim = 3;
    const float point = 0.5f;
    std::vector<float> x0(size_t(rows * dim), point);
    const ReversePrediction knows_noise = [&](float* eps, float* v, const float* x_t, int n, int t) {
        const double ab = s.alpha_bar[size_t(t)];
        for (int i = 0; i < n * dim; ++i) {
            eps[i] = float((double(x_t[i]) - std::sqrt(ab) * point) / std::sqrt(1.0 - ab));
            if (v) v[i] = 0.25f;
        }
    };
    const std::vector<BoundTerms> b = variational_bound(
        x0.data(), rows, dim, s, knows_noise, {BoundVariance::BetaTilde, BoundVariance::Beta, BoundVariance::Learned},
        Decoder::Gaussian, 7);
    REQUIRE(b.size() == 3);
    const double ab_T = s.alpha_bar[100];
    const double prior = normal_kl(std::sqrt(ab_T) * point, dmath::log(1.0 - ab_T), 0.0, 0.0);
    for (const BoundTerms& terms : b) {
        CHECK(terms.term[100] == doctest::Approx(prior).epsilon(1e-12));
        for (int t = 2; t <= 100; ++t) {
            const double lv = reverse_logvar(s, t, terms.variance, 0.25);
            const double want = normal_kl(0.0, dmath::log(s.beta_tilde[size_t(t)]), 0.0, lv);
            INFO(bound_variance_name(terms.variance) << " t = " << t);
            CHECK(terms.term[size_t(t - 1)] == doctest::Approx(want).epsilon(1e-4).scale(1e-7));
        }
        // the decoder: a Gaussian density at its own mean, up to the rounding of x_t in float
        const double lv1 = reverse_logvar(s, 1, terms.variance, 0.25);
        CHECK(terms.term[0] == doctest::Approx(0.5 * (1.8378770664093453 + lv1)).epsilon(1e-3));
        CHECK(terms.total() == doctest::Approx(terms.row_total[0]).epsilon(1e-3));
    }
    // beta_tilde's L_{t-1} are zero: the true posterior, exactly
    CHECK(b[0].term[50] == doctest::Approx(0.0).scale(1e-9));
    CHECK(b[1].term[50] > 1e-6);
    // the decoder's variance at t = 1: beta_tilde_2 for beta_tilde, beta_1 for beta
    CHECK(reverse_logvar(s, 1, BoundVariance::BetaTilde) == doctest::Approx(dmath::log(s.beta_tilde[2])));
    CHECK(reverse_logvar(s, 1, BoundVariance::Beta) == doctest::Approx(dmath::log(s.beta[1])));
    CHECK(reverse_logvar(s, 40, BoundVariance::Learned, 1.0) == doctest::Approx(dmath::log(s.beta[40])));
    CHECK(reverse_logvar(s, 40, BoundVariance::Learned, 0.0) == doctest::Approx(dmath::log(s.beta_tilde[40])));
}

TEST_CASE("likelihood: the discretised decoder in the bound, on pixels, gives probabilities at most 1") {
    const Schedule s = linear_schedule(50);
    const int rows = 4, dim = 8;
    std::vector<float> x0(size_t(rows * dim));
    for (int i = 0; i < rows * dim; ++i) x0[size_t(i)] = float(((37 * i) % 256) / 127.5 - 1.0);
    const ReversePrediction zero = [&](float* eps, float*, const float*, int n, int) {
        for (int i = 0; i < n * dim; ++i) eps[i] = 0.0f;
    };
    const std::vector<BoundTerms> b = variational_bound(x0.data(), rows, dim, s, zero, {BoundVariance::Beta},
                                                        Decoder::Discretised, 3);
    CHECK(b[0].term[0] >= 0.0);  // -log of a probability
    for (int t = 2; t <= 50; ++t) CHECK(b[0].term[size_t(t - 1)] >= 0.0);  // KLs
    CHECK(b[0].standard_error() > 0.0);
}

TEST_CASE("likelihood: on Gaussian data with the exact eps*, the bound lies above p_theta's exact NLL, which lies above the entropy") {
    // x_0 ~ N(0, s^2) in 1-D. q(x_t) = N(0, v_t), v_t = ab s^2 + 1 - ab, and eps*(x_t) = sqrt(1 - ab) x_t / v_t,
    // so mu_theta(x_t) = A_t x_t with A_t = (1 - beta_t / v_t) / sqrt(alpha_t): p_theta(x_0) is N(0, var_0) with
    // var_T = 1, var_{t-1} = A_t^2 var_t + sigma_t^2.
    const Schedule s = linear_schedule(200, 1e-3, 0.1);
    const double sd = 0.3;
    const int rows = 20000;
    std::vector<float> x0(static_cast<size_t>(rows));
    Rng(5, 1).fill_normal(x0.data(), rows, 0.0f, float(sd));
    const ReversePrediction exact = [&](float* eps, float*, const float* x_t, int n, int t) {
        const double ab = s.alpha_bar[size_t(t)], v = ab * sd * sd + 1.0 - ab;
        for (int i = 0; i < n; ++i) eps[i] = float(std::sqrt(1.0 - ab) * x_t[i] / v);
    };
    const std::vector<BoundTerms> b =
        variational_bound(x0.data(), rows, 1, s, exact, {BoundVariance::Beta, BoundVariance::BetaTilde}, Decoder::Gaussian, 9);
    double m2 = 0.0;
    for (float x : x0) m2 += double(x) * x;
    m2 /= rows;
    const double entropy_sample = 0.5 * (1.8378770664093453 + dmath::log(sd * sd)) + m2 / (2 * sd * sd);
    for (const BoundTerms& terms : b) {
        double var = 1.0;
        for (int t = s.T; t >= 1; --t) {
            const double ab = s.alpha_bar[size_t(t)], v = ab * sd * sd + 1.0 - ab;
            const double A = (1.0 - s.beta[size_t(t)] / v) / std::sqrt(s.alpha[size_t(t)]);
            var = A * A * var + dmath::exp(reverse_logvar(s, t, terms.variance));
        }
        const double nll = 0.5 * (1.8378770664093453 + dmath::log(var)) + m2 / (2 * var);
        INFO(std::string(bound_variance_name(terms.variance)) << ": bound " << terms.total() << " +- " << terms.standard_error()
                                                 << ", exact NLL of p_theta " << nll << ", entropy " << entropy_sample);
        CHECK(nll >= entropy_sample - 1e-9);
        CHECK(terms.total() > nll - 3 * terms.standard_error());
    }
}

TEST_CASE("objectives: the eps target without weights trains as Trainer does; the x_0 and v targets turn back into eps") {
    const Dataset data = make_dataset("two_clusters", 512, 3);
    EpsModelConfig mc;
    mc.hidden = 32;
    mc.layers = 2;
    TrainConfig tc;
    tc.batch = 64;
    tc.seed = 4;
    Trainer reference(mc, tc, linear_schedule(100));
    ObjectiveTrainer same(mc, ObjectiveConfig{}, tc, linear_schedule(100));
    for (int i = 0; i < 20; ++i) {
        const float a = reference.train_step(data.x.data(), data.n()).loss;
        const float b = same.train_step(data.x.data(), data.n());
        CHECK(b == doctest::Approx(a).epsilon(1e-4));
    }
    const Params p = reference.model.params(), q = same.model.params();
    REQUIRE(p.size() == q.size());
    double worst = 0.0;
    for (size_t k = 0; k < p.size(); ++k)
        for (int64_t i = 0; i < p[k].tensor.numel(); ++i)
            worst = std::max(worst, double(std::fabs(p[k].tensor.data()[i] - q[k].tensor.data()[i])));
    CHECK(worst < 1e-4);
    // predictions of x_0 and v, made from a known x_0 and eps, give that eps back
    const double ab = 0.3;
    const float x0 = 0.8f, eps = -1.1f;
    const float x_t = float(std::sqrt(ab) * x0 + std::sqrt(1 - ab) * eps);
    float v = 0.0f, back = 0.0f;
    v_target(&v, &x0, &eps, 1, ab);
    eps_from_prediction(&back, &x_t, &x0, 1, Target::X0, ab);
    CHECK(back == doctest::Approx(eps).epsilon(1e-5));
    eps_from_prediction(&back, &x_t, &v, 1, Target::V, ab);
    CHECK(back == doctest::Approx(eps).epsilon(1e-5));
    // min-SNR-gamma: every target's weighted loss is min(SNR, gamma) times the x_0 error
    CHECK(min_snr_weight(Target::Eps, 10.0, 5.0) == doctest::Approx(0.5));
    CHECK(min_snr_weight(Target::Eps, 2.0, 5.0) == doctest::Approx(1.0));
    CHECK(min_snr_weight(Target::X0, 10.0, 5.0) == doctest::Approx(5.0));
    CHECK(min_snr_weight(Target::V, 2.0, 5.0) == doctest::Approx(2.0 / 3.0));
}

TEST_CASE("likelihood: the mixture's log-density integrates to 1 and is the Gaussian's for one component") {
    const GaussianMixture gm = bimodal_1d_mixture();
    const int n = 20000;
    const double lo = -4.0, hi = 4.0, h = (hi - lo) / n;
    double sum = 0.0;
    for (int i = 0; i <= n; ++i) {
        const float x = float(lo + i * h);
        sum += dmath::exp(mixture_log_density(gm, &x)) * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
    }
    CHECK(sum * h / 3.0 == doctest::Approx(1.0).epsilon(1e-6));
    GaussianMixture one;
    one.dim = 2;
    one.weights = {1.0f};
    one.means = {0.5f, -1.0f};
    one.stds = {0.5f};
    const float x[2] = {0.2f, -0.3f};
    const double want = normal_log_density(0.2, 0.5, dmath::log(0.25)) + normal_log_density(-0.3, -1.0, dmath::log(0.25));
    CHECK(mixture_log_density(one, x) == doctest::Approx(want).epsilon(1e-7));
    // far from every mode: finite (log-sum-exp), not -inf
    const float far[2] = {40.0f, 40.0f};
    CHECK(std::isfinite(mixture_log_density(eight_gaussians_mixture(), far)));
}
