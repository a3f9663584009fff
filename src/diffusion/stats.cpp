#include "diffusion/stats.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/dmath.h"

namespace ddpm {

Moments sample_moments(const float* x, int64_t n, int64_t stride, int64_t offset) {
    if (n <= 0) fail("sample_moments: no values");
    Moments m;
    m.n = n;
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += x[offset + i * stride];
    m.mean = s / double(n);
    double s2 = 0.0, s4 = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        double d = x[offset + i * stride] - m.mean;
        s2 += d * d;
        s4 += d * d * d * d;
    }
    m.var = s2 / double(n);
    m.m4 = s4 / double(n);
    return m;
}

MomentCheck check_moments(const Moments& m, double mean, double var) {
    MomentCheck c;
    // BEGIN SOLUTION L02.1
    const double n = double(m.n);
    c.z_mean = (m.mean - mean) / std::sqrt(var / n);
    c.z_var = (m.var - var) / std::sqrt(std::max(m.m4 - m.var * m.var, 1e-300) / n);
    // END SOLUTION
    return c;
}

double kolmogorov_q(double lambda) {
    if (lambda < 1e-3) return 1.0;
    double sum = 0.0;
    for (int k = 1; k <= 200; ++k) {
        double term = dmath::exp(-2.0 * k * k * lambda * lambda);
        sum += (k % 2 == 1 ? term : -term);
        if (term < 1e-16) break;
    }
    return std::min(1.0, std::max(0.0, 2.0 * sum));
}

KSResult ks_two_sample(std::vector<float> a, std::vector<float> b) {
    if (a.empty() || b.empty()) fail("ks_two_sample: empty sample");
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    const double na = double(a.size()), nb = double(b.size());
    size_t i = 0, j = 0;
    double D = 0.0;
    while (i < a.size() && j < b.size()) {
        const float x = std::min(a[i], b[j]);
        while (i < a.size() && a[i] == x) ++i;  // step over ties on both sides together
        while (j < b.size() && b[j] == x) ++j;
        D = std::max(D, std::fabs(double(i) / na - double(j) / nb));
    }
    KSResult r;
    r.D = D;
    const double ne = na * nb / (na + nb);
    r.p_value = kolmogorov_q((std::sqrt(ne) + 0.12 + 0.11 / std::sqrt(ne)) * D);  // Stephens' small-sample correction
    return r;
}

}  // namespace ddpm
