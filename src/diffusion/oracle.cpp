#include "diffusion/oracle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/common.h"
#include "core/dmath.h"
#include "core/pool.h"

namespace ddpm {

namespace {

const int64_t kRowGrain = 256;  // rows per chunk: each row costs O(K dim)

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------
void check_mixture(const GaussianMixture& gm, const char* where) {
    const size_t K = gm.weights.size();
    if (gm.dim < 1) fail(std::string(where) + ": the mixture's dim must be >= 1, got " + std::to_string(gm.dim));
    if (K == 0) fail(std::string(where) + ": the mixture has no components");
    if (gm.means.size() != K * size_t(gm.dim) || gm.stds.size() != K)
        fail(std::string(where) + ": a mixture of " + std::to_string(K) + " components in " + std::to_string(gm.dim) +
             "-D needs " + std::to_string(K * size_t(gm.dim)) + " means and " + std::to_string(K) + " stds, got " +
             std::to_string(gm.means.size()) + " and " + std::to_string(gm.stds.size()));
    double total = 0.0;
    for (size_t k = 0; k < K; ++k) {
        if (!(gm.weights[k] >= 0.0f && std::isfinite(gm.weights[k])) || !(gm.stds[k] >= 0.0f && std::isfinite(gm.stds[k])))
            fail(std::string(where) + ": component " + std::to_string(k) + " needs a finite weight >= 0 and a finite std >= 0");
        total += gm.weights[k];
    }
    if (!(total > 0.0)) fail(std::string(where) + ": the mixture's weights are all 0");
}

void check_timestep(int t, const Schedule& s, const char* where) {
    if (t < 1 || t > s.T)
        fail(std::string(where) + ": t must be in [1, " + std::to_string(s.T) + "], got " + std::to_string(t));
}

// ---------------------------------------------------------------------------------------------
// One row
// ---------------------------------------------------------------------------------------------
// eps (dim) = E[eps | x_t = x] for one point x (dim) at ab = alpha_bar_t < 1.
// r (K) is scratch: it holds log r_k first, then r_k.
//
// Responsibilities: log r_k = log w_k - |x - sqrt(ab) mu_k|^2 / (2 s_k^2) - (dim / 2) log s_k^2 + const,
// the constant -(dim / 2) log(2 pi) being the same for every k. Subtracting the largest before exp()
// (log-sum-exp) keeps the biggest term at exp(0) = 1, so nothing underflows to 0 / 0 far from the modes.
void posterior_eps_row(double* eps, const float* x, const GaussianMixture& gm, double ab, double* r) {
    const int K = gm.components(), dim = gm.dim;
    const double sqrt_ab = std::sqrt(ab), sqrt_one_minus_ab = std::sqrt(1.0 - ab);
    auto marginal_var = [&](int k) {  // s_k^2 = ab sigma_k^2 + 1 - ab
        const double sigma_k = gm.stds[size_t(k)];
        return ab * sigma_k * sigma_k + (1.0 - ab);
    };
    auto centred = [&](int k, int d) {  // x_d - sqrt(ab) mu_kd
        return double(x[d]) - sqrt_ab * double(gm.means[size_t(k) * size_t(dim) + size_t(d)]);
    };
    double log_r_max = -std::numeric_limits<double>::infinity();
    for (int k = 0; k < K; ++k) {
        const double var_k = marginal_var(k);
        double dist2 = 0.0;
        for (int d = 0; d < dim; ++d) {
            const double c = centred(k, d);
            dist2 += c * c;
        }
        // A component of weight 0 gets log r = -inf and responsibility exactly 0.
        r[k] = dmath::log(double(gm.weights[size_t(k)])) - 0.5 * dist2 / var_k - 0.5 * dim * dmath::log(var_k);
        log_r_max = std::max(log_r_max, r[k]);
    }
    double normaliser = 0.0;
    for (int k = 0; k < K; ++k) {
        r[k] = dmath::exp(r[k] - log_r_max);
        normaliser += r[k];
    }
    for (int k = 0; k < K; ++k) r[k] /= normaliser;
    // eps* = -sqrt(1 - ab) grad log q = sqrt(1 - ab) sum_k r_k (x - sqrt(ab) mu_k) / s_k^2
    for (int d = 0; d < dim; ++d) {
        double minus_score = 0.0;  // -(grad log q)_d
        for (int k = 0; k < K; ++k) minus_score += r[k] * (centred(k, d) / marginal_var(k));
        eps[d] = sqrt_one_minus_ab * minus_score;
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Many rows
// ---------------------------------------------------------------------------------------------
void oracle_eps_rows(float* eps_out, const float* x_t, const int* t, int rows, const GaussianMixture& gm,
                     const Schedule& s) {
    const char* where = "oracle_eps";
    check_mixture(gm, where);
    for (int i = 0; i < rows; ++i) check_timestep(t[i], s, where);
    const int dim = gm.dim;
    parallel_range(rows, kRowGrain, [&](int64_t begin, int64_t end) {
        std::vector<double> r(static_cast<size_t>(gm.components()));
        std::vector<double> eps(static_cast<size_t>(dim));
        for (int64_t i = begin; i < end; ++i) {
            posterior_eps_row(eps.data(), x_t + i * dim, gm, s.alpha_bar[size_t(t[i])], r.data());
            for (int d = 0; d < dim; ++d) eps_out[i * dim + d] = float(eps[size_t(d)]);
        }
    });
}

void oracle_eps(float* eps_out, const float* x_t, int rows, const GaussianMixture& gm, const Schedule& s, int t) {
    check_timestep(t, s, "oracle_eps");
    const std::vector<int> t_rows(static_cast<size_t>(std::max(rows, 0)), t);
    oracle_eps_rows(eps_out, x_t, t_rows.data(), rows, gm, s);
}

void oracle_x0(float* x0_out, const float* x_t, int rows, const GaussianMixture& gm, const Schedule& s, int t) {
    const char* where = "oracle_x0";
    check_mixture(gm, where);
    check_timestep(t, s, where);
    const int dim = gm.dim;
    const double ab = s.alpha_bar[size_t(t)];
    const double sqrt_ab = std::sqrt(ab), sqrt_one_minus_ab = std::sqrt(1.0 - ab);
    parallel_range(rows, kRowGrain, [&](int64_t begin, int64_t end) {
        std::vector<double> r(static_cast<size_t>(gm.components()));
        std::vector<double> eps(static_cast<size_t>(dim));
        for (int64_t i = begin; i < end; ++i) {
            const float* x = x_t + i * dim;
            posterior_eps_row(eps.data(), x, gm, ab, r.data());
            // invert x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps with eps replaced by its posterior mean
            for (int d = 0; d < dim; ++d)
                x0_out[i * dim + d] = float((double(x[d]) - sqrt_one_minus_ab * eps[size_t(d)]) / sqrt_ab);
        }
    });
}

}  // namespace ddpm
