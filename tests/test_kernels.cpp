// The reference kernels of core/kernels.cpp against textbook oracles computed here in double, and the
// approximations against the library functions. (tests/test_fast.cpp compares src/fast/ with them.)
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/dispatch.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

// C + A B in double: C (M,N), A (M,K) or, transposed, stored (K,M), B (K,N)
std::vector<double> product_in_double(const std::vector<float>& C, const std::vector<float>& A,
                                      const std::vector<float>& B, int M, int K, int N, bool a_transposed) {
    std::vector<double> out(C.begin(), C.end());
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n)
            for (int k = 0; k < K; ++k)
                out[size_t(m) * N + n] += double(a_transposed ? A[size_t(k) * M + m] : A[size_t(m) * K + k]) *
                                          B[size_t(k) * N + n];
    return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

}  // namespace

TEST_CASE("kernels: gemm_acc and gemm_acc_tn add A B to C on tiled and ragged shapes") {
    ReferenceOnly reference;
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 34, 32}, {256, 34, 128}, {37, 129, 65}, {64, 256, 130}};
    for (const auto& s : shapes) {
        const int M = s[0], K = s[1], N = s[2];
        INFO("M=" << M << " K=" << K << " N=" << N);
        auto A = random_values(int64_t(M) * K, 1), B = random_values(int64_t(K) * N, 2);
        auto C = random_values(int64_t(M) * N, 3);
        auto C0 = C, C1 = C;
        gemm_acc(C0.data(), A.data(), B.data(), M, K, N);
        CHECK(max_abs_diff(C0, product_in_double(C, A, B, M, K, N, false)) < 1e-4);
        gemm_acc_tn(C1.data(), A.data(), B.data(), M, K, N);  // A read as (K, M)
        CHECK(max_abs_diff(C1, product_in_double(C, A, B, M, K, N, true)) < 1e-4);
    }
}

TEST_CASE("kernels: linear forward and backward are x W + b and its three gradients") {
    ReferenceOnly reference;
    const int B = 37, IC = 34, OC = 65;
    auto x = random_values(int64_t(B) * IC, 4), w = random_values(int64_t(IC) * OC, 5), b = random_values(OC, 6);
    auto dout = random_values(int64_t(B) * OC, 7);
    std::vector<float> y(size_t(B) * OC);
    linear_forward(y.data(), x.data(), w.data(), b.data(), B, IC, OC);
    std::vector<float> bias_rows(size_t(B) * OC);
    for (int r = 0; r < B; ++r)
        for (int o = 0; o < OC; ++o) bias_rows[size_t(r) * OC + o] = b[size_t(o)];
    CHECK(max_abs_diff(y, product_in_double(bias_rows, x, w, B, IC, OC, false)) < 1e-4);

    std::vector<float> dx(size_t(B) * IC, 0.5f), dw(size_t(IC) * OC, 0.25f), db(size_t(OC), -1.0f);
    const auto dx_before = dx, dw_before = dw;  // backward adds into what is there
    linear_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), B, IC, OC);
    std::vector<float> w_t(size_t(OC) * IC);  // (OC, IC)
    transpose(w_t.data(), w.data(), IC, OC);
    CHECK(max_abs_diff(dx, product_in_double(dx_before, dout, w_t, B, OC, IC, false)) < 1e-4);  // dx += G W^T
    CHECK(max_abs_diff(dw, product_in_double(dw_before, x, dout, IC, B, OC, true)) < 1e-4);     // dW += x^T G
    for (int o = 0; o < OC; ++o) {
        double sum = -1.0;
        for (int r = 0; r < B; ++r) sum += dout[size_t(r) * OC + o];
        CHECK(db[size_t(o)] == doctest::Approx(sum).epsilon(1e-5));
    }
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

TEST_CASE("kernels: gelu and silu agree with the exact functions in double") {
    ReferenceOnly reference;
    const int64_t n = 70001;
    auto x = random_values(n, 8, 3.0f);
    auto g = random_values(n, 9);
    std::vector<float> y(n), d(n, 0.0f);
    gelu_forward(y.data(), x.data(), n);
    gelu_backward(d.data(), x.data(), g.data(), n);
    double worst_y = 0.0, worst_d = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        worst_y = std::fmax(worst_y, std::fabs(y[i] - gelu_exact(x[i])));
        worst_d = std::fmax(worst_d, std::fabs(d[i] - g[i] * gelu_derivative_exact(x[i])));
    }
    CHECK(worst_y < 2e-6);
    CHECK(worst_d < 5e-6);

    std::fill(d.begin(), d.end(), 0.0f);
    silu_forward(y.data(), x.data(), n);
    silu_backward(d.data(), x.data(), g.data(), n);
    worst_y = worst_d = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double xi = x[i], s = 1.0 / (1.0 + std::exp(-xi));
        worst_y = std::fmax(worst_y, std::fabs(y[i] - xi * s));
        worst_d = std::fmax(worst_d, std::fabs(d[i] - g[i] * (s + xi * s * (1.0 - s))));
    }
    CHECK(worst_y < 5e-6);
    CHECK(worst_d < 5e-6);
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
