// Sample distances: the sliced Wasserstein-1 and the energy distance, checked against values worked
// out by hand, against known population values, and for bit-identical results on any thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "diffusion/data.h"
#include "diffusion/metrics.h"
#include "core/pool.h"
#include "core/rng.h"

using namespace ddpm;

namespace {

// Restores the thread count when a test ends.
struct ThreadsGuard {
    int saved = num_threads();
    ~ThreadsGuard() { set_num_threads(saved); }
};

// n rows of N(mean, diag(std^2)) in dim = mean.size() dimensions.
std::vector<float> normal_sample(int n, const std::vector<float>& mean, const std::vector<float>& std,
                                 uint64_t seed) {
    const size_t dim = mean.size();
    std::vector<float> x(static_cast<size_t>(n) * dim);
    Rng rng(seed, 0);
    rng.fill_normal(x.data(), int64_t(x.size()));
    for (size_t i = 0; i < size_t(n); ++i)
        for (size_t d = 0; d < dim; ++d) x[i * dim + d] = mean[d] + std[d] * x[i * dim + d];
    return x;
}

// Rotates every 2-D row by `angle` radians.
std::vector<float> rotate_2d(const std::vector<float>& x, double angle) {
    std::vector<float> out(x.size());
    const double c = std::cos(angle), s = std::sin(angle);
    for (size_t i = 0; i + 1 < x.size(); i += 2) {
        out[i] = float(c * x[i] - s * x[i + 1]);
        out[i + 1] = float(s * x[i] + c * x[i + 1]);
    }
    return out;
}

double w1_1d(const std::vector<float>& a, const std::vector<float>& b) {
    return sliced_wasserstein1(a.data(), int(a.size()), b.data(), int(b.size()), 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1-D Wasserstein-1
// ---------------------------------------------------------------------------------------------
TEST_CASE("L04.3 W1 of two point masses is the distance between them") {
    CHECK(w1_1d({1.5f}, {-2.25f}) == 3.75);
    CHECK(w1_1d({-2.25f}, {1.5f}) == 3.75);
    CHECK(w1_1d({4.0f, 4.0f, 4.0f}, {1.0f, 1.0f}) == 3.0);  // repeated points are still one mass each
}

TEST_CASE("metrics: W1 of a sample against itself, or a shuffled copy, is 0") {
    const std::vector<float> a = normal_sample(1000, {0.0f}, {1.0f}, 1);
    std::vector<float> shuffled(a.rbegin(), a.rend());
    CHECK(w1_1d(a, a) == 0.0);
    CHECK(w1_1d(a, shuffled) == 0.0);
    const std::vector<float> cloud = normal_sample(500, {0.0f, 1.0f, -1.0f}, {1.0f, 2.0f, 0.5f}, 2);
    CHECK(sliced_wasserstein1(cloud.data(), 500, cloud.data(), 500, 3) == 0.0);
}

TEST_CASE("L04.3 W1 with unequal sample sizes is exact") {
    // Quantile functions: a = 0 on (0, 1/2], 1 on (1/2, 1]; b = 0, 1, 2 on thirds of (0, 1].
    // |a - b| = 1 on (1/3, 1/2] and on (2/3, 1]: W1 = 1/6 + 1/3 = 1/2.
    CHECK(w1_1d({0, 1}, {0, 0, 1, 1, 2, 2}) == 0.5);
    CHECK(w1_1d({0, 0, 1, 1, 2, 2}, {0, 1}) == 0.5);
    // Area between the CDFs: |1/3 - 1/2| on [0, 1), |2/3 - 1/2| on [1, 2), |1 - 1/2| on [2, 10): 13/3.
    CHECK(w1_1d({2, 0, 1}, {10, 0}) == doctest::Approx(13.0 / 3.0).epsilon(1e-15));
    CHECK(w1_1d({0}, {0, 3}) == 1.5);
}

TEST_CASE("L04.3 W1 between samples of N(0, 1) and N(0.5, 1) is close to the shift 0.5") {
    // For a pure shift the quantile functions differ by the shift everywhere: W1 = 0.5 exactly in the
    // population. The difference of the two sample means alone has a standard deviation of 0.01.
    const std::vector<float> a = normal_sample(20000, {0.0f}, {1.0f}, 3);
    const std::vector<float> b = normal_sample(20000, {0.5f}, {1.0f}, 4);
    CHECK(std::fabs(w1_1d(a, b) - 0.5) < 0.03);
}

// ---------------------------------------------------------------------------------------------
// Sliced Wasserstein-1
// ---------------------------------------------------------------------------------------------
TEST_CASE("metrics: sliced W1 of two 2-D point masses is |a - b| times the mean |cos| = 2 / pi") {
    const std::vector<float> a = {1.0f, 2.0f}, b = {4.0f, -2.0f};  // 5 apart
    const double swd = sliced_wasserstein1(a.data(), 1, b.data(), 1, 2, 4096, 7);
    CHECK(swd == doctest::Approx(5.0 * 2.0 / M_PI).epsilon(0.02));
}

TEST_CASE("metrics: sliced W1 is exactly symmetric, and only approximately rotation invariant") {
    const std::vector<float> a = normal_sample(1500, {0.0f, 0.0f}, {1.0f, 0.3f}, 5);
    const std::vector<float> b = normal_sample(1100, {0.8f, 0.0f}, {0.5f, 1.0f}, 6);
    const double ab = sliced_wasserstein1(a.data(), 1500, b.data(), 1100, 2);
    const double ba = sliced_wasserstein1(b.data(), 1100, a.data(), 1500, 2);
    CHECK(ab == ba);
    // Rotating both clouds turns every direction into another one; the average over a finite set of
    // random directions then changes a little (it is a Monte Carlo estimate of the mean over the circle).
    const std::vector<float> a_rot = rotate_2d(a, 0.9), b_rot = rotate_2d(b, 0.9);
    const double rotated = sliced_wasserstein1(a_rot.data(), 1500, b_rot.data(), 1100, 2, 2048);
    const double original = sliced_wasserstein1(a.data(), 1500, b.data(), 1100, 2, 2048);
    CHECK(rotated == doctest::Approx(original).epsilon(0.02));
}

TEST_CASE("metrics: the seed fixes the directions") {
    const std::vector<float> a = normal_sample(300, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}, 8);
    const std::vector<float> b = normal_sample(300, {0.0f, 1.0f, 0.0f}, {1.0f, 1.0f, 3.0f}, 9);
    const double first = sliced_wasserstein1(a.data(), 300, b.data(), 300, 3, 32, 11);
    CHECK(sliced_wasserstein1(a.data(), 300, b.data(), 300, 3, 32, 11) == first);
    CHECK(sliced_wasserstein1(a.data(), 300, b.data(), 300, 3, 32, 12) != first);
}

// ---------------------------------------------------------------------------------------------
// Energy distance
// ---------------------------------------------------------------------------------------------
TEST_CASE("metrics: energy distance of two tiny samples, by hand") {
    // a = {0, 1}, b = {3, 5}: E|A - B| = (3 + 5 + 2 + 4) / 4 = 3.5, E|A - A'| = 1, E|B - B'| = 2.
    const std::vector<float> a = {0, 1}, b = {3, 5};
    CHECK(energy_distance(a.data(), 2, b.data(), 2, 1) == doctest::Approx(2 * 3.5 - 1 - 2).epsilon(1e-15));
    // In 2-D, a 3-4-5 triangle: E|A - B| = 5 for the single pair.
    const std::vector<float> p = {0, 0, 0, 0}, q = {3, 4, 3, 4};
    CHECK(energy_distance(p.data(), 2, q.data(), 2, 2) == 10.0);
    CHECK_THROWS_WITH(energy_distance(a.data(), 1, b.data(), 2, 1),
                      "energy_distance: sample a needs at least 2 rows, got 1");
}

TEST_CASE("metrics: energy distance is ~0 for samples of the same normal, clearly positive after a shift") {
    // Replicates give the standard error of the estimate; its mean must be within 4 of them of 0.
    const int replicates = 40, n = 400;
    std::vector<double> same, shifted;
    for (int r = 0; r < replicates; ++r) {
        const std::vector<float> a = normal_sample(n, {0.0f, 0.0f}, {1.0f, 1.0f}, 100 + 3 * uint64_t(r));
        const std::vector<float> b = normal_sample(n, {0.0f, 0.0f}, {1.0f, 1.0f}, 101 + 3 * uint64_t(r));
        const std::vector<float> c = normal_sample(n, {0.5f, 0.0f}, {1.0f, 1.0f}, 102 + 3 * uint64_t(r));
        same.push_back(energy_distance(a.data(), n, b.data(), n, 2));
        shifted.push_back(energy_distance(a.data(), n, c.data(), n, 2));
    }
    double mean = 0.0, mean_shifted = 0.0;
    for (int r = 0; r < replicates; ++r) {
        mean += same[size_t(r)] / replicates;
        mean_shifted += shifted[size_t(r)] / replicates;
    }
    double var = 0.0;
    for (double e : same) var += (e - mean) * (e - mean) / (replicates - 1);
    const double sd = std::sqrt(var), standard_error = sd / std::sqrt(double(replicates));
    INFO("mean " << mean << ", sd of one estimate " << sd << ", shifted " << mean_shifted);
    CHECK(std::fabs(mean) < 4.0 * standard_error);
    for (double e : shifted) CHECK(e > 5.0 * sd);
}

// ---------------------------------------------------------------------------------------------
// Determinism and the report
// ---------------------------------------------------------------------------------------------
TEST_CASE("metrics: both distances give the same bits with 1 and 2 threads") {
    ThreadsGuard guard;
    const std::vector<float> a = normal_sample(3000, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}, 20);
    const std::vector<float> b = normal_sample(2500, {0.2f, 0.0f, 0.0f}, {1.0f, 0.5f, 1.0f}, 21);
    double swd[2], energy[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        swd[threads - 1] = sliced_wasserstein1(a.data(), 3000, b.data(), 2500, 3, 64, 3);
        energy[threads - 1] = energy_distance(a.data(), 3000, b.data(), 2500, 3);
    }
    CHECK(swd[0] == swd[1]);
    CHECK(energy[0] == energy[1]);
}

TEST_CASE("metrics: distance_report floors lie below the distances of a clearly wrong candidate") {
    const GaussianMixture gm = two_clusters_mixture();
    GaussianMixture lopsided = gm;  // a classic failure: one mode gets most of the mass
    lopsided.weights = {0.85f, 0.15f};
    const int n = 2000, n_ref = 3000;
    const Dataset reference = sample_mixture(gm, n_ref, 1, "reference");
    const Dataset floor_sample = sample_mixture(gm, n, 2, "floor");
    const Dataset candidate = sample_mixture(lopsided, n, 3, "candidate");
    const DistanceReport r = distance_report(candidate.x.data(), n, reference.x.data(), n_ref, floor_sample.x.data(), 2, 5);
    INFO("swd " << r.swd << " floor " << r.swd_floor << ", energy " << r.energy << " floor " << r.energy_floor);
    CHECK(r.swd > 3.0 * r.swd_floor);
    CHECK(r.energy > r.energy_floor + 0.1);
    // The floor uses the very directions of the candidate's distance.
    CHECK(r.swd_floor == sliced_wasserstein1(floor_sample.x.data(), n, reference.x.data(), n_ref, 2, 256, 5));
    CHECK(r.swd == sliced_wasserstein1(candidate.x.data(), n, reference.x.data(), n_ref, 2, 256, 5));
}
