// core/dmath: the project's own exp, log, sin, cos and integer power against the C library, with
// the error bounds that core/dmath.h promises. (Their point is the same bits everywhere; these
// tests make sure that being portable did not cost accuracy.)
#include <doctest/doctest.h>

#include <cmath>
#include <initializer_list>

#include "core/dmath.h"

using namespace ddpm;

namespace {

// |a - b| in units in the last place of b
double ulps(double a, double b) {
    if (a == b) return 0.0;
    const double ulp = std::nextafter(std::fabs(b), INFINITY) - std::fabs(b);
    return std::fabs(a - b) / ulp;
}

}  // namespace

TEST_CASE("dmath: exp within 1 ulp of the C library on [-708, 709]") {
    double worst = 0.0;
    for (int i = 0; i <= 400000; ++i) {
        const double x = -708.0 + i * (1417.0 / 400000);
        worst = std::fmax(worst, ulps(dmath::exp(x), std::exp(x)));
    }
    CHECK(worst <= 1.0);
    CHECK(dmath::exp(0.0) == 1.0);
    CHECK(dmath::exp(1000.0) == INFINITY);
    CHECK(dmath::exp(-1000.0) == 0.0);
}

TEST_CASE("dmath: log within 3 ulp of the C library from 1e-300 to 1e300") {
    double worst = 0.0;
    for (int i = 1; i <= 400000; ++i) {
        const double x = std::exp(-690.0 + i * (1380.0 / 400000));
        worst = std::fmax(worst, ulps(dmath::log(x), std::log(x)));
    }
    for (int i = 1; i <= 200000; ++i) {  // around 1, where log is small
        const double x = 0.5 + i * (1.5 / 200000);
        worst = std::fmax(worst, ulps(dmath::log(x), std::log(x)));
    }
    CHECK(worst <= 3.0);
    CHECK(dmath::log(1.0) == 0.0);
    CHECK(dmath::log(0.0) == -INFINITY);
    CHECK(std::isnan(dmath::log(-1.0)));
}

TEST_CASE("dmath: sin and cos within 2e-16 absolute on |x| <= 1e4, 2e-15 up to 1e6") {
    double worst = 0.0;
    for (int i = 0; i <= 400000; ++i) {
        const double x = -1e4 + i * (2e4 / 400000);
        worst = std::fmax(worst, std::fabs(dmath::sin(x) - std::sin(x)));
        worst = std::fmax(worst, std::fabs(dmath::cos(x) - std::cos(x)));
    }
    CHECK(worst <= 2e-16);
    double far = 0.0;
    for (int i = 0; i <= 100000; ++i) {
        const double x = 0.1234 + i * 10.0;  // the timestep embedding's largest angles
        far = std::fmax(far, std::fabs(dmath::sin(x) - std::sin(x)));
        far = std::fmax(far, std::fabs(dmath::cos(x) - std::cos(x)));
    }
    CHECK(far <= 2e-15);
    CHECK(dmath::sin(0.0) == 0.0);
    CHECK(dmath::cos(0.0) == 1.0);
}

TEST_CASE("dmath: pow_int within n * 1e-16 relative (Adam's bias correction)") {
    for (double base : {0.9, 0.999, 1.0001}) {
        for (int64_t n = 0; n <= 200000; n += 37) {
            const double exact = std::pow(base, double(n));
            INFO("base " << base << " n " << n);
            CHECK(std::fabs(dmath::pow_int(base, n) - exact) <= (double(n) + 1.0) * 1e-16 * exact);
        }
    }
    CHECK(dmath::pow_int(2.0, 10) == 1024.0);
    CHECK(dmath::pow_int(0.5, 0) == 1.0);
}
