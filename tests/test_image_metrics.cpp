// Image metrics (diffusion/image_metrics.h) on cases whose answers are known in closed form.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diffusion/image_metrics.h"
#include "helpers.h"

using namespace ddpm;
using testing_helpers::random_values;

TEST_CASE("image metrics: RMSE and PSNR of a constant offset") {
    std::vector<float> a = random_values(28 * 28, 1), b = a;
    for (float& v : b) v += 0.25f;
    CHECK(rmse(a.data(), b.data(), 28 * 28) == doctest::Approx(0.25).epsilon(1e-6));
    // PSNR = 20 log10(2 / 0.25) = 18.0618 dB for values in [-1, 1]
    CHECK(psnr(a.data(), b.data(), 28 * 28, 2.0) == doctest::Approx(20.0 * std::log10(8.0)).epsilon(1e-6));
    CHECK(std::isinf(psnr(a.data(), a.data(), 28 * 28, 2.0)));
}

TEST_CASE("L08.1 SSIM is 1 for identical images, and matches its formula on constant and mirrored images") {
    const std::vector<float> a = random_values(28 * 28, 2);
    CHECK(ssim(a.data(), a.data(), 28, 28, 2.0) == doctest::Approx(1.0).epsilon(1e-12));
    // two constant images m1, m2: variances and covariance 0, so SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1)
    const std::vector<float> c1(28 * 28, 0.5f), c2(28 * 28, -0.25f);
    const double C1 = 0.0004;  // (0.01 * 2)^2
    const double expected = (2 * 0.5 * -0.25 + C1) / (0.25 + 0.0625 + C1);
    CHECK(ssim(c1.data(), c2.data(), 28, 28, 2.0) == doctest::Approx(expected).epsilon(1e-9));
    // 0.5 + 0.1 z against 0.5 - 0.1 z: the same means and variances, covariance -var, so
    // SSIM ~ (C2 - 2 var) / (C2 + 2 var) with var ~ 0.01: about -0.7
    std::vector<float> up(a), down(a);
    for (size_t i = 0; i < a.size(); ++i) {
        up[i] = 0.5f + 0.1f * a[i];
        down[i] = 0.5f - 0.1f * a[i];
    }
    CHECK(ssim(up.data(), down.data(), 28, 28, 2.0) < -0.5);
    // noise lowers it, more noise lowers it more
    std::vector<float> n1(a), n2(a);
    const std::vector<float> z = random_values(28 * 28, 3);
    for (size_t i = 0; i < a.size(); ++i) {
        n1[i] += 0.1f * z[i];
        n2[i] += 0.5f * z[i];
    }
    const double s1 = ssim(a.data(), n1.data(), 28, 28, 2.0), s2 = ssim(a.data(), n2.data(), 28, 28, 2.0);
    CHECK(s1 < 1.0);
    CHECK(s2 < s1);
}

TEST_CASE("image metrics: Jacobi's eigendecomposition rebuilds the matrix") {
    const int n = 6;
    const std::vector<float> r = random_values(n * n, 4);
    std::vector<double> A(size_t(n) * n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) A[size_t(i) * n + j] = double(r[size_t(i) * n + j]) + r[size_t(j) * n + i];
    std::vector<double> l, V;
    symmetric_eigen(A, n, l, V);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            double s = 0.0;
            for (int k = 0; k < n; ++k) s += V[size_t(i) * n + k] * l[size_t(k)] * V[size_t(j) * n + k];
            CHECK(s == doctest::Approx(A[size_t(i) * n + j]).epsilon(1e-10));
        }
}

TEST_CASE("image metrics: the Frechet distance of Gaussian samples is near its closed form") {
    // a ~ N(0, diag(1, 4)), b ~ N((1, 0), diag(4, 1)): d^2 = 1 + sum (sqrt(s_a) - sqrt(s_b))^2 = 1 + 1 + 1 = 3
    const int n = 200000, dim = 2;
    std::vector<float> a = random_values(int64_t(n) * dim, 5), b = random_values(int64_t(n) * dim, 6);
    for (int i = 0; i < n; ++i) {
        a[size_t(i) * 2 + 1] *= 2.0f;
        b[size_t(i) * 2] = 2.0f * b[size_t(i) * 2] + 1.0f;
    }
    CHECK(frechet_distance(a.data(), n, b.data(), n, dim) == doctest::Approx(3.0).epsilon(0.02));
    // a set against itself: 0 up to rounding
    CHECK(std::fabs(frechet_distance(a.data(), n, a.data(), n, dim)) < 1e-9);
    // a rotated covariance: the formula needs the matrix square roots, not the diagonals
    const int m = 100000;
    std::vector<float> c = random_values(int64_t(m) * dim, 7), d = random_values(int64_t(m) * dim, 8);
    for (int i = 0; i < m; ++i) {  // c: x and y correlated (rho = 0.8); d: independent, unit
        const float x = c[size_t(i) * 2], y = c[size_t(i) * 2 + 1];
        c[size_t(i) * 2 + 1] = 0.8f * x + 0.6f * y;
    }
    // S_c = [[1, .8], [.8, 1]] with eigenvalues 1.8 and 0.2; S_d = I: d^2 = tr(S_c) + 2 - 2 tr(S_c^{1/2})
    const double expected = 2.0 + 2.0 - 2.0 * (std::sqrt(1.8) + std::sqrt(0.2));
    CHECK(frechet_distance(c.data(), m, d.data(), m, dim) == doctest::Approx(expected).epsilon(0.05));
}
