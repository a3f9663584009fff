// data.h: the data sets of the lessons: toy sets drawn from a seed, and CSV files.
//
// Every toy set is a pure function of (n, seed): the same call gives the same bits for any thread
// count, because all randomness comes from the counter-based Rng, one stream per use
// (0: which component / moon / circle, 1: Gaussian noise, 2: position along a curve).
// The constants of each set, its formula and a picture in words are in data/README.md.
// CSV files are read and written by store/csv.h.
// The toy sets are used raw (not standardised) by the diffusion lessons, so each is scaled to span
// roughly [-2.5, 2.5], comparable to the unit-variance noise of the forward process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ddpm {

// n points in `dim` dimensions, row-major, plus one value per point that colours figures
// (the position along the swiss roll, the cluster index, ...; empty for CSV data).
struct Dataset {
    std::string name;
    int dim = 0;
    std::vector<float> x;        // (n, dim)
    std::vector<float> colour;   // (n) or empty
    std::vector<std::string> header;  // (dim) names of a CSV file's header line, or empty

    int n() const { return dim > 0 ? int(x.size() / size_t(dim)) : 0; }
    float at(int i, int d) const { return x[size_t(i) * size_t(dim) + size_t(d)]; }  // no bounds check
};

// ---------------------------------------------------------------------------------------------
// Isotropic Gaussian mixtures: p(x) = sum_k w_k N(x; mean_k, std_k^2 I).
// Several toy sets ARE such mixtures; a later lesson computes the exact optimal denoiser from these
// parameters, so sample_mixture draws exactly this distribution.
// ---------------------------------------------------------------------------------------------
struct GaussianMixture {
    int dim = 0;
    std::vector<float> weights;  // (K), sum to 1
    std::vector<float> means;    // (K, dim)
    std::vector<float> stds;     // (K)

    int components() const { return int(weights.size()); }
};

// Point i: one uniform u_i (stream 0) picks the first k with u_i < w_1 + ... + w_k, then
// x_i = mean_k + std_k * z_i with z_i ~ N(0, I) (stream 1). colour = k. Fails on a malformed mixture.
Dataset sample_mixture(const GaussianMixture& gm, int n, uint64_t seed, const std::string& name);

GaussianMixture bimodal_1d_mixture();      // 1-D: means -1.35, +1.35, std 0.25, weights 1/2 ([000] sec. 1)
GaussianMixture two_clusters_mixture();    // 2-D: means (-2, 0), (2, 0), std 0.35, weights 1/2 ([002])
GaussianMixture eight_gaussians_mixture(); // 2-D: 8 means on a circle of radius 2, first at angle 0, std 0.1

// ---------------------------------------------------------------------------------------------
// The toy sets. n >= 1; `seed` picks the sample.
// ---------------------------------------------------------------------------------------------
Dataset make_bimodal_1d(int n, uint64_t seed);       // colour = component (0: negative, 1: positive)
Dataset make_two_clusters(int n, uint64_t seed);     // colour = cluster (0: left, 1: right)
Dataset make_eight_gaussians(int n, uint64_t seed);  // colour = component (0..7, counter-clockwise)
Dataset make_swiss_roll(int n, uint64_t seed);       // colour = position along the roll in [0, 1)
Dataset make_moons(int n, uint64_t seed);            // colour = moon (0: upper, 1: lower)
Dataset make_circles(int n, uint64_t seed);          // colour = circle (0: inner, 1: outer)

// "bimodal1d", "two_clusters", "eight_gaussians", "swiss_roll", "moons", "circles".
// An unknown name fails with a message listing these.
Dataset make_dataset(const std::string& name, int n, uint64_t seed);
std::vector<std::string> dataset_names();

// ---------------------------------------------------------------------------------------------
// Per-column statistics, to standardise data: (x - mean) / std.
// ---------------------------------------------------------------------------------------------
std::vector<double> column_means(const Dataset& d);
std::vector<double> column_stds(const Dataset& d);   // population std (divides by n)

// A data set fit for statistics or saving: dim >= 1, at least one point, whole rows; fails naming `where`.
void check_dataset(const Dataset& d, const std::string& where);

// CSV files: store/csv.h.

}  // namespace ddpm
