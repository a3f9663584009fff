#include "diffusion/likelihood.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/common.h"
#include "core/dmath.h"
#include "core/rng.h"

namespace ddpm {

// ---- Gaussian pieces --------------------------------------------------------------------------
double normal_kl(double mean1, double logvar1, double mean2, double logvar2) {
    // BEGIN SOLUTION L11.1
    const double diff = mean1 - mean2;
    return 0.5 * (logvar2 - logvar1 + dmath::exp(logvar1 - logvar2) + diff * diff * dmath::exp(-logvar2) - 1.0);
    // END SOLUTION
}

double normal_log_density(double x, double mean, double logvar) {
    const double kLog2Pi = 1.8378770664093453;  // log(2 pi)
    const double diff = x - mean;
    return -0.5 * (kLog2Pi + logvar + diff * diff * dmath::exp(-logvar));
}

double erfc_approx(double x) {
    // Press, Teukolsky, Vetterling and Flannery, Numerical Recipes (2nd ed.), sec. 6.2: a Chebyshev
    // fit of erfc(z) / (t exp(-z^2)), t = 1 / (1 + z/2), for z >= 0; fractional error < 1.2e-7.
    const double z = std::fabs(x);
    const double t = 1.0 / (1.0 + 0.5 * z);
    const double poly =
        -1.26551223 +
        t * (1.00002368 +
             t * (0.37409196 +
                  t * (0.09678418 +
                       t * (-0.18628806 +
                            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    const double r = t * dmath::exp(-z * z + poly);
    return x >= 0.0 ? r : 2.0 - r;
}

double std_normal_cdf(double x) { return 0.5 * erfc_approx(-x * 0.7071067811865476); }

double mixture_log_density(const GaussianMixture& gm, const float* x) {
    const int K = gm.components(), dim = gm.dim;
    std::vector<double> logs(static_cast<size_t>(K));
    double top = -INFINITY;
    for (int k = 0; k < K; ++k) {
        const double lv = dmath::log(double(gm.stds[size_t(k)]) * gm.stds[size_t(k)]);
        double l = dmath::log(double(gm.weights[size_t(k)]));
        for (int d = 0; d < dim; ++d) l += normal_log_density(x[d], gm.means[size_t(k * dim + d)], lv);
        logs[size_t(k)] = l;
        top = std::max(top, l);
    }
    double sum = 0.0;
    for (double l : logs) sum += dmath::exp(l - top);
    return top + dmath::log(sum);
}

// ---- the discretised decoder ------------------------------------------------------------------
double discretized_gaussian_log_likelihood(double x, double mean, double log_scale) {
    // BEGIN SOLUTION L11.2
    const double inv_scale = dmath::exp(-log_scale);
    const double upper = (x - mean + 1.0 / 255.0) * inv_scale;  // the bin's edges, in standard units
    const double lower = (x - mean - 1.0 / 255.0) * inv_scale;
    double p;
    if (x < -0.999) {
        p = std_normal_cdf(upper);  // the first bin reaches down to -inf
    } else if (x > 0.999) {
        p = std_normal_cdf(-lower);  // the last bin reaches up to +inf: 1 - Phi(lower)
    } else if (lower > 0.0) {
        p = std_normal_cdf(-lower) - std_normal_cdf(-upper);  // right tail: a difference of small numbers
    } else {
        p = std_normal_cdf(upper) - std_normal_cdf(lower);
    }
    return dmath::log(std::max(p, 1e-12));
    // END SOLUTION
}

// ---- the v target -----------------------------------------------------------------------------
void v_target(float* v, const float* x0, const float* eps, int64_t n, double alpha_bar) {
    // BEGIN SOLUTION L11.3
    const double a = std::sqrt(alpha_bar), b = std::sqrt(1.0 - alpha_bar);
    for (int64_t i = 0; i < n; ++i) v[i] = float(a * eps[i] - b * x0[i]);
    // END SOLUTION
}

void x0_from_v(float* x0, const float* x_t, const float* v, int64_t n, double alpha_bar) {
    const double a = std::sqrt(alpha_bar), b = std::sqrt(1.0 - alpha_bar);
    for (int64_t i = 0; i < n; ++i) x0[i] = float(a * x_t[i] - b * v[i]);
}

void eps_from_v(float* eps, const float* x_t, const float* v, int64_t n, double alpha_bar) {
    const double a = std::sqrt(alpha_bar), b = std::sqrt(1.0 - alpha_bar);
    for (int64_t i = 0; i < n; ++i) eps[i] = float(b * x_t[i] + a * v[i]);
}

// ---- the bound --------------------------------------------------------------------------------
const char* bound_variance_name(BoundVariance v) {
    switch (v) {
        case BoundVariance::Beta: return "beta";
        case BoundVariance::BetaTilde: return "beta_tilde";
        case BoundVariance::Learned: return "learned";
    }
    return "?";
}

double reverse_logvar(const Schedule& s, int t, BoundVariance kind, double v) {
    if (t < 1 || t > s.T) fail("reverse_logvar: t = " + std::to_string(t) + " outside [1, " + std::to_string(s.T) + "]");
    if (s.T < 2) fail("reverse_logvar: the schedule needs T >= 2 (beta_tilde_1 is replaced by beta_tilde_2)");
    const double log_beta = dmath::log(s.beta[size_t(t)]);
    const double log_tilde = dmath::log(s.beta_tilde[size_t(t == 1 ? 2 : t)]);
    switch (kind) {
        case BoundVariance::Beta: return log_beta;
        case BoundVariance::BetaTilde: return log_tilde;
        case BoundVariance::Learned: return v * log_beta + (1.0 - v) * log_tilde;
    }
    return log_tilde;
}

ReversePrediction fixed_variance_prediction(const EpsFunction& eps) {
    return [eps](float* eps_out, float*, const float* x_t, int rows, int t) { eps(eps_out, x_t, rows, t); };
}

double BoundTerms::total() const {
    double sum = 0.0;
    for (double x : term) sum += x;
    return sum;
}

double BoundTerms::standard_error() const {
    if (row_total.size() < 2) return 0.0;
    double mean = 0.0;
    for (double x : row_total) mean += x;
    mean /= double(row_total.size());
    double ss = 0.0;
    for (double x : row_total) ss += (x - mean) * (x - mean);
    return std::sqrt(ss / double(row_total.size() - 1) / double(row_total.size()));
}

std::vector<BoundTerms> variational_bound(const float* x0, int rows, int dim, const Schedule& s,
                                          const ReversePrediction& predict, const std::vector<BoundVariance>& variances,
                                          Decoder decoder, uint64_t seed) {
    if (rows < 1 || dim < 1) fail("variational_bound: no rows");
    if (s.T < 2) fail("variational_bound: the schedule needs T >= 2");
    const int64_t n = int64_t(rows) * dim;
    const int T = s.T;
    bool learned = false;
    for (BoundVariance v : variances) learned = learned || v == BoundVariance::Learned;
    std::vector<BoundTerms> out(variances.size());
    for (size_t k = 0; k < variances.size(); ++k) {
        out[k].variance = variances[k];
        out[k].T = T;
        out[k].dim = dim;
        out[k].rows = rows;
        out[k].term.assign(size_t(T) + 1, 0.0);
        out[k].row_total.assign(size_t(rows), 0.0);
    }
    // L_T: KL( N(sqrt(ab_T) x_0, 1 - ab_T) || N(0, 1) ) per coordinate
    const double ab_T = s.alpha_bar[size_t(T)], log_var_T = dmath::log(1.0 - ab_T);
    for (int r = 0; r < rows; ++r) {
        double sum = 0.0;
        for (int d = 0; d < dim; ++d) sum += normal_kl(std::sqrt(ab_T) * x0[int64_t(r) * dim + d], log_var_T, 0.0, 0.0);
        for (BoundTerms& b : out) {
            b.row_total[size_t(r)] += sum / dim;
            b.term[size_t(T)] += sum / dim / rows;
        }
    }
    std::vector<float> noise(static_cast<size_t>(n)), x_t(static_cast<size_t>(n)), eps_hat(static_cast<size_t>(n)), v(learned ? static_cast<size_t>(n) : 0);
    Rng rng(seed, kBoundStream);
    for (int t = 1; t <= T; ++t) {
        rng.fill_normal(noise.data(), n);
        const double ab = s.alpha_bar[size_t(t)];
        const double a = std::sqrt(ab), b = std::sqrt(1.0 - ab);
        for (int64_t i = 0; i < n; ++i) x_t[size_t(i)] = float(a * x0[i] + b * noise[size_t(i)]);
        predict(eps_hat.data(), learned ? v.data() : nullptr, x_t.data(), rows, t);
        // mu~_t(x_t, x_0) - mu_theta(x_t, t) = c (eps_theta - eps)   (docs/likelihood.md, eq. 11.2)
        const double c = s.beta[size_t(t)] / (std::sqrt(s.alpha[size_t(t)]) * b);
        const double log_tilde = t >= 2 ? dmath::log(s.beta_tilde[size_t(t)]) : 0.0;
        for (size_t k = 0; k < variances.size(); ++k) {
            BoundTerms& bt = out[k];
            const double fixed_lv = variances[k] == BoundVariance::Learned ? 0.0 : reverse_logvar(s, t, variances[k]);
            for (int r = 0; r < rows; ++r) {
                double sum = 0.0;
                for (int d = 0; d < dim; ++d) {
                    const int64_t i = int64_t(r) * dim + d;
                    const double lv = variances[k] == BoundVariance::Learned
                                          ? reverse_logvar(s, t, BoundVariance::Learned, v[size_t(i)])
                                          : fixed_lv;
                    const double gap = c * (double(eps_hat[size_t(i)]) - double(noise[size_t(i)]));
                    if (t >= 2) {
                        sum += normal_kl(gap, log_tilde, 0.0, lv);
                    } else {
                        const double mu = double(x0[i]) - gap;  // mu_theta(x_1, 1); mu~_1 = x_0
                        sum -= decoder == Decoder::Gaussian ? normal_log_density(x0[i], mu, lv)
                                                            : discretized_gaussian_log_likelihood(x0[i], mu, 0.5 * lv);
                    }
                }
                bt.row_total[size_t(r)] += sum / dim;
                bt.term[size_t(t - 1)] += sum / dim / rows;
            }
        }
    }
    return out;
}

}  // namespace ddpm
