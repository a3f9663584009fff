#include "core/image_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/approx.h"
#include "core/common.h"
#include "core/kernels.h"
#include "core/madd.h"
#include "core/pool.h"
#include "core/rng.h"

namespace ddpm {

namespace {

const int64_t kPlaneGrain = 16;  // planes (or images) per chunk of the elementwise image kernels

}  // namespace

// ---------------------------------------------------------------------------------------------
// Convolution. Output position p = (oh, ow) reads, through tap (kh, kw), the input position
// (oh * stride - pad + kh, ow * stride - pad + kw), zero when that falls outside the image.
// ---------------------------------------------------------------------------------------------
int conv_out_size(int size, int K, int stride, int pad) { return (size + 2 * pad - K) / stride + 1; }

void reference::conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H, int W,
                    int OC, int K, int stride, int pad, int groups) {
    const int OH = conv_out_size(H, K, stride, pad), OW = conv_out_size(W, K, stride, pad);
    const int CG = C / groups, OCG = OC / groups;  // input and output channels per group
    parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
            for (int o = 0; o < OC; ++o) {
                const int first_c = (o / OCG) * CG;            // the group's first input channel
                const float* w = weight + int64_t(o) * CG * K * K;  // (CG, K, K)
                float* y = out + (b * OC + o) * int64_t(OH) * OW;  // (OH, OW)
                for (int oh = 0; oh < OH; ++oh)
                    for (int ow = 0; ow < OW; ++ow) {
                        float acc = bias ? bias[o] : 0.0f;
                        for (int ic = 0; ic < CG; ++ic) {
                            const float* x = inp + (b * C + first_c + ic) * int64_t(H) * W;  // (H, W)
                            for (int kh = 0; kh < K; ++kh) {
                                const int ih = oh * stride - pad + kh;
                                for (int kw = 0; kw < K; ++kw) {
                                    const int iw = ow * stride - pad + kw;
                                    const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                                    const float value = inside ? x[ih * W + iw] : 0.0f;
                                    acc = madd(w[(ic * K + kh) * K + kw], value, acc);
                                }
                            }
                        }
                        y[oh * OW + ow] = acc;
                    }
            }
    });
}

void reference::conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int C, int H, int W, int OC, int K, int stride, int pad, int groups) {
    const int OH = conv_out_size(H, K, stride, pad), OW = conv_out_size(W, K, stride, pad);
    const int64_t P = int64_t(OH) * OW, HW = int64_t(H) * W;
    const int CG = C / groups, OCG = OC / groups;
    const int taps = CG * K * K;  // weights per output channel

    if (dbias)  // dbias[o] += sum over b, p of dout[b,o,p]
        for (int o = 0; o < OC; ++o) {
            double s = 0.0;
            for (int b = 0; b < B; ++b)
                for (int64_t p = 0; p < P; ++p) s += dout[(int64_t(b) * OC + o) * P + p];
            dbias[o] += float(s);
        }

    if (dinp && stride == 1 && pad <= K - 1)
        // At stride 1 the input gradient is itself a correlation: of dout, padded by K - 1 - pad, with
        // the kernel flipped and its in/out channels swapped. dinp[b,c,ih,iw] += the terms
        // w[o,c,kh,kw] dout[b,o,ih+pad-kh,iw+pad-kw] (0 outside dout) for o in order, then kh and kw
        // each from K-1 down to 0, one chain from the value already in dinp.
        parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b)
                for (int c = 0; c < C; ++c) {
                    const int g = c / CG, ic = c % CG;
                    float* dx = dinp + (b * C + c) * HW;  // (H, W)
                    for (int ih = 0; ih < H; ++ih)
                        for (int iw = 0; iw < W; ++iw) {
                            float acc = dx[ih * W + iw];
                            for (int o = g * OCG; o < (g + 1) * OCG; ++o) {
                                const float* w = weight + int64_t(o) * taps + ic * K * K;  // (K, K)
                                const float* gy = dout + (b * OC + o) * P;                 // (OH, OW)
                                for (int kh = K - 1; kh >= 0; --kh) {
                                    const int oh = ih + pad - kh;
                                    for (int kw = K - 1; kw >= 0; --kw) {
                                        const int ow = iw + pad - kw;
                                        const bool inside = oh >= 0 && oh < OH && ow >= 0 && ow < OW;
                                        acc = madd(w[kh * K + kw], inside ? gy[oh * OW + ow] : 0.0f, acc);
                                    }
                                }
                            }
                            dx[ih * W + iw] = acc;
                        }
                }
        });
    else if (dinp)  // dinp[b,c,q] += sum over taps and positions that read q of (sum over o of w dout)
        parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b)
                for (int g = 0; g < groups; ++g)
                    for (int ic = 0; ic < CG; ++ic) {
                        float* dx = dinp + (b * C + g * CG + ic) * HW;  // (H, W)
                        for (int kh = 0; kh < K; ++kh)
                            for (int kw = 0; kw < K; ++kw)
                                for (int oh = 0; oh < OH; ++oh)
                                    for (int ow = 0; ow < OW; ++ow) {
                                        const int ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
                                        float acc = 0.0f;
                                        for (int o = g * OCG; o < (g + 1) * OCG; ++o)
                                            acc = madd(weight[int64_t(o) * taps + (ic * K + kh) * K + kw],
                                                       dout[((b * OC + o) * OH + oh) * OW + ow], acc);
                                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) dx[ih * W + iw] += acc;
                                    }
                    }
        });

    if (dweight) {  // per block of images a partial sum from zero; the partials added in block order
        const int blocks = (B + kConvGradImages - 1) / kConvGradImages;
        std::vector<float> partial(size_t(blocks) * OC * taps, 0.0f);  // (blocks, OC, taps)
        parallel_for(blocks, [&](int64_t blk) {
            float* part = partial.data() + blk * OC * taps;
            const int b_end = std::min(B, int(blk + 1) * kConvGradImages);
            for (int o = 0; o < OC; ++o) {
                const int first_c = (o / OCG) * CG;
                for (int ic = 0; ic < CG; ++ic)
                    for (int kh = 0; kh < K; ++kh)
                        for (int kw = 0; kw < K; ++kw) {
                            float acc = 0.0f;
                            for (int b = int(blk) * kConvGradImages; b < b_end; ++b) {
                                const float* x = inp + (int64_t(b) * C + first_c + ic) * HW;
                                const float* g = dout + (int64_t(b) * OC + o) * P;
                                for (int oh = 0; oh < OH; ++oh) {
                                    const int ih = oh * stride - pad + kh;
                                    for (int ow = 0; ow < OW; ++ow) {
                                        const int iw = ow * stride - pad + kw;
                                        const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                                        acc = madd(g[oh * OW + ow], inside ? x[ih * W + iw] : 0.0f, acc);
                                    }
                                }
                            }
                            part[int64_t(o) * taps + (ic * K + kh) * K + kw] = acc;
                        }
            }
        });
        for (int blk = 0; blk < blocks; ++blk)
            for (int64_t i = 0; i < int64_t(OC) * taps; ++i) dweight[i] += partial[size_t(blk * int64_t(OC) * taps + i)];
    }
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------
void upsample2x_forward(float* out, const float* inp, int64_t N, int H, int W) {
    const int OW = 2 * W;
    parallel_range(N, kPlaneGrain, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const float* x = inp + n * H * W;
            float* y = out + n * 4 * H * W;
            for (int h = 0; h < 2 * H; ++h)
                for (int w = 0; w < OW; ++w) y[h * OW + w] = x[(h / 2) * W + w / 2];
        }
    });
}

void upsample2x_backward(float* dinp, const float* dout, int64_t N, int H, int W) {
    const int OW = 2 * W;
    parallel_range(N, kPlaneGrain, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            float* dx = dinp + n * H * W;
            const float* g = dout + n * 4 * H * W;
            for (int h = 0; h < H; ++h)
                for (int w = 0; w < W; ++w) {
                    const float* top = g + (2 * h) * OW + 2 * w;
                    const float* bottom = top + OW;
                    dx[h * W + w] += ((top[0] + top[1]) + bottom[0]) + bottom[1];
                }
        }
    });
}

void avgpool2x_forward(float* out, const float* inp, int64_t N, int H, int W) {
    const int OH = H / 2, OW = W / 2;
    parallel_range(N, kPlaneGrain, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const float* x = inp + n * H * W;
            float* y = out + n * OH * OW;
            for (int h = 0; h < OH; ++h)
                for (int w = 0; w < OW; ++w) {
                    const float* top = x + (2 * h) * W + 2 * w;
                    const float* bottom = top + W;
                    y[h * OW + w] = (((top[0] + top[1]) + bottom[0]) + bottom[1]) * 0.25f;
                }
        }
    });
}

void avgpool2x_backward(float* dinp, const float* dout, int64_t N, int H, int W) {
    const int OH = H / 2, OW = W / 2;
    parallel_range(N, kPlaneGrain, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            float* dx = dinp + n * H * W;
            const float* g = dout + n * OH * OW;
            for (int h = 0; h < H; ++h)
                for (int w = 0; w < W; ++w) dx[h * W + w] = madd(g[(h / 2) * OW + w / 2], 0.25f, dx[h * W + w]);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Normalisation. A "group" is n values x[first + i * stride_c ... ]: GroupNorm's are contiguous
// (C/G channels of S positions), LayerNorm's are one position's C channels, S apart.
// ---------------------------------------------------------------------------------------------
namespace {

// Long sums in double run over 8 interleaved partial sums, added in order at the end: a fixed order
// (the same on every machine and thread count) with 8 additions in flight where one chain would wait
// for each. for_lanes(n, body) calls body(j, i) for i in [0, n) in order, j = i % 8 naming the
// partial that value i goes into.
template <typename Body>
void for_lanes(int64_t n, Body body) {
    int64_t i0 = 0;
    for (; i0 + 8 <= n; i0 += 8)
        for (int j = 0; j < 8; ++j) body(j, i0 + j);
    for (int j = 0; j < 8; ++j)
        if (i0 + j < n) body(j, i0 + j);
}

double total(const double part[8]) {
    double t = 0.0;
    for (int j = 0; j < 8; ++j) t += part[j];
    return t;
}

// mean and 1 / sqrt(var + eps) of the n values base[i * step], in double (two passes)
void group_stats(const float* base, int64_t n, int64_t step, float eps, float* mean, float* rstd) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for_lanes(n, [&](int j, int64_t i) { s[j] += base[i * step]; });
    const double m = total(s) / double(n);
    double ss[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for_lanes(n, [&](int j, int64_t i) {
        const double d = double(base[i * step]) - m;
        ss[j] = madd(d, d, ss[j]);
    });
    *mean = float(m);
    *rstd = float(1.0 / std::sqrt(total(ss) / double(n) + double(eps)));
}

// The part of the backward that does not involve gamma's and beta's gradients, for one group of
// `channels` channels, gamma[0 .. channels), each of `run` values (GroupNorm: S contiguous values;
// LayerNorm: 1), channel ci's values starting at ci * channel_step:
// dx_i += rstd (dxhat_i - mean(dxhat) - xhat_i mean(dxhat xhat)); value s of a run goes into partial s % 8.
void normalise_backward_group(float* dx, const float* dy, const float* x, int channels, int64_t run,
                              int64_t channel_step, float mean, float rstd, const float* gamma) {
    double sum_dxhat[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum_dxhat_xhat[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int ci = 0; ci < channels; ++ci)
        for_lanes(run, [&](int j, int64_t s) {
            const int64_t at = ci * channel_step + s;
            const float xhat = (x[at] - mean) * rstd;
            const float dxhat = dy[at] * gamma[ci];
            sum_dxhat[j] += dxhat;
            sum_dxhat_xhat[j] = madd(double(dxhat), double(xhat), sum_dxhat_xhat[j]);
        });
    const double n = double(channels) * double(run);
    const float mean_dxhat = float(total(sum_dxhat) / n), mean_dxhat_xhat = float(total(sum_dxhat_xhat) / n);
    for (int ci = 0; ci < channels; ++ci)
        for (int64_t s = ci * channel_step; s < ci * channel_step + run; ++s) {
            const float xhat = (x[s] - mean) * rstd;
            const float dxhat = dy[s] * gamma[ci];
            dx[s] = madd(rstd, (dxhat - mean_dxhat) - xhat * mean_dxhat_xhat, dx[s]);
        }
}

}  // namespace

void groupnorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* gamma, const float* beta,
                       int B, int C, int64_t S, int G, float eps) {
    const int CG = C / G;
    const int64_t n = int64_t(CG) * S;  // values per group
    parallel_range(int64_t(B) * G, 1, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {  // q = b * G + g; the group's values are contiguous
            const float* x = inp + q * n;
            float* y = out + q * n;
            group_stats(x, n, 1, eps, &mean[q], &rstd[q]);
            const float m = mean[q], r = rstd[q];
            for (int ci = 0; ci < CG; ++ci) {
                const int c = int(q % G) * CG + ci;
                for (int64_t s = ci * S; s < (ci + 1) * S; ++s) y[s] = ((x[s] - m) * r) * gamma[c] + beta[c];
            }
        }
    });
}

void groupnorm_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                        const float* mean, const float* rstd, const float* gamma, int B, int C, int64_t S, int G) {
    const int CG = C / G;
    const int64_t n = int64_t(CG) * S;
    if (dinp)
        parallel_range(int64_t(B) * G, 1, [&](int64_t q0, int64_t q1) {
            for (int64_t q = q0; q < q1; ++q) {
                normalise_backward_group(dinp + q * n, dout + q * n, inp + q * n, CG, S, S, mean[q], rstd[q],
                                         gamma + int(q % G) * CG);
            }
        });
    if (dgamma || dbeta)  // per channel, over b then s
        parallel_range(C, 1, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                double sg[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                for (int b = 0; b < B; ++b) {  // value (b, s) into partial s % 8
                    const int64_t q = int64_t(b) * G + c / CG;
                    const float* x = inp + (int64_t(b) * C + c) * S;
                    const float* dy = dout + (int64_t(b) * C + c) * S;
                    const float m = mean[q], r = rstd[q];
                    for_lanes(S, [&](int j, int64_t s) {
                        const float xhat = (x[s] - m) * r;
                        sg[j] = madd(double(dy[s]), double(xhat), sg[j]);
                        sb[j] += dy[s];
                    });
                }
                if (dgamma) dgamma[c] += float(total(sg));
                if (dbeta) dbeta[c] += float(total(sb));
            }
        });
}

void channel_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* gamma,
                               const float* beta, int B, int C, int64_t S, float eps) {
    parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
            for (int64_t s = 0; s < S; ++s) {
                const float* x = inp + b * C * S + s;  // channel c at x[c * S]
                float* y = out + b * C * S + s;
                const int64_t q = b * S + s;
                group_stats(x, C, S, eps, &mean[q], &rstd[q]);
                for (int c = 0; c < C; ++c) y[c * S] = ((x[c * S] - mean[q]) * rstd[q]) * gamma[c] + beta[c];
            }
    });
}

void channel_layernorm_backward(float* dinp, float* dgamma, float* dbeta, const float* dout, const float* inp,
                                const float* mean, const float* rstd, const float* gamma, int B, int C, int64_t S) {
    if (dinp)
        parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b)
                for (int64_t s = 0; s < S; ++s) {
                    const int64_t at = b * C * S + s, q = b * S + s;
                    normalise_backward_group(dinp + at, dout + at, inp + at, C, 1, S, mean[q], rstd[q], gamma);
                }
        });
    if (dgamma || dbeta)
        parallel_range(C, 1, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                double sg[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                for (int b = 0; b < B; ++b)  // value (b, s) into partial s % 8
                    for_lanes(S, [&](int j, int64_t s) {
                        const int64_t at = (int64_t(b) * C + c) * S + s, q = int64_t(b) * S + s;
                        const float xhat = (inp[at] - mean[q]) * rstd[q];
                        sg[j] = madd(double(dout[at]), double(xhat), sg[j]);
                        sb[j] += dout[at];
                    });
                if (dgamma) dgamma[c] += float(total(sg));
                if (dbeta) dbeta[c] += float(total(sb));
            }
        });
}

// ---------------------------------------------------------------------------------------------
// Broadcast add of a (B, C) vector over the positions
// ---------------------------------------------------------------------------------------------
void add_channel_vector_forward(float* out, const float* inp, const float* vec, int B, int C, int64_t S) {
    parallel_range(int64_t(B) * C, kPlaneGrain, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q)  // q = b * C + c
            for (int64_t s = 0; s < S; ++s) out[q * S + s] = inp[q * S + s] + vec[q];
    });
}

void add_channel_vector_backward(float* dinp, float* dvec, const float* dout, int B, int C, int64_t S) {
    parallel_range(int64_t(B) * C, kPlaneGrain, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
            const float* g = dout + q * S;
            if (dinp)
                for (int64_t s = 0; s < S; ++s) dinp[q * S + s] += g[s];
            if (dvec) {
                double sum = 0.0;
                for (int64_t s = 0; s < S; ++s) sum += g[s];
                dvec[q] += float(sum);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Self-attention (Vaswani et al. 2017, eq. 1) over the positions of a map, per (image, head).
// Backward, with P = prob, dO = dout:  dV = dO P (per channel: dv[c,j] = sum_i dO[c,i] P[i,j]),
// dP[i,j] = sum_c dO[c,i] v[c,j],  dScore[i,j] = P[i,j] (dP[i,j] - sum_j' P[i,j'] dP[i,j']),
// dq[c,i] = scale sum_j dScore[i,j] k[c,j],  dk[c,j] = scale sum_i dScore[i,j] q[c,i].
// ---------------------------------------------------------------------------------------------
void attention_forward(float* out, float* prob, const float* qkv, int B, int C, int64_t S, int heads) {
    const int d = C / heads;
    const float scale = 1.0f / std::sqrt(float(d));
    parallel_range(int64_t(B) * heads, 1, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {  // r = b * heads + h
            const int64_t b = r / heads, h = r % heads;
            const float* q = qkv + (b * 3 * C + h * d) * S;          // (d, S)
            const float* k = qkv + (b * 3 * C + C + h * d) * S;      // (d, S)
            const float* v = qkv + (b * 3 * C + 2 * C + h * d) * S;  // (d, S)
            float* p = prob + r * S * S;                             // (S, S)
            float* o = out + (b * C + h * d) * S;                    // (d, S)
            for (int64_t i = 0; i < S; ++i) {
                float* row = p + i * S;
                float row_max = -INFINITY;
                for (int64_t j = 0; j < S; ++j) {
                    float dot = 0.0f;
                    for (int c = 0; c < d; ++c) dot = madd(q[c * S + i], k[c * S + j], dot);
                    row[j] = dot * scale;
                    row_max = std::max(row_max, row[j]);
                }
                float total = 0.0f;
                for (int64_t j = 0; j < S; ++j) {
                    row[j] = exp_approx(row[j] - row_max);
                    total += row[j];
                }
                const float inv = 1.0f / total;
                for (int64_t j = 0; j < S; ++j) row[j] *= inv;
            }
            for (int c = 0; c < d; ++c)
                for (int64_t i = 0; i < S; ++i) {
                    float acc = 0.0f;
                    for (int64_t j = 0; j < S; ++j) acc = madd(v[c * S + j], p[i * S + j], acc);
                    o[c * S + i] = acc;
                }
        }
    });
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* prob, int B, int C, int64_t S,
                        int heads) {
    const int d = C / heads;
    const float scale = 1.0f / std::sqrt(float(d));
    parallel_range(int64_t(B) * heads, 1, [&](int64_t r0, int64_t r1) {
        std::vector<float> dscore(size_t(S * S));
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t b = r / heads, h = r % heads;
            const int64_t q_at = (b * 3 * C + h * d) * S, k_at = q_at + C * S, v_at = q_at + 2 * C * S;
            const float *q = qkv + q_at, *k = qkv + k_at, *v = qkv + v_at;
            float *dq = dqkv + q_at, *dk = dqkv + k_at, *dv = dqkv + v_at;
            const float* p = prob + r * S * S;
            const float* g = dout + (b * C + h * d) * S;  // (d, S)
            for (int c = 0; c < d; ++c)
                for (int64_t j = 0; j < S; ++j) {
                    float acc = 0.0f;
                    for (int64_t i = 0; i < S; ++i) acc = madd(g[c * S + i], p[i * S + j], acc);
                    dv[c * S + j] += acc;
                }
            for (int64_t i = 0; i < S; ++i) {
                float* ds = dscore.data() + i * S;
                float weighted = 0.0f;  // sum_j P[i,j] dP[i,j]
                for (int64_t j = 0; j < S; ++j) {
                    float dp = 0.0f;
                    for (int c = 0; c < d; ++c) dp = madd(g[c * S + i], v[c * S + j], dp);
                    ds[j] = dp;
                    weighted = madd(p[i * S + j], dp, weighted);
                }
                for (int64_t j = 0; j < S; ++j) ds[j] = p[i * S + j] * (ds[j] - weighted) * scale;
            }
            for (int c = 0; c < d; ++c) {
                for (int64_t i = 0; i < S; ++i) {
                    float acc = 0.0f;
                    for (int64_t j = 0; j < S; ++j) acc = madd(dscore[size_t(i * S + j)], k[c * S + j], acc);
                    dq[c * S + i] += acc;
                }
                for (int64_t j = 0; j < S; ++j) {
                    float acc = 0.0f;
                    for (int64_t i = 0; i < S; ++i) acc = madd(dscore[size_t(i * S + j)], q[c * S + i], acc);
                    dk[c * S + j] += acc;
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The fixed filter
// ---------------------------------------------------------------------------------------------
void gaussian_kernel_1d(float* w, int K, float sigma) {
    if (K <= 0 || K % 2 == 0 || !(sigma > 0.0f))
        fail("gaussian_kernel_1d: K must be odd and positive and sigma positive, got K = " + std::to_string(K));
    const int half = K / 2;
    float total = 0.0f;
    for (int i = 0; i < K; ++i) {
        const float u = float(i - half);
        w[i] = exp_approx(-(u * u) / (2.0f * sigma * sigma));
        total += w[i];
    }
    for (int i = 0; i < K; ++i) w[i] /= total;
}

namespace {

// The input index read at `i` (which may be outside [0, n)): -1 for a zero, else its reflection.
int padded_index(int i, int n, bool reflect) {
    if (i >= 0 && i < n) return i;
    if (!reflect) return -1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

}  // namespace

void filter2d_forward(float* out, const float* inp, const float* kernel, int64_t N, int H, int W, int K, bool reflect) {
    const int half = K / 2;
    parallel_range(N, kPlaneGrain, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const float* x = inp + n * H * W;
            float* y = out + n * H * W;
            for (int h = 0; h < H; ++h)
                for (int w = 0; w < W; ++w) {
                    float acc = 0.0f;
                    for (int kh = 0; kh < K; ++kh) {
                        const int ih = padded_index(h - half + kh, H, reflect);
                        for (int kw = 0; kw < K; ++kw) {
                            const int iw = padded_index(w - half + kw, W, reflect);
                            const float value = (ih < 0 || iw < 0) ? 0.0f : x[ih * W + iw];
                            acc = madd(kernel[kh * K + kw], value, acc);
                        }
                    }
                    y[h * W + w] = acc;
                }
        }
    });
}

void filter2d_backward(float* dinp, const float* dout, const float* kernel, int64_t N, int H, int W, int K,
                       bool reflect) {
    const int half = K / 2;
    parallel_range(N, kPlaneGrain, [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            float* dx = dinp + n * H * W;
            const float* g = dout + n * H * W;
            for (int h = 0; h < H; ++h)
                for (int w = 0; w < W; ++w)
                    for (int kh = 0; kh < K; ++kh) {
                        const int ih = padded_index(h - half + kh, H, reflect);
                        for (int kw = 0; kw < K; ++kw) {
                            const int iw = padded_index(w - half + kw, W, reflect);
                            if (ih >= 0 && iw >= 0) dx[ih * W + iw] = madd(kernel[kh * K + kw], g[h * W + w], dx[ih * W + iw]);
                        }
                    }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Dropout (Srivastava et al. 2014), inverted: kept values are scaled by 1 / (1 - p) in training so
// that nothing changes at test time.
// ---------------------------------------------------------------------------------------------
void dropout_forward(float* out, const float* inp, int64_t N, float p, uint64_t seed, uint64_t stream,
                     uint64_t offset) {
    const float keep_scale = 1.0f / (1.0f - p);
    parallel_range(N, 8192, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            out[i] = uniform_at(seed, stream, offset + uint64_t(i)) >= p ? inp[i] * keep_scale : 0.0f;
    });
}

void dropout_backward(float* dinp, const float* dout, int64_t N, float p, uint64_t seed, uint64_t stream,
                      uint64_t offset) {
    const float keep_scale = 1.0f / (1.0f - p);
    parallel_range(N, 8192, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            if (uniform_at(seed, stream, offset + uint64_t(i)) >= p) dinp[i] = madd(dout[i], keep_scale, dinp[i]);
    });
}

}  // namespace ddpm
