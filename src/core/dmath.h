// dmath.h: exp, log, sin, cos and integer powers in double, written in plain IEEE arithmetic, so
// that they give the same bits on every machine and compiler (docs/reproducibility.md).
//
// The C library's versions differ between systems in their last bits (glibc, musl, Apple's libm and
// each compiler's built-ins round differently), and a last bit that differs in a random normal or a
// timestep embedding ends in a different table. These use only +, -, *, /, and the operations that
// IEEE 754 defines exactly (nearbyint, frexp, ldexp, fabs), with the build's -ffp-contract=off.
// Accuracy against libm: tests/test_dmath.cpp states and checks the bounds (a few units in the last
// place; sin and cos to 2e-16 absolute on |x| <= 1e4).
#pragma once

#include <cstdint>

namespace ddpm {
namespace dmath {

const double kPi = 3.14159265358979323846;

double exp(double x);     // x in [-708, 709]; below, 0; above, +inf
double log(double x);     // x > 0 and finite; log(0) = -inf, NaN for x < 0
double sin(double x);     // |x| <= 1e9 (Cody-Waite reduction; larger |x| loses accuracy)
double cos(double x);     // |x| <= 1e9
double pow_int(double base, int64_t n);  // base^n by squaring, n >= 0
inline double square(double x) { return x * x; }

// The constants of log and cos, shared with src/fast/'s vector form of the normal draws, which must
// compute exactly what log and cos compute.
namespace detail {
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^20 (kLn2Hi has 32 significant bits).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
// pi/2 in three parts of 33 significant bits each: n * part is exact for |n| < 2^20, and their sum
// carries pi/2 to about 100 bits (Cody and Waite's reduction).
constexpr double kPio2_1 = 1.57079632673412561417e+00;
constexpr double kPio2_2 = 6.07710050650619224932e-11;
constexpr double kPio2_3 = 2.02226624879595063154e-21;
constexpr double kTwoOverPi = 6.36619772367581382433e-01;
constexpr double kSqrtHalf = 0.70710678118654752440;
// 1 / (2k + 1), k = 0..10: log m = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...)
constexpr double kOdd[11] = {1.0,      1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9, 1.0 / 11,
                             1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21};
// sin(r) / r and cos(r) as polynomials in r^2 on |r| <= pi/4 (Taylor; the terms left out are below
// (pi/4)^19 / 19! ~ 1e-19 and (pi/4)^20 / 20! ~ 3e-21).
constexpr double kSinTaylor[9] = {1.0,
                                  -1.0 / 6,
                                  1.0 / 120,
                                  -1.0 / 5040,
                                  1.0 / 362880,
                                  -1.0 / 39916800,
                                  1.0 / 6227020800.0,
                                  -1.0 / 1307674368000.0,
                                  1.0 / 355687428096000.0};
constexpr double kCosTaylor[10] = {1.0,
                                   -1.0 / 2,
                                   1.0 / 24,
                                   -1.0 / 720,
                                   1.0 / 40320,
                                   -1.0 / 3628800,
                                   1.0 / 479001600,
                                   -1.0 / 87178291200.0,
                                   1.0 / 20922789888000.0,
                                   -1.0 / 6402373705728000.0};
}  // namespace detail

}  // namespace dmath
}  // namespace ddpm
