// image_kernels.h: the kernels of the image layers, NCHW float32, plain loops over raw pointers.
// The reference path that students read, in the conventions of kernels.h: X_forward / X_backward
// pairs, backward ADDS into the gradients it is given (a null gradient pointer: not wanted), shapes
// beside every pointer. src/fast/image_kernels.cpp has a faster conv2d with the same bits, chosen in
// core/dispatch.cpp.
//
// Order of arithmetic (the rule of kernels.h): every sum below runs in an order fixed by the problem,
// never by the thread count; sums over many terms of a statistic (a mean, a variance, a bias
// gradient) are accumulated in double and rounded once (the normalisations' over 8 interleaved
// partial sums, added in order at the end: see for_lanes in image_kernels.cpp).
#pragma once

#include <cstdint>

namespace ddpm {

// ---- 2-D convolution (cross-correlation, as in PyTorch) -----------------------------------------
// inp (B,C,H,W), weight (OC, C/groups, K, K), bias (OC) or null, out (B,OC,OH,OW) with
// OH = (H + 2 pad - K) / stride + 1 (the same for W). Zero padding of `pad` on every side.
// groups = 1 is the ordinary convolution, groups = C = OC the depthwise one; C and OC must be
// multiples of groups.
//
// The order of the sums (so that an im2col + matrix-product version gives the same bits):
//   out[b,o,p]   = bias[o], then + w[o,k] x[b,k,p] for the taps k = (ic, kh, kw) in that order
//                  (ic slowest), a padded tap contributing w * 0;
//   dinp[b,c,q] at stride 1 with pad <= K - 1: a correlation of dout with the flipped kernel, one
//                  chain from dinp's value over the group's o in order, then kh, kw from K-1 down;
//                otherwise: for each tap k in order, for each output position p in order whose
//                  tap k reads q: += (0 + sum over the group's o in order of w[o,k] dout[b,o,p]);
//   dweight     += per block of kConvGradImages images, in block order: (0 + sum over the block's
//                  images in order, over p in order, of dout[b,o,p] x[b,k,p]);
//   dbias       += sum over b, p of dout (in double).
const int kConvGradImages = 8;

int conv_out_size(int size, int K, int stride, int pad);
inline int same_padding(int K) { return (K - 1) / 2; }  // stride 1, odd K: the output keeps the size

void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H, int W,
                    int OC, int K, int stride, int pad, int groups);
// dinp (B,C,H,W) or null, dweight (OC, C/groups, K, K) or null, dbias (OC) or null, dout (B,OC,OH,OW)
void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int C, int H, int W, int OC, int K, int stride, int pad, int groups);
// The loops of the two, as core/image_kernels.cpp writes them; core/dispatch.cpp runs src/fast/'s
// versions in their place where one is installed for the shape (kernels.h, "which code runs").
namespace reference {
void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H, int W,
                    int OC, int K, int stride, int pad, int groups);
void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int C, int H, int W, int OC, int K, int stride, int pad, int groups);
}  // namespace reference

// ---- resampling, over N = B * C planes of H x W ----------------------------------------------
// Nearest-neighbour upsampling x2: inp (N,H,W) -> out (N,2H,2W), each value copied into a 2x2 block.
void upsample2x_forward(float* out, const float* inp, int64_t N, int H, int W);
// dinp (N,H,W) += the sum of its 2x2 block of dout (N,2H,2W), ((a + b) + c) + d in row order
void upsample2x_backward(float* dinp, const float* dout, int64_t N, int H, int W);

// Average pooling x2: inp (N,H,W), H and W even -> out (N,H/2,W/2), (((a + b) + c) + d) / 4.
void avgpool2x_forward(float* out, const float* inp, int64_t N, int H, int W);
// dinp (N,H,W) += dout / 4 on each of the four values of its block
void avgpool2x_backward(float* dinp, const float* dout, int64_t N, int H, int W);

// ---- normalisation ------------------------------------------------------------------------------
// GroupNorm (Wu and He 2018): inp (B,C,S) with S = H*W, G groups of C/G channels. For each (b, g):
// mean and variance (biased) of its C/G * S values, in double; rstd = 1 / sqrt(var + eps);
// out = ((x - mean) rstd) gamma[c] + beta[c]. mean, rstd (B,G) are saved for the backward.
void groupnorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* gamma, const float* beta,
                       int B, int C, int64_t S, int G, float eps);
// With xhat = (x - mean) rstd and dxhat = dout gamma, over the n = C/G * S values of a group:
//   dinp += rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),
//   dgamma[c] += sum over b, s of dout xhat,  dbeta[c] += sum of dout.
void groupnorm_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                        const float* mean, const float* rstd, const float* gamma, int B, int C, int64_t S, int G);

// LayerNorm over the channels of each position (as ConvNeXt uses it): inp (B,C,S); for each (b, s)
// the C values x[b,:,s] are normalised, then scaled by gamma (C) and shifted by beta (C).
// mean, rstd (B,S). The same formulas as GroupNorm, with the group being one position's channels.
void channel_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* gamma,
                               const float* beta, int B, int C, int64_t S, float eps);
void channel_layernorm_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                                const float* mean, const float* rstd, const float* gamma, int B, int C, int64_t S);

// ---- broadcast ----------------------------------------------------------------------------------
// out (B,C,S) = inp (B,C,S) + vec (B,C) on every position: how a timestep embedding enters a block.
void add_channel_vector_forward(float* out, const float* inp, const float* vec, int B, int C, int64_t S);
// dinp (B,C,S) or null += dout; dvec (B,C) or null += sum over s of dout (in double)
void add_channel_vector_backward(float* dinp, float* dvec, const float* dout, int B, int C, int64_t S);

// ---- self-attention over the S positions of a map ------------------------------------------------
// qkv (B, 3C, S): channels [0, C) are the queries, [C, 2C) the keys, [2C, 3C) the values; heads
// split each into heads x d channels, d = C / heads. For each (b, head), with i, j positions:
//   score[i,j] = (sum over c in order of q[c,i] k[c,j]) * (1 / sqrt d),
//   prob[i,:]  = softmax of score[i,:] (max subtracted, exp_approx, sum in order),
//   out[c,i]   = sum over j in order of v[c,j] prob[i,j].
// out (B,C,S); prob (B, heads, S, S) is saved for the backward.
void attention_forward(float* out, float* prob, const float* qkv, int B, int C, int64_t S, int heads);
// dqkv (B,3C,S) += the gradient, given dout (B,C,S), and qkv and prob from the forward.
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* prob, int B, int C, int64_t S,
                        int heads);

// ---- a fixed filter: the Gaussian blur of cold diffusion (Bansal et al. 2022) --------------------
// The normalised 1-D Gaussian of K taps (K odd), w[i] ~ exp(-(i - K/2)^2 / (2 sigma^2)) through
// exp_approx; the 2-D kernel is the outer product w[kh] w[kw].
void gaussian_kernel_1d(float* w, int K, float sigma);
// inp (N,H,W) -> out (N,H,W): each plane correlated with kernel (K,K), K odd, padding K/2 on each
// side with zeros or by reflection (PyTorch's "reflect": the edge value is not repeated; K/2 < H, W).
// out = 0, then + kernel[kh,kw] x[...] in (kh, kw) order.
void filter2d_forward(float* out, const float* inp, const float* kernel, int64_t N, int H, int W, int K, bool reflect);
// dinp (N,H,W) += the transpose: for each output position in order, each tap in order, the
// input value it read receives kernel[kh,kw] dout.
void filter2d_backward(float* dinp, const float* dout, const float* kernel, int64_t N, int H, int W, int K,
                       bool reflect);

// ---- dropout with a counter-based stream --------------------------------------------------------
// Value i is kept when uniform_at(seed, stream, offset + i) >= p, and scaled by 1 / (1 - p); else 0.
// The backward draws the same numbers again: no mask is stored. 0 <= p < 1.
void dropout_forward(float* out, const float* inp, int64_t N, float p, uint64_t seed, uint64_t stream,
                     uint64_t offset);
void dropout_backward(float* dinp, const float* dout, int64_t N, float p, uint64_t seed, uint64_t stream,
                      uint64_t offset);

}  // namespace ddpm
