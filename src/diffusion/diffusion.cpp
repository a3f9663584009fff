#include "diffusion/diffusion.h"

#include <cmath>
#include <string>

#include "core/common.h"
#include "core/dmath.h"

namespace ddpm {

namespace {

void check_t(const Schedule& s, int t, int lowest, const char* who) {
    if (t < lowest || t > s.T)
        fail(std::string(who) + ": t = " + std::to_string(t) + " outside [" + std::to_string(lowest) + ", " +
             std::to_string(s.T) + "]");
}

}  // namespace

void q_step(float* x_t, const float* x_prev, const float* eps, int64_t n, const Schedule& s, int t) {
    check_t(s, t, 1, "q_step");
    // BEGIN SOLUTION L01.2
    const float keep = float(std::sqrt(1.0 - s.beta[size_t(t)]));
    const float noise = float(std::sqrt(s.beta[size_t(t)]));
    for (int64_t i = 0; i < n; ++i) x_t[i] = keep * x_prev[i] + noise * eps[i];
    // END SOLUTION
}

void q_sample(float* x_t, const float* x0, const float* eps, int64_t n, const Schedule& s, int t) {
    check_t(s, t, 0, "q_sample");
    // BEGIN SOLUTION L01.3
    const float signal = float(std::sqrt(s.alpha_bar[size_t(t)]));
    const float noise = float(std::sqrt(1.0 - s.alpha_bar[size_t(t)]));
    for (int64_t i = 0; i < n; ++i) x_t[i] = signal * x0[i] + noise * eps[i];
    // END SOLUTION
}

void q_sample_rows(float* x_t, const float* x0, const float* eps, const int* t, int rows, int dim,
                   const Schedule& s) {
    for (int b = 0; b < rows; ++b) {
        const int64_t offset = int64_t(b) * dim;
        q_sample(x_t + offset, x0 + offset, eps + offset, dim, s, t[b]);
    }
}

double forward_mean(double m0, const Schedule& s, int t) {
    check_t(s, t, 0, "forward_mean");
    return std::sqrt(s.alpha_bar[size_t(t)]) * m0;
}

double forward_var(double v0, const Schedule& s, int t) {
    check_t(s, t, 0, "forward_var");
    return s.alpha_bar[size_t(t)] * v0 + 1.0 - s.alpha_bar[size_t(t)];
}

GaussianMixture q_marginal(const GaussianMixture& data, const Schedule& s, int t) {
    check_t(s, t, 0, "q_marginal");
    const double ab = s.alpha_bar[size_t(t)];
    GaussianMixture out = data;
    for (float& m : out.means) m = float(std::sqrt(ab) * m);
    for (float& sd : out.stds) sd = float(std::sqrt(ab * double(sd) * sd + 1.0 - ab));
    return out;
}

double mixture_pdf_1d(const GaussianMixture& gm, double x) {
    if (gm.dim != 1) fail("mixture_pdf_1d: the mixture is " + std::to_string(gm.dim) + "-D");
    double p = 0.0;
    for (size_t k = 0; k < gm.weights.size(); ++k) {
        const double z = (x - gm.means[k]) / gm.stds[k];
        p += gm.weights[k] * dmath::exp(-0.5 * z * z) / (gm.stds[k] * std::sqrt(2.0 * dmath::kPi));
    }
    return p;
}

}  // namespace ddpm
