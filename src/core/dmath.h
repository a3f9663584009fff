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

}  // namespace dmath
}  // namespace ddpm
