// image_metrics.h: how close generated or reconstructed images are, as [003]'s tables measure it.
//
// Pairwise (an image against its original): RMSE, PSNR and SSIM. Between two sets of images: the
// Frechet distance between Gaussians fitted to features of the images (Heusel et al. 2017, the "FID"
// when the features are Inception's; here they are a small classifier's, lesson 08). Every function
// is computed in double in a fixed order, so its value is the same bits on every machine.
//
// Images are float arrays of H x W values (one channel); data_range is max - min of the value scale
// (2 for images in [-1, 1], 255 for bytes).
#pragma once

#include <cstdint>
#include <vector>

namespace ddpm {

// sqrt(mean (a - b)^2) over n values
double rmse(const float* a, const float* b, int64_t n);

// 10 log10(data_range^2 / MSE), in dB; +inf for identical images.
double psnr(const float* a, const float* b, int64_t n, double data_range);

// SSIM (Wang, Bovik, Sheikh and Simoncelli 2004, eq. 13): at each position of an 11 x 11 Gaussian
// window (sigma 1.5, weights summing to 1) lying wholly inside the image,
//   SSIM = (2 mu_a mu_b + C1) (2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1) (var_a + var_b + C2)),
// C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = data_range, and the mean over positions (their "mean SSIM").
// Images smaller than the window in either side use one window of their own size.
double ssim(const float* a, const float* b, int H, int W, double data_range);

// The Frechet distance between N(mu_a, S_a) and N(mu_b, S_b) fitted to the rows of a (na, dim) and
// b (nb, dim) (covariances with 1 / (n - 1)):
//   d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^{1/2} S_b S_a^{1/2})^{1/2}),
// the square roots from symmetric eigendecompositions (Jacobi's method). Returns d^2, the number
// that "FID" reports. na, nb >= 2.
double frechet_distance(const float* a, int na, const float* b, int nb, int dim);

// Eigenvalues and eigenvectors of the symmetric matrix A (n, n) by cyclic Jacobi rotations:
// A = V diag(values) V^T, V (n, n) with the eigenvectors as columns. For tests and frechet_distance.
void symmetric_eigen(const std::vector<double>& A, int n, std::vector<double>& values, std::vector<double>& V);

}  // namespace ddpm
