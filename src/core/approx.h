// approx.h: exp and erf without library calls or branches, inline, so that loops over them
// vectorise. The reference kernels (kernels.cpp) and the fast ones (src/fast/) both use these, so
// they compute the same bits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/madd.h"

namespace ddpm {

// exp(x) = 2^n exp(r), n = round(x / ln 2), |r| <= ln2 / 2 (Cody-Waite split of ln 2);
// exp(r) by its Taylor polynomial of degree 7 (truncation error < 1e-8 relative).
// Relative error < 2e-7 on [-87, 88]; x is clamped to that range.
inline float exp_approx(float x) {
    x = std::min(std::max(x, -87.0f), 88.0f);
    const float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    float n = madd(x, 1.44269504088896341f, round_magic) - round_magic;
    float r = madd(-n, 0.693145751953125f, x);    // ln 2, high bits
    r = madd(-n, 1.428606765330187045e-06f, r);  // ln 2, low bits
    float p = 1.0f / 5040.0f;  // Horner's rule, one fused multiply-add a step
    p = madd(p, r, 1.0f / 720.0f);
    p = madd(p, r, 1.0f / 120.0f);
    p = madd(p, r, 1.0f / 24.0f);
    p = madd(p, r, 1.0f / 6.0f);
    p = madd(p, r, 0.5f);
    p = madd(p, r, 1.0f);
    p = madd(p, r, 1.0f);
    int32_t bits = (int32_t(n) + 127) << 23;  // 2^n, written into the exponent field
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// erf(x) by Abramowitz and Stegun 7.1.26 (|error| <= 1.5e-7), odd symmetry for x < 0, given
// exp(-x^2), which the caller often has already (GELU does).
inline float erf_from_gauss(float x, float exp_minus_x2) {
    float ax = std::fabs(x);
    float t = 1.0f / madd(0.3275911f, ax, 1.0f);
    float poly = 1.061405429f;  // Horner's rule, one fused multiply-add a step
    poly = madd(poly, t, -1.453152027f);
    poly = madd(poly, t, 1.421413741f);
    poly = madd(poly, t, -0.284496736f);
    poly = madd(poly, t, 0.254829592f);
    float y = madd(-(poly * t), exp_minus_x2, 1.0f);
    return std::copysign(y, x);
}

// Absolute error < 3e-7 (1.5e-7 of the formula, plus float rounding).
inline float erf_approx(float x) { return erf_from_gauss(x, exp_approx(-x * x)); }

// GELU(x) = x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2 (kernels.h), in parts that every GELU
// loop shares (the reference's and src/fast/'s, forward and backward), so that each computes the same
// bits: gauss = exp(-x^2 / 2), Phi from it, and Phi'(x) = gauss / sqrt(2 pi).
inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143268f;
inline float gelu_gauss(float x) { return exp_approx(-0.5f * x * x); }
inline float gelu_cdf(float x, float gauss) { return 0.5f * (1.0f + erf_from_gauss(x * kInvSqrt2, gauss)); }
// GELU(x), one value: what gelu_forward computes for each
inline float gelu_approx(float x) { return x * gelu_cdf(x, gelu_gauss(x)); }
// dGELU/dx = Phi(x) + x Phi'(x), given gauss and Phi of x
inline float gelu_slope(float x, float cdf, float gauss) { return cdf + x * kInvSqrt2Pi * gauss; }

// SiLU(x) = x sigmoid(x), one value, as silu_forward computes it.
inline float silu_approx(float x) { return x / (1.0f + exp_approx(-x)); }

}  // namespace ddpm
