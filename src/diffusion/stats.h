// stats.h: the statistics the lessons print: sample moments, z-scores, the two-sample
// Kolmogorov-Smirnov test.
#pragma once

#include <cstdint>
#include <vector>

namespace ddpm {

// Sample moments of n values read with a stride (stride = dim, offset = coordinate, for one column
// of a row-major array). var and m4 are central and divide by n.
struct Moments {
    int64_t n = 0;
    double mean = 0.0;
    double var = 0.0;
    double m4 = 0.0;  // fourth central moment, for the standard error of the variance
};
Moments sample_moments(const float* x, int64_t n, int64_t stride = 1, int64_t offset = 0);

// How far the sample moments sit from the analytic ones, in standard errors:
//   z_mean = (mean - mu) / sqrt(sigma^2 / n),
//   z_var  = (var - sigma^2) / sqrt((m4 - var^2) / n)     (the variance of a sample variance)
// |z| < 3 is what sampling error gives almost always (0.27% beyond it for a normal z).
struct MomentCheck {
    double z_mean = 0.0;
    double z_var = 0.0;
};
MomentCheck check_moments(const Moments& m, double mean, double var);

// Two-sample Kolmogorov-Smirnov test: D = sup_x |F_a(x) - F_b(x)|, and its asymptotic p-value
// Q_KS(sqrt(n_e) D), n_e = n_a n_b / (n_a + n_b), Q_KS(l) = 2 sum_k (-1)^(k-1) exp(-2 k^2 l^2).
struct KSResult {
    double D = 0.0;
    double p_value = 1.0;
};
KSResult ks_two_sample(std::vector<float> a, std::vector<float> b);
double kolmogorov_q(double lambda);

}  // namespace ddpm
