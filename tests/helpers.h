// helpers.h: small things the tests share.
#pragma once

#include <cmath>
#include <vector>

#include "ddpm.h"

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

inline double max_abs_diff(const float* a, const float* b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; ++i) m = std::fmax(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

}  // namespace testing_helpers
