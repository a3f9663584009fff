#include "core/dmath.h"

#include <cmath>
#include <limits>

namespace ddpm {
namespace dmath {

namespace {

using namespace detail;
const double kInvLn2 = 1.44269504088896338700e+00;

// Horner's rule over coefficients c[0] + c[1] x + ... + c[n-1] x^(n-1).
double horner(const double* c, int n, double x) {
    double p = c[n - 1];
    for (int i = n - 2; i >= 0; --i) p = p * x + c[i];
    return p;
}

// 1/k! for k = 0..13: exp(r) on |r| <= ln2/2 to 4e-18 relative (the first term left out is
// r^14/14! < 0.347^14 / 8.7e10).
const double kExpTaylor[14] = {1.0,
                               1.0,
                               1.0 / 2,
                               1.0 / 6,
                               1.0 / 24,
                               1.0 / 120,
                               1.0 / 720,
                               1.0 / 5040,
                               1.0 / 40320,
                               1.0 / 362880,
                               1.0 / 3628800,
                               1.0 / 39916800,
                               1.0 / 479001600,
                               1.0 / 6227020800.0};

// x = n pi/2 + r, |r| <= pi/4 (for |x| within range)
double reduce_pio2(double x, int64_t* n) {
    const double k = std::nearbyint(x * kTwoOverPi);
    *n = int64_t(k);
    double r = x - k * kPio2_1;
    r = r - k * kPio2_2;
    r = r - k * kPio2_3;
    return r;
}

double sin_poly(double r) {
    const double r2 = r * r;
    return r * horner(kSinTaylor, 9, r2);
}

double cos_poly(double r) { return horner(kCosTaylor, 10, r * r); }

}  // namespace

// exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in two parts.
double exp(double x) {
    if (x != x) return x;
    if (x > 709.78) return std::numeric_limits<double>::infinity();
    if (x < -745.0) return 0.0;
    const double n = std::nearbyint(x * kInvLn2);
    double r = x - n * kLn2Hi;
    r = r - n * kLn2Lo;
    return std::ldexp(horner(kExpTaylor, 14, r), int(n));
}

// x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...),
// s = (m - 1) / (m + 1), |s| <= 0.1716, so s^2 <= 0.0295 and eleven odd terms reach 1e-18.
double log(double x) {
    if (x != x || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
    if (x == 0.0) return -std::numeric_limits<double>::infinity();
    if (x == std::numeric_limits<double>::infinity()) return x;
    int e = 0;
    double m = std::frexp(x, &e);  // x = m 2^e, m in [0.5, 1)
    if (m < kSqrtHalf) {
        m = m * 2.0;
        e = e - 1;
    }
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    const double log_m = 2.0 * s * horner(kOdd, 11, s2);
    return (e * kLn2Hi + log_m) + e * kLn2Lo;
}

double sin(double x) {
    int64_t n = 0;
    const double r = reduce_pio2(x, &n);
    switch (n & 3) {
        case 0: return sin_poly(r);
        case 1: return cos_poly(r);
        case 2: return -sin_poly(r);
        default: return -cos_poly(r);
    }
}

double cos(double x) {
    int64_t n = 0;
    const double r = reduce_pio2(x, &n);
    switch (n & 3) {
        case 0: return cos_poly(r);
        case 1: return -sin_poly(r);
        case 2: return -cos_poly(r);
        default: return sin_poly(r);
    }
}

double pow_int(double base, int64_t n) {
    double result = 1.0, square = base;
    for (; n > 0; n >>= 1) {
        if (n & 1) result = result * square;
        square = square * square;
    }
    return result;
}

}  // namespace dmath
}  // namespace ddpm
