// Fast kernels against their naive twins, and the approximations against the library functions.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

std::vector<float> random_values(int64_t n, uint64_t stream, float std = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
    Rng rng(7, stream);
    rng.fill_normal(v.data(), n, 0.0f, std);
    return v;
}

}  // namespace

TEST_CASE("kernels: gemm_acc matches the naive loops on tiled and ragged shapes") {
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 34, 32}, {256, 34, 128}, {37, 129, 65}, {64, 256, 130}};
    for (const auto& s : shapes) {
        const int M = s[0], K = s[1], N = s[2];
        auto A = random_values(int64_t(M) * K, 1), B = random_values(int64_t(K) * N, 2);
        auto C0 = random_values(int64_t(M) * N, 3);
        auto C1 = C0;
        gemm_acc(C0.data(), A.data(), B.data(), M, K, N);
        gemm_acc_naive(C1.data(), A.data(), B.data(), M, K, N);
        INFO("M=" << M << " K=" << K << " N=" << N);
        CHECK(max_abs_diff(C0.data(), C1.data(), int64_t(M) * N) < 1e-4);
    }
}

TEST_CASE("kernels: linear forward and backward match the naive twins") {
    const int B = 37, IC = 34, OC = 65;
    auto x = random_values(int64_t(B) * IC, 4), w = random_values(int64_t(IC) * OC, 5), b = random_values(OC, 6);
    auto dout = random_values(int64_t(B) * OC, 7);
    std::vector<float> y0(size_t(B) * OC), y1(size_t(B) * OC);
    linear_forward(y0.data(), x.data(), w.data(), b.data(), B, IC, OC);
    linear_forward_naive(y1.data(), x.data(), w.data(), b.data(), B, IC, OC);
    CHECK(max_abs_diff(y0.data(), y1.data(), int64_t(B) * OC) < 1e-4);

    std::vector<float> dx0(size_t(B) * IC, 0.5f), dw0(size_t(IC) * OC, 0.25f), db0(size_t(OC), -1.0f);
    auto dx1 = dx0, dw1 = dw0, db1 = db0;  // backward adds into what is there
    linear_backward(dx0.data(), dw0.data(), db0.data(), dout.data(), x.data(), w.data(), B, IC, OC);
    linear_backward_naive(dx1.data(), dw1.data(), db1.data(), dout.data(), x.data(), w.data(), B, IC, OC);
    CHECK(max_abs_diff(dx0.data(), dx1.data(), int64_t(B) * IC) < 1e-4);
    CHECK(max_abs_diff(dw0.data(), dw1.data(), int64_t(IC) * OC) < 1e-4);
    CHECK(max_abs_diff(db0.data(), db1.data(), OC) < 1e-4);
}

TEST_CASE("kernels: exp_approx and erf_approx are accurate") {
    double worst_exp = 0.0, worst_erf = 0.0;
    for (int i = -8700; i <= 8800; ++i) {
        float x = i * 0.01f;
        double rel = std::fabs(exp_approx(x) - std::exp(double(x))) / std::exp(double(x));
        worst_exp = std::fmax(worst_exp, rel);
    }
    for (int i = -600; i <= 600; ++i) {
        float x = i * 0.01f;
        worst_erf = std::fmax(worst_erf, std::fabs(erf_approx(x) - std::erf(double(x))));
    }
    CHECK(worst_exp < 2e-7);
    CHECK(worst_erf < 3e-7);  // A&S 7.1.26 bound 1.5e-7, plus float rounding
}

TEST_CASE("kernels: gelu and silu match the naive twins") {
    const int64_t n = 70001;  // more than one chunk
    auto x = random_values(n, 8, 3.0f);
    auto g = random_values(n, 9);
    std::vector<float> y0(n), y1(n), d0(n, 0.0f), d1(n, 0.0f);
    gelu_forward(y0.data(), x.data(), n);
    gelu_forward_naive(y1.data(), x.data(), n);
    CHECK(max_abs_diff(y0.data(), y1.data(), n) < 2e-6);
    gelu_backward(d0.data(), x.data(), g.data(), n);
    gelu_backward_naive(d1.data(), x.data(), g.data(), n);
    CHECK(max_abs_diff(d0.data(), d1.data(), n) < 5e-6);

    std::fill(d0.begin(), d0.end(), 0.0f);
    std::fill(d1.begin(), d1.end(), 0.0f);
    silu_forward(y0.data(), x.data(), n);
    silu_forward_naive(y1.data(), x.data(), n);
    CHECK(max_abs_diff(y0.data(), y1.data(), n) < 5e-6);
    silu_backward(d0.data(), x.data(), g.data(), n);
    silu_backward_naive(d1.data(), x.data(), g.data(), n);
    CHECK(max_abs_diff(d0.data(), d1.data(), n) < 5e-6);
}

TEST_CASE("kernels: sum_chunked adds in double") {
    std::vector<float> v(100000, 0.1f);
    CHECK(sum_chunked(v.data(), int64_t(v.size())) == doctest::Approx(100000 * double(0.1f)).epsilon(1e-12));
    CHECK(sum_chunked(v.data(), 0) == 0.0);
}

TEST_CASE("kernels: timestep embedding has sin and cos halves") {
    const int dim = 8;
    float t[2] = {0.0f, 3.0f};
    std::vector<float> out(2 * dim);
    timestep_embedding(out.data(), t, 2, dim);
    for (int i = 0; i < 4; ++i) {
        CHECK(out[i] == doctest::Approx(0.0));       // sin(0)
        CHECK(out[4 + i] == doctest::Approx(1.0));   // cos(0)
        double w = std::pow(10000.0, -i / 4.0);
        CHECK(out[dim + i] == doctest::Approx(std::sin(3.0 * w)).epsilon(1e-6));
        CHECK(out[dim + 4 + i] == doctest::Approx(std::cos(3.0 * w)).epsilon(1e-6));
    }
}
