#include "diffusion/data.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/dmath.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Shared by the generators: streams, checks, draws
// ---------------------------------------------------------------------------------------------
namespace {

// One Rng stream per use: changing how one kind of draw is used never shifts the numbers of another.
const uint64_t kStreamComponent = 0;  // which mixture component / moon / circle: one uniform per point
const uint64_t kStreamNoise = 1;      // Gaussian noise: dim normals per point
const uint64_t kStreamPosition = 2;   // where on a curve: one uniform per point

const double kPi = 3.14159265358979323846;

void check_n(int n, const std::string& where) {
    if (n < 1) fail(where + ": n must be >= 1, got " + std::to_string(n));
}

}  // namespace

void check_dataset(const Dataset& d, const std::string& where) {
    if (d.dim < 1) fail(where + ": data set '" + d.name + "' has dim " + std::to_string(d.dim) + ", needs >= 1");
    if (d.x.empty()) fail(where + ": data set '" + d.name + "' has no points");
    if (d.x.size() % size_t(d.dim) != 0)
        fail(where + ": data set '" + d.name + "' has " + std::to_string(d.x.size()) + " values, not a multiple of dim " +
             std::to_string(d.dim));
}

namespace {

Dataset new_dataset(const std::string& name, int dim, int n) {
    Dataset d;
    d.name = name;
    d.dim = dim;
    d.x.assign(size_t(n) * size_t(dim), 0.0f);
    d.colour.assign(size_t(n), 0.0f);
    return d;
}

std::vector<float> draw_uniform(uint64_t seed, uint64_t stream, int64_t count) {
    std::vector<float> u(static_cast<size_t>(count));
    Rng(seed, stream).fill_uniform(u.data(), count);
    return u;
}

std::vector<float> draw_normal(uint64_t seed, uint64_t stream, int64_t count, float noise_std) {
    std::vector<float> z(static_cast<size_t>(count));
    Rng(seed, stream).fill_normal(z.data(), count, 0.0f, noise_std);
    return z;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Gaussian mixtures
// ---------------------------------------------------------------------------------------------
namespace {

void check_mixture(const GaussianMixture& gm) {
    const std::string where = "sample_mixture";
    if (gm.dim < 1) fail(where + ": dim must be >= 1, got " + std::to_string(gm.dim));
    const size_t K = gm.weights.size();
    if (K == 0) fail(where + ": the mixture has no components");
    if (gm.means.size() != K * size_t(gm.dim))
        fail(where + ": " + std::to_string(K) + " components in " + std::to_string(gm.dim) + "-D need " +
             std::to_string(K * size_t(gm.dim)) + " mean values, got " + std::to_string(gm.means.size()));
    if (gm.stds.size() != K)
        fail(where + ": " + std::to_string(K) + " components need " + std::to_string(K) + " stds, got " +
             std::to_string(gm.stds.size()));
    double total = 0.0;
    for (size_t k = 0; k < K; ++k) {
        if (!(gm.weights[k] >= 0.0f && std::isfinite(gm.weights[k])))
            fail(where + ": weight " + std::to_string(k) + " is " + fmt_g(gm.weights[k]) + ", must be finite and >= 0");
        if (!(gm.stds[k] >= 0.0f && std::isfinite(gm.stds[k])))
            fail(where + ": std " + std::to_string(k) + " is " + fmt_g(gm.stds[k]) + ", must be finite and >= 0");
        total += gm.weights[k];
    }
    for (float m : gm.means)
        if (!std::isfinite(m)) fail(where + ": a mean is " + fmt_g(m));
    if (std::fabs(total - 1.0) > 1e-5) fail(where + ": the weights sum to " + fmt_g(total) + ", not 1");
}

// c_k = (w_1 + ... + w_k) / total, with the last set to exactly 1 so that every u in [0, 1) finds a
// component even when float rounding leaves the sum a hair below 1.
std::vector<double> cumulative_weights(const std::vector<float>& weights) {
    std::vector<double> c(weights.size());
    double running = 0.0;
    for (size_t k = 0; k < weights.size(); ++k) {
        running += weights[k];
        c[k] = running;
    }
    for (double& ck : c) ck /= running;
    c.back() = 1.0;
    return c;
}

// The first k with u < c_k: P(k) = c_k - c_{k-1} = w_k for u uniform in [0, 1).
int pick_component(const std::vector<double>& cumulative, float u) {
    int k = 0;
    while (double(u) >= cumulative[size_t(k)]) ++k;
    return k;
}

}  // namespace

Dataset sample_mixture(const GaussianMixture& gm, int n, uint64_t seed, const std::string& name) {
    check_mixture(gm);
    check_n(n, "sample_mixture");
    const int dim = gm.dim;
    const std::vector<double> cumulative = cumulative_weights(gm.weights);
    const std::vector<float> u = draw_uniform(seed, kStreamComponent, n);
    const std::vector<float> z = draw_normal(seed, kStreamNoise, int64_t(n) * dim, 1.0f);
    Dataset d = new_dataset(name, dim, n);
    for (int i = 0; i < n; ++i) {
        const int k = pick_component(cumulative, u[size_t(i)]);
        d.colour[size_t(i)] = float(k);
        for (int c = 0; c < dim; ++c) {
            const size_t ic = size_t(i) * size_t(dim) + size_t(c);
            d.x[ic] = gm.means[size_t(k) * size_t(dim) + size_t(c)] + gm.stds[size_t(k)] * z[ic];
        }
    }
    return d;
}

// [000] sec. 1: a binary gamma picks the positive or the negative mode, plus a small Gaussian
// perturbation. Variance = 1.35^2 + 0.25^2 = 1.885, close to the 1.89 of [000] table 1 at t = 0.
GaussianMixture bimodal_1d_mixture() {
    GaussianMixture gm;
    gm.dim = 1;
    gm.weights = {0.5f, 0.5f};
    gm.means = {-1.35f, 1.35f};
    gm.stds = {0.25f, 0.25f};
    return gm;
}

// [002] fig. 3-5: two equal, well separated blobs; a point at the origin is equally far from both.
GaussianMixture two_clusters_mixture() {
    GaussianMixture gm;
    gm.dim = 2;
    gm.weights = {0.5f, 0.5f};
    gm.means = {-2.0f, 0.0f, 2.0f, 0.0f};
    gm.stds = {0.35f, 0.35f};
    return gm;
}

// Eight narrow modes on a ring: mode k at angle 2 pi k / 8, radius 2.
GaussianMixture eight_gaussians_mixture() {
    const int K = 8;
    const double radius = 2.0;
    GaussianMixture gm;
    gm.dim = 2;
    for (int k = 0; k < K; ++k) {
        const double angle = 2.0 * kPi * k / K;
        gm.weights.push_back(1.0f / K);
        gm.means.push_back(float(radius * dmath::cos(angle)));
        gm.means.push_back(float(radius * dmath::sin(angle)));
        gm.stds.push_back(0.1f);
    }
    return gm;
}

// ---------------------------------------------------------------------------------------------
// Toy sets
// ---------------------------------------------------------------------------------------------
Dataset make_bimodal_1d(int n, uint64_t seed) {
    check_n(n, "make_bimodal_1d");
    return sample_mixture(bimodal_1d_mixture(), n, seed, "bimodal1d");
}

Dataset make_two_clusters(int n, uint64_t seed) {
    check_n(n, "make_two_clusters");
    return sample_mixture(two_clusters_mixture(), n, seed, "two_clusters");
}

Dataset make_eight_gaussians(int n, uint64_t seed) {
    check_n(n, "make_eight_gaussians");
    return sample_mixture(eight_gaussians_mixture(), n, seed, "eight_gaussians");
}

// One and a half turns of the spiral (t cos t, t sin t), t = 1.5 pi + 3 pi s with s uniform in [0, 1).
// Over that range the mean of the spiral is (2, 2 / (3 pi)) (integrate t cos t and t sin t, divide by
// 3 pi); subtracting it centres the roll, and the factor 1/5 brings it to about [-2.3, 2.8].
// Uniform s gives uniform t, so the inner turn (shorter per unit of t) is denser than the outer one.
Dataset make_swiss_roll(int n, uint64_t seed) {
    check_n(n, "make_swiss_roll");
    const double t_start = 1.5 * kPi, t_span = 3.0 * kPi;
    const double centre_x = 2.0, centre_y = 2.0 / (3.0 * kPi);
    const double scale = 0.2;
    const float noise_std = 0.1f;
    const std::vector<float> s = draw_uniform(seed, kStreamPosition, n);
    const std::vector<float> noise = draw_normal(seed, kStreamNoise, 2 * int64_t(n), noise_std);
    Dataset d = new_dataset("swiss_roll", 2, n);
    for (size_t i = 0; i < size_t(n); ++i) {
        const double t = t_start + t_span * s[i];
        d.x[2 * i] = float(scale * (t * dmath::cos(t) - centre_x)) + noise[2 * i];
        d.x[2 * i + 1] = float(scale * (t * dmath::sin(t) - centre_y)) + noise[2 * i + 1];
        d.colour[i] = s[i];
    }
    return d;
}

// Two interleaved half circles of radius 1: the upper (cos a, sin a) and the lower (1 - cos a, 1/2 - sin a),
// a uniform in [0, pi), each moon with probability 1/2. The set's mean is (1/2, 1/4) exactly (the mean of
// sin a is 2 / pi, and the two moons' y-means 2/pi and 1/2 - 2/pi average to 1/4); centre, then scale by
// 1.6: x spans [-2.4, 2.4], y [-1.2, 1.2].
Dataset make_moons(int n, uint64_t seed) {
    check_n(n, "make_moons");
    const double centre_x = 0.5, centre_y = 0.25;
    const double scale = 1.6;
    const float noise_std = 0.1f;
    const std::vector<float> which = draw_uniform(seed, kStreamComponent, n);
    const std::vector<float> s = draw_uniform(seed, kStreamPosition, n);
    const std::vector<float> noise = draw_normal(seed, kStreamNoise, 2 * int64_t(n), noise_std);
    Dataset d = new_dataset("moons", 2, n);
    for (size_t i = 0; i < size_t(n); ++i) {
        const double a = kPi * s[i];
        const bool upper = which[i] < 0.5f;
        const double px = upper ? dmath::cos(a) : 1.0 - dmath::cos(a);
        const double py = upper ? dmath::sin(a) : 0.5 - dmath::sin(a);
        d.x[2 * i] = float(scale * (px - centre_x)) + noise[2 * i];
        d.x[2 * i + 1] = float(scale * (py - centre_y)) + noise[2 * i + 1];
        d.colour[i] = upper ? 0.0f : 1.0f;
    }
    return d;
}

// Two concentric circles centred at the origin, radius 1 (inner) and 2 (outer), each with probability
// 1/2 (so the inner one is twice as dense per unit of length), angle uniform in [0, 2 pi).
Dataset make_circles(int n, uint64_t seed) {
    check_n(n, "make_circles");
    const double inner_radius = 1.0, outer_radius = 2.0;
    const float noise_std = 0.1f;
    const std::vector<float> which = draw_uniform(seed, kStreamComponent, n);
    const std::vector<float> s = draw_uniform(seed, kStreamPosition, n);
    const std::vector<float> noise = draw_normal(seed, kStreamNoise, 2 * int64_t(n), noise_std);
    Dataset d = new_dataset("circles", 2, n);
    for (size_t i = 0; i < size_t(n); ++i) {
        const double a = 2.0 * kPi * s[i];
        const bool inner = which[i] < 0.5f;
        const double r = inner ? inner_radius : outer_radius;
        d.x[2 * i] = float(r * dmath::cos(a)) + noise[2 * i];
        d.x[2 * i + 1] = float(r * dmath::sin(a)) + noise[2 * i + 1];
        d.colour[i] = inner ? 0.0f : 1.0f;
    }
    return d;
}

// ---------------------------------------------------------------------------------------------
// By name
// ---------------------------------------------------------------------------------------------
namespace {

struct NamedGenerator {
    const char* name;
    Dataset (*make)(int n, uint64_t seed);
};

const NamedGenerator kGenerators[] = {
    {"bimodal1d", make_bimodal_1d},   {"two_clusters", make_two_clusters}, {"eight_gaussians", make_eight_gaussians},
    {"swiss_roll", make_swiss_roll}, {"moons", make_moons},               {"circles", make_circles},
};

}  // namespace

std::vector<std::string> dataset_names() {
    std::vector<std::string> names;
    for (const NamedGenerator& g : kGenerators) names.push_back(g.name);
    return names;
}

Dataset make_dataset(const std::string& name, int n, uint64_t seed) {
    for (const NamedGenerator& g : kGenerators)
        if (name == g.name) return g.make(n, seed);
    std::string known;
    for (const NamedGenerator& g : kGenerators) known += (known.empty() ? "" : ", ") + std::string(g.name);
    fail("unknown data set '" + name + "'; known: " + known);
}

// ---------------------------------------------------------------------------------------------
// Column statistics (in double: a float sum of 10^6 values keeps only about 2 digits of a small mean)
// ---------------------------------------------------------------------------------------------
std::vector<double> column_means(const Dataset& d) {
    check_dataset(d, "column_means");
    const int n = d.n();
    std::vector<double> mean(size_t(d.dim), 0.0);
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < d.dim; ++c) mean[size_t(c)] += d.at(i, c);
    for (double& m : mean) m /= n;
    return mean;
}

// Two passes (the mean first, then squared deviations from it): sum(x^2)/n - mean^2 would cancel
// catastrophically for data far from the origin.
std::vector<double> column_stds(const Dataset& d) {
    check_dataset(d, "column_stds");
    const int n = d.n();
    const std::vector<double> mean = column_means(d);
    std::vector<double> sum_sq(size_t(d.dim), 0.0);
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < d.dim; ++c) {
            const double dev = d.at(i, c) - mean[size_t(c)];
            sum_sq[size_t(c)] += dev * dev;
        }
    std::vector<double> std_dev(size_t(d.dim));
    for (int c = 0; c < d.dim; ++c) std_dev[size_t(c)] = std::sqrt(sum_sq[size_t(c)] / n);
    return std_dev;
}

}  // namespace ddpm
