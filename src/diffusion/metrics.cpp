#include "diffusion/metrics.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/common.h"
#include "core/pool.h"
#include "core/rng.h"

namespace ddpm {

namespace {

const uint64_t kStreamDirections = 0;  // the normal draws that become the projection directions
const int64_t kRowGrain = 64;          // rows of the first sample per chunk of the pairwise sums

void check_sample(const char* where, const char* which, int n, int min_n) {
    if (n < min_n)
        fail(std::string(where) + ": sample " + which + " needs at least " + std::to_string(min_n) + " rows, got " +
             std::to_string(n));
}

void check_dim(const char* where, int dim) {
    if (dim < 1) fail(std::string(where) + ": dim must be >= 1, got " + std::to_string(dim));
}

// ---------------------------------------------------------------------------------------------
// 1-D Wasserstein-1 between two sorted samples
// ---------------------------------------------------------------------------------------------
// The quantile function of a sample of n sorted values is a staircase: F^{-1}(u) = x_i for u in
// (i/n, (i+1)/n]. Between two staircases, |F_a^{-1} - F_b^{-1}| is constant on each interval cut by
// the union of both sets of breakpoints, so the integral is a finite sum. On the common denominator
// na * nb the breakpoints are the integers i * nb and j * na, and the interval lengths are exact.
// The walk treats a and b alike (ties advance both), which makes the result exactly symmetric.
double wasserstein1_sorted(const std::vector<double>& a, const std::vector<double>& b) {
    const int64_t na = int64_t(a.size()), nb = int64_t(b.size());
    double area = 0.0;     // the integral, times na * nb
    // BEGIN SOLUTION L04.3
    size_t i = 0, j = 0;
    int64_t position = 0;  // the current u, times na * nb
    while (i < a.size() && j < b.size()) {
        const int64_t end_a = int64_t(i + 1) * nb;  // where step i of a ends
        const int64_t end_b = int64_t(j + 1) * na;  // where step j of b ends
        const int64_t end = std::min(end_a, end_b);
        area += double(end - position) * std::fabs(a[i] - b[j]);
        position = end;
        if (end_a == end) ++i;
        if (end_b == end) ++j;
    }
    // END SOLUTION
    return area / (double(na) * double(nb));
}

// ---------------------------------------------------------------------------------------------
// Projections
// ---------------------------------------------------------------------------------------------
// n_projections unit vectors (n_projections, dim), in double: a normal vector divided by its norm is
// uniform on the sphere.
std::vector<double> random_directions(int n_projections, int dim, uint64_t seed) {
    std::vector<float> normal(size_t(n_projections) * size_t(dim));
    Rng rng(seed, kStreamDirections);
    rng.fill_normal(normal.data(), int64_t(normal.size()));
    std::vector<double> theta(normal.size());
    for (int p = 0; p < n_projections; ++p) {
        const float* v = normal.data() + size_t(p) * size_t(dim);
        double norm2 = 0.0;
        for (int d = 0; d < dim; ++d) norm2 += double(v[d]) * double(v[d]);
        // All-zero draws have probability below 2^-24 per coordinate; fall back to the first axis.
        const double inv_norm = norm2 > 0.0 ? 1.0 / std::sqrt(norm2) : 0.0;
        for (int d = 0; d < dim; ++d) theta[size_t(p) * size_t(dim) + size_t(d)] = double(v[d]) * inv_norm;
        if (norm2 == 0.0) theta[size_t(p) * size_t(dim)] = 1.0;
    }
    return theta;
}

// The sorted projections <x_i, theta> of x (n, dim); theta (dim).
std::vector<double> sorted_projection(const float* x, int n, int dim, const double* theta) {
    std::vector<double> proj(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const float* row = x + size_t(i) * size_t(dim);
        double dot = 0.0;
        for (int d = 0; d < dim; ++d) dot += double(row[d]) * theta[d];
        proj[size_t(i)] = dot;
    }
    std::sort(proj.begin(), proj.end());
    return proj;
}

// ---------------------------------------------------------------------------------------------
// Pairwise distances, for the energy distance
// ---------------------------------------------------------------------------------------------
// sum over j in [j_begin, n_y) of |x_i - y_j|, x_i (dim), y (n_y, dim)
double distances_from_row(const float* x_i, const float* y, int64_t j_begin, int64_t n_y, int dim) {
    double sum = 0.0;
    for (int64_t j = j_begin; j < n_y; ++j) {
        const float* y_j = y + j * dim;
        double norm2 = 0.0;
        for (int d = 0; d < dim; ++d) {
            const double diff = double(x_i[d]) - double(y_j[d]);
            norm2 += diff * diff;
        }
        sum += std::sqrt(norm2);
    }
    return sum;
}

// Between samples (x against y): sum over all i, j of |x_i - y_j|.
// Within a sample (y == x):      sum over i < j of |x_i - x_j|, each pair once.
// Chunks of kRowGrain rows of x; chunk sums are added in chunk order, so the bits do not depend on
// the thread count.
double sum_of_distances(const float* x, int n_x, const float* y, int n_y, int dim, bool within) {
    const int64_t n_chunks = (int64_t(n_x) + kRowGrain - 1) / kRowGrain;
    std::vector<double> chunk_sum(static_cast<size_t>(n_chunks), 0.0);
    parallel_for(n_chunks, [&](int64_t c) {
        const int64_t begin = c * kRowGrain, end = std::min(int64_t(n_x), begin + kRowGrain);
        double s = 0.0;
        for (int64_t i = begin; i < end; ++i) s += distances_from_row(x + i * dim, y, within ? i + 1 : 0, n_y, dim);
        chunk_sum[size_t(c)] = s;
    });
    double total = 0.0;
    for (double s : chunk_sum) total += s;
    return total;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Sliced Wasserstein-1
// ---------------------------------------------------------------------------------------------
double sliced_wasserstein1(const float* a, int na, const float* b, int nb, int dim, int n_projections,
                           uint64_t seed) {
    const char* where = "sliced_wasserstein1";
    check_sample(where, "a", na, 1);
    check_sample(where, "b", nb, 1);
    check_dim(where, dim);
    if (dim == 1) {  // the exact W1; projecting onto +1 only copies and sorts the values
        const double one = 1.0;
        return wasserstein1_sorted(sorted_projection(a, na, 1, &one), sorted_projection(b, nb, 1, &one));
    }
    if (n_projections < 1) fail(std::string(where) + ": n_projections must be >= 1, got " + std::to_string(n_projections));
    const std::vector<double> theta = random_directions(n_projections, dim, seed);
    // One chunk per direction; the per-direction distances are averaged in direction order.
    std::vector<double> w1(static_cast<size_t>(n_projections), 0.0);
    parallel_for(n_projections, [&](int64_t p) {
        const double* theta_p = theta.data() + size_t(p) * size_t(dim);
        w1[size_t(p)] = wasserstein1_sorted(sorted_projection(a, na, dim, theta_p), sorted_projection(b, nb, dim, theta_p));
    });
    double sum = 0.0;
    for (double w : w1) sum += w;
    return sum / double(n_projections);
}

// ---------------------------------------------------------------------------------------------
// Energy distance
// ---------------------------------------------------------------------------------------------
double energy_distance(const float* a, int na, const float* b, int nb, int dim) {
    const char* where = "energy_distance";
    check_sample(where, "a", na, 2);  // the within-sample U-statistic needs a pair i != j
    check_sample(where, "b", nb, 2);
    check_dim(where, dim);
    const double mean_ab = sum_of_distances(a, na, b, nb, dim, false) / (double(na) * double(nb));
    // Each unordered pair counted once, so the mean over ordered pairs i != j is 2 sum / (n (n - 1)).
    const double mean_aa = 2.0 * sum_of_distances(a, na, a, na, dim, true) / (double(na) * double(na - 1));
    const double mean_bb = 2.0 * sum_of_distances(b, nb, b, nb, dim, true) / (double(nb) * double(nb - 1));
    return 2.0 * mean_ab - mean_aa - mean_bb;
}

// ---------------------------------------------------------------------------------------------
// Distances with their floors
// ---------------------------------------------------------------------------------------------
DistanceReport distance_report(const float* candidate, int n, const float* reference, int n_ref,
                               const float* floor_sample, int dim, uint64_t seed) {
    const int n_projections = 256;
    DistanceReport r;
    r.swd = sliced_wasserstein1(candidate, n, reference, n_ref, dim, n_projections, seed);
    r.swd_floor = sliced_wasserstein1(floor_sample, n, reference, n_ref, dim, n_projections, seed);
    r.energy = energy_distance(candidate, n, reference, n_ref, dim);
    r.energy_floor = energy_distance(floor_sample, n, reference, n_ref, dim);
    return r;
}

// ---------------------------------------------------------------------------------------------
// The floor, averaged over several true samples
// ---------------------------------------------------------------------------------------------
DistanceFloor distance_floor(const std::function<void(int, float*)>& draw_true, int n, const float* reference,
                             int n_ref, int dim, int draws, uint64_t seed) {
    if (draws < 2) fail("distance_floor: needs at least 2 draws, got " + std::to_string(draws));
    std::vector<float> sample(static_cast<size_t>(n) * size_t(dim));
    std::vector<double> swd, energy;
    for (int k = 0; k < draws; ++k) {
        draw_true(k, sample.data());
        swd.push_back(sliced_wasserstein1(sample.data(), n, reference, n_ref, dim, 256, seed));
        energy.push_back(energy_distance(sample.data(), n, reference, n_ref, dim));
    }
    auto mean_sd = [](const std::vector<double>& v, double& mean, double& sd) {
        mean = 0.0;
        for (double x : v) mean += x / double(v.size());
        double ss = 0.0;
        for (double x : v) ss += (x - mean) * (x - mean);
        sd = std::sqrt(ss / double(v.size() - 1));
    };
    DistanceFloor f;
    f.draws = draws;
    mean_sd(swd, f.swd_mean, f.swd_sd);
    mean_sd(energy, f.energy_mean, f.energy_sd);
    return f;
}

}  // namespace ddpm
