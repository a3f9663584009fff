// The counter-based generator: known answers, moments, independence from the thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "helpers.h"

using namespace ddpm;

TEST_CASE("rng: Philox4x32-10 known-answer vectors (Random123)") {
    uint32_t r[4];
    philox4x32(0, 0, 0, r);
    CHECK(r[0] == 0x6627e8d5u);
    CHECK(r[1] == 0xe169c58du);
    CHECK(r[2] == 0xbc57ac4cu);
    CHECK(r[3] == 0x9b00dbd8u);
    philox4x32(~0ull, ~0ull, ~0ull, r);
    CHECK(r[0] == 0x408f276du);
    CHECK(r[1] == 0x41c83b0eu);
    CHECK(r[2] == 0xa20bc7c6u);
    CHECK(r[3] == 0x6d5451fdu);
}

TEST_CASE("rng: uniform and normal moments") {
    const int64_t n = 1 << 20;
    std::vector<float> u(n), z(n);
    Rng rng(3, 1);
    rng.fill_uniform(u.data(), n);
    rng.fill_normal(z.data(), n);
    double su = 0, su2 = 0, sz = 0, sz2 = 0, sz3 = 0, sz4 = 0;
    int64_t outside = 0;
    for (int64_t i = 0; i < n; ++i) {
        outside += (u[size_t(i)] < 0.0f || u[size_t(i)] >= 1.0f) ? 1 : 0;
        su += u[size_t(i)];
        su2 += double(u[size_t(i)]) * u[size_t(i)];
        double x = z[size_t(i)];
        sz += x; sz2 += x * x; sz3 += x * x * x; sz4 += x * x * x * x;
    }
    CHECK(outside == 0);
    // Tolerances are 5 standard errors of each estimate at n = 2^20.
    CHECK(std::fabs(su / n - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
    CHECK(std::fabs(su2 / n - 1.0 / 3) < 5 * std::sqrt(4.0 / 45 / n));
    CHECK(std::fabs(sz / n) < 5 / std::sqrt(double(n)));
    CHECK(std::fabs(sz2 / n - 1.0) < 5 * std::sqrt(2.0 / n));
    CHECK(std::fabs(sz3 / n) < 5 * std::sqrt(15.0 / n));
    CHECK(std::fabs(sz4 / n - 3.0) < 5 * std::sqrt(96.0 / n));
}

TEST_CASE("rng: streams and seeds differ, the same key repeats") {
    CHECK(normal_at(1, 0, 5) == normal_at(1, 0, 5));
    CHECK(normal_at(1, 0, 5) != normal_at(1, 1, 5));
    CHECK(normal_at(1, 0, 5) != normal_at(2, 0, 5));
    Rng a(9, 2), b(9, 2);
    std::vector<float> x(10), y(10);
    a.fill_normal(x.data(), 4);
    a.fill_normal(x.data() + 4, 6);
    b.fill_normal(y.data(), 10);
    CHECK(std::memcmp(x.data(), y.data(), sizeof(float) * 10) == 0);  // draws split or whole: the same
}

TEST_CASE("rng: fills are identical for any thread count") {
    const int64_t n = 100000;
    std::vector<float> one(n), two(n);
    int saved = num_threads();
    set_num_threads(1);
    Rng(5, 0).fill_normal(one.data(), n);
    set_num_threads(2);
    Rng(5, 0).fill_normal(two.data(), n);
    set_num_threads(saved);
    CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * n) == 0);
}

TEST_CASE("rng: randint covers its range evenly") {
    Rng rng(4, 0);
    std::vector<int> counts(10, 0);
    for (int i = 0; i < 100000; ++i) {
        int k = rng.randint(1, 10);
        REQUIRE(k >= 1);
        REQUIRE(k <= 10);
        counts[size_t(k - 1)]++;
    }
    for (int c : counts) CHECK(std::abs(c - 10000) < 5 * 95);  // sd = sqrt(100000 * 0.1 * 0.9) ~ 95
    CHECK_THROWS(rng.randint(3, 2));
}
