// helpers.h: small things the tests share.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <doctest/doctest.h>

#include "lessonkit/ddpm.h"

namespace testing_helpers {

// A tensor of normal values, seeded by `stream`.
inline ddpm::Tensor randn(ddpm::Shape shape, uint64_t stream, bool requires_grad = true, float std = 1.0f) {
    ddpm::Tensor t = ddpm::Tensor::zeros(shape, requires_grad);
    ddpm::Rng rng(42, stream);
    rng.fill_normal(t.data(), t.numel(), 0.0f, std);
    return t;
}

// Values bounded away from zero (|x| >= 0.1), for ops with a kink at 0 such as ReLU.
inline ddpm::Tensor randn_away_from_zero(ddpm::Shape shape, uint64_t stream) {
    ddpm::Tensor t = randn(shape, stream);
    for (int64_t i = 0; i < t.numel(); ++i)
        if (std::fabs(t.data()[i]) < 0.1f) t.data()[i] = t.data()[i] < 0 ? -0.1f - t.data()[i] : 0.1f + t.data()[i];
    return t;
}

// The same parameters, bit for bit (names aside): two networks that trained or loaded alike.
inline bool same_bits(const ddpm::Params& a, const ddpm::Params& b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k)
        if (a[k].tensor.numel() != b[k].tensor.numel() ||
            std::memcmp(a[k].tensor.data(), b[k].tensor.data(), sizeof(float) * size_t(a[k].tensor.numel())) != 0)
            return false;
    return true;
}

// A fresh folder under the system's temp folder, named after the test and this process, removed
// (with all it holds) when the test ends.
struct TempDir {
    std::filesystem::path dir;
    explicit TempDir(const std::string& name)
        : dir(std::filesystem::temp_directory_path() / ("ddpm_test_" + std::to_string(getpid()) + "_" + name)) {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& file) const { return (dir / file).string(); }
};

inline double max_abs_diff(const float* a, const float* b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; ++i) m = std::fmax(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

// Normal values, seeded by `stream` (of seed 7), for the kernel tests.
inline std::vector<float> random_values(int64_t n, uint64_t stream, float std = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
    ddpm::Rng rng(7, stream);
    rng.fill_normal(v.data(), n, 0.0f, std);
    return v;
}

// GELU and its derivative in double through std::erf: the accuracy oracle of the kernels.
inline double gelu_exact(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
inline double gelu_derivative_exact(double x) {
    return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
}

// gradcheck(f, inputs) must pass, on at least one element (the failure says where it was worst).
inline void check_grad(const ddpm::GradFunction& f, std::vector<ddpm::Tensor> inputs) {
    const ddpm::GradcheckResult r = ddpm::gradcheck(f, std::move(inputs));
    INFO("max abs error " << r.max_abs_error << ", worst " << r.worst);
    CHECK(r.ok);
    CHECK(r.checked > 0);
}

}  // namespace testing_helpers
