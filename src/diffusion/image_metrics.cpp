#include "diffusion/image_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/common.h"
#include "core/dmath.h"

namespace ddpm {

double rmse(const float* a, const float* b, int64_t n) {
    if (n < 1) fail("rmse: no values");
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += dmath::square(double(a[i]) - b[i]);
    return std::sqrt(sum / double(n));
}

double psnr(const float* a, const float* b, int64_t n, double data_range) {
    const double e = rmse(a, b, n);
    if (e == 0.0) return std::numeric_limits<double>::infinity();
    // 10 log10(L^2 / e^2) = 20 log10(L / e)
    return 20.0 * dmath::log(data_range / e) / dmath::log(10.0);
}

double ssim(const float* a, const float* b, int H, int W, double data_range) {
    if (H < 1 || W < 1) fail("ssim: empty image");
    const int wh = std::min(11, H), ww = std::min(11, W);  // the window, 11 x 11 where it fits
    const double sigma = 1.5;
    std::vector<double> window(size_t(wh) * ww);
    double total = 0.0;
    for (int i = 0; i < wh; ++i)
        for (int j = 0; j < ww; ++j) {
            const double di = i - (wh - 1) / 2.0, dj = j - (ww - 1) / 2.0;
            window[size_t(i) * ww + j] = dmath::exp(-(di * di + dj * dj) / (2.0 * sigma * sigma));
            total += window[size_t(i) * ww + j];
        }
    for (double& w : window) w /= total;
    const double c1 = dmath::square(0.01 * data_range), c2 = dmath::square(0.03 * data_range);
    double sum = 0.0;
    int positions = 0;
    for (int y = 0; y + wh <= H; ++y)
        for (int x = 0; x + ww <= W; ++x) {
            // BEGIN SOLUTION L08.1
            double mu_a = 0, mu_b = 0, aa = 0, bb = 0, ab = 0;  // weighted moments in the window
            for (int i = 0; i < wh; ++i)
                for (int j = 0; j < ww; ++j) {
                    const double w = window[size_t(i) * ww + j];
                    const double va = a[(y + i) * W + x + j], vb = b[(y + i) * W + x + j];
                    mu_a += w * va;
                    mu_b += w * vb;
                    aa += w * va * va;
                    bb += w * vb * vb;
                    ab += w * va * vb;
                }
            const double var_a = aa - mu_a * mu_a, var_b = bb - mu_b * mu_b, cov = ab - mu_a * mu_b;
            sum += (2 * mu_a * mu_b + c1) * (2 * cov + c2) /
                   ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
            // END SOLUTION
            ++positions;
        }
    return sum / positions;
}

void symmetric_eigen(const std::vector<double>& A_in, int n, std::vector<double>& values, std::vector<double>& V) {
    std::vector<double> A = A_in;
    V.assign(size_t(n) * n, 0.0);
    for (int i = 0; i < n; ++i) V[size_t(i) * n + i] = 1.0;
    auto at = [n](std::vector<double>& M, int r, int c) -> double& { return M[size_t(r) * n + c]; };
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, diag = 0.0;
        for (int p = 0; p < n; ++p)
            for (int q = 0; q < n; ++q) (p == q ? diag : off) += at(A, p, q) * at(A, p, q);
        if (off <= 1e-30 * diag || off == 0.0) break;
        for (int p = 0; p < n - 1; ++p)
            for (int q = p + 1; q < n; ++q) {
                const double apq = at(A, p, q);
                if (apq == 0.0) continue;
                // the rotation that zeroes A[p,q]: tan(2 phi) = 2 A[p,q] / (A[q,q] - A[p,p])
                const double theta = (at(A, q, q) - at(A, p, p)) / (2.0 * apq);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; ++k) {  // A <- A J (columns p and q)
                    const double akp = at(A, k, p), akq = at(A, k, q);
                    at(A, k, p) = c * akp - s * akq;
                    at(A, k, q) = s * akp + c * akq;
                }
                for (int k = 0; k < n; ++k) {  // A <- J^T A (rows p and q)
                    const double apk = at(A, p, k), aqk = at(A, q, k);
                    at(A, p, k) = c * apk - s * aqk;
                    at(A, q, k) = s * apk + c * aqk;
                }
                for (int k = 0; k < n; ++k) {  // V <- V J
                    const double vkp = at(V, k, p), vkq = at(V, k, q);
                    at(V, k, p) = c * vkp - s * vkq;
                    at(V, k, q) = s * vkp + c * vkq;
                }
            }
    }
    values.resize(size_t(n));
    for (int i = 0; i < n; ++i) values[size_t(i)] = at(A, i, i);
}

namespace {

// mean (dim) and covariance (dim, dim) of the rows of x (n, dim), with 1 / (n - 1)
void fit_gaussian(const float* x, int n, int dim, std::vector<double>& mean, std::vector<double>& cov) {
    mean.assign(size_t(dim), 0.0);
    for (int i = 0; i < n; ++i)
        for (int d = 0; d < dim; ++d) mean[size_t(d)] += x[int64_t(i) * dim + d];
    for (double& m : mean) m /= n;
    cov.assign(size_t(dim) * dim, 0.0);
    std::vector<double> centred(static_cast<size_t>(dim));
    for (int i = 0; i < n; ++i) {
        for (int d = 0; d < dim; ++d) centred[size_t(d)] = x[int64_t(i) * dim + d] - mean[size_t(d)];
        for (int r = 0; r < dim; ++r)
            for (int c = 0; c < dim; ++c) cov[size_t(r) * dim + c] += centred[size_t(r)] * centred[size_t(c)];
    }
    for (double& v : cov) v /= (n - 1);
}

}  // namespace

double frechet_distance(const float* a, int na, const float* b, int nb, int dim) {
    if (na < 2 || nb < 2 || dim < 1) fail("frechet_distance: needs two rows on each side and dim >= 1");
    std::vector<double> mu_a, mu_b, sa, sb;
    fit_gaussian(a, na, dim, mu_a, sa);
    fit_gaussian(b, nb, dim, mu_b, sb);
    double d2 = 0.0;
    for (int d = 0; d < dim; ++d) d2 += dmath::square(mu_a[size_t(d)] - mu_b[size_t(d)]);
    for (int d = 0; d < dim; ++d) d2 += sa[size_t(d) * dim + d] + sb[size_t(d) * dim + d];
    // S_a^{1/2} = V diag(sqrt(l)) V^T, then the eigenvalues of S_a^{1/2} S_b S_a^{1/2}
    std::vector<double> l, V;
    symmetric_eigen(sa, dim, l, V);
    std::vector<double> root(size_t(dim) * dim, 0.0);
    for (int r = 0; r < dim; ++r)
        for (int c = 0; c < dim; ++c) {
            double s = 0.0;
            for (int k = 0; k < dim; ++k)
                s += V[size_t(r) * dim + k] * std::sqrt(std::max(0.0, l[size_t(k)])) * V[size_t(c) * dim + k];
            root[size_t(r) * dim + c] = s;
        }
    std::vector<double> tmp(size_t(dim) * dim, 0.0), M(size_t(dim) * dim, 0.0);
    for (int r = 0; r < dim; ++r)
        for (int k = 0; k < dim; ++k)
            for (int c = 0; c < dim; ++c)
                tmp[size_t(r) * dim + c] += root[size_t(r) * dim + k] * sb[size_t(k) * dim + c];
    for (int r = 0; r < dim; ++r)
        for (int k = 0; k < dim; ++k)
            for (int c = 0; c < dim; ++c)
                M[size_t(r) * dim + c] += tmp[size_t(r) * dim + k] * root[size_t(k) * dim + c];
    for (int r = 0; r < dim; ++r)  // symmetric up to rounding: make it exactly so
        for (int c = r + 1; c < dim; ++c) {
            const double mean = 0.5 * (M[size_t(r) * dim + c] + M[size_t(c) * dim + r]);
            M[size_t(r) * dim + c] = M[size_t(c) * dim + r] = mean;
        }
    std::vector<double> m, W;
    symmetric_eigen(M, dim, m, W);
    for (double v : m) d2 -= 2.0 * std::sqrt(std::max(0.0, v));
    return d2;
}

}  // namespace ddpm
