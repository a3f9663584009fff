// cold.h: cold diffusion with a Gaussian blur (Bansal et al. 2022, "Cold Diffusion"; [003] §3.3).
//
// The degradation is deterministic ([003] eq. 5):
//
//   z_t = G_t * z_{t-1} = G~_t * x,       G~_t = G_t * G_{t-1} * ... * G_1,
//
// G_t a Gaussian kernel of variance beta_t (here one beta for every t, [003]: beta = 1, T = 100, an
// 11 x 11 kernel). Variances add under convolution, so G~_t is a Gaussian of variance t beta (up to
// the truncation of each G_t to its taps). A network R(z_t, t) is trained to give x back (MSE
// against x) and sampling undoes the blur a step at a time (Bansal et al., Algorithms 1 and 2).
//
// Boundaries: the image is periodic (every blur wraps around the 28 x 28 torus). Then blurring t
// times with G equals one blur with G~_t folded onto the period, exactly in real arithmetic (lesson
// 10 measures the float difference), every step keeps the image's mean, and z_t tends to the
// uniform image of that mean as t grows: [003]'s third condition ("z_T unique for each input")
// becomes "the mean identifies the image". The kernels are separable: one 1-D kernel along the rows,
// then along the columns.
#pragma once

#include <functional>
#include <vector>

#include "core/rng.h"

namespace ddpm {

// One step's 1-D kernel: w[i] proportional to exp(-(i - taps/2)^2 / (2 beta)), i = 0..taps-1,
// normalised to sum 1 (in double; taps odd).
std::vector<double> blur_kernel_1d(int taps, double beta);

// G~_t as a 1-D kernel: g convolved with itself t times (the full convolution, 1 + t (len(g) - 1)
// taps, centred); t = 0 gives {1}, the identity.   [graded task L10.1]
std::vector<double> composed_kernel(const std::vector<double>& g, int t);

// A centred kernel k (odd length) folded onto a period P: f[j] = sum of k[i] over the i with
// (i - len/2) = j (mod P), j = 0..P-1; offset j means "the pixel j to the right, wrapping".
std::vector<double> fold_kernel(const std::vector<double>& k, int P);

// n images (H x W) blurred with the centred 1-D kernel k (any odd length: it wraps around) along
// each row, then along each column, periodically, each sum in double in tap order. out != in.
void blur_periodic(float* out, const float* in, int n, int H, int W, const std::vector<double>& k);

struct BlurProcess {
    int T = 100;
    double beta = 1.0;  // the variance of one step's kernel, in pixels squared
    int taps = 11;      // one step's kernel is taps x taps
    int H = 28, W = 28;
    std::vector<double> g;                         // one step's 1-D kernel
    std::vector<std::vector<double>> composed_row;  // [t] G~_t folded onto the period W (t = 0..T)
    std::vector<std::vector<double>> composed_col;  // [t] the same on the period H
};
// The process of [003]: T = 100, beta = 1, 11 taps, on 28 x 28 images unless told otherwise.
BlurProcess blur_process(int T = 100, double beta = 1.0, int taps = 11, int H = 28, int W = 28);

// z = D(x, t) for n images, image i at t[i] in 0..T: one blur with G~_t (the closed form).
void blur_degrade(float* z, const float* x, int n, const int* t, const BlurProcess& p);
// The same, all n at one t.
void blur_degrade(float* z, const float* x, int n, int t, const BlurProcess& p);
// One batch of cold diffusion's training ([003] §3.3; Bansal et al. 2022, Algorithm 1 with the blur
// for D): t[b] ~ U{1..T} from t_rng, z[b] = D(x_0[b], t[b]). The network R(z, t) is trained towards
// x_0 itself (the MSE of R(z, t) against x_0), where noise diffusion's target is the noise.
void cold_training_batch(float* z, int* t, const float* x0, int n, const BlurProcess& p, Rng& t_rng);
// The iteration: z = x blurred t times with G, each step periodic (for lesson 10's check).
void blur_iterate(float* z, const float* x, int n, int t, const BlurProcess& p);

// One step of the reverse process at step s (1..T), for n images, given the network's estimate
// x0_hat of x from x_s:
//   improved (Bansal et al., Algorithm 2):  x_{s-1} = x_s - D(x0_hat, s) + D(x0_hat, s - 1)
//   naive    (Bansal et al., Algorithm 1):  x_{s-1} = D(x0_hat, s - 1)
// x is updated in place.   [graded task L10.2]
void cold_step(float* x, const float* x0_hat, int n, int s, const BlurProcess& p, bool improved);

// R: x0_out (rows, H W) = the network's estimate of x from z (rows, H W) at step t.
using X0Function = std::function<void(float* x0_out, const float* z, int rows, int t)>;

// From x = z_from (n images) down to step 0 with cold_step; x holds the samples at the end.
// Writes the estimate of each step s into trace(s, x0_hat, x_s) when given (figures).
void cold_sample(float* x, int n, int from, const BlurProcess& p, const X0Function& R, bool improved,
                 const std::function<void(int s, const float* x0_hat, const float* x_s)>& trace = nullptr);

}  // namespace ddpm
