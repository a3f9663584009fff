// fast/image_kernels.cpp: conv2d (groups = 1) as im2col + the register-tile matrix product, forward
// and both products of the backward, installed into fast_kernels() at start-up. Each gives the same
// bits as the loops of core/image_kernels.cpp (tests/test_fast_image.cpp): the im2col row order is
// the reference's tap order (ic, kh, kw), and each matrix product runs its sum in the reference's
// order (gemm_acc: k increasing, from the value already in C, a multiply and an add per term).
//
// Threads: the forward and dinp work one image per chunk; dweight one block of kConvGradImages
// images per chunk, each into its own partial sum, the partials then added in block order, as the
// reference does. The matrix products inside a chunk run on that chunk's thread.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/image_kernels.h"
#include "core/kernels.h"
#include "core/pool.h"

namespace ddpm {
namespace {

struct ConvGeometry {
    int C, H, W, K, stride, pad, OH, OW;
    int64_t P() const { return int64_t(OH) * OW; }
    int taps() const { return C * K * K; }
};

// cols (taps, P): row k = (ic, kh, kw) holds, for every output position p, the input value tap k
// reads there (0 in the padding). x is one image (C, H, W).
void im2col_rows(float* cols, const float* x, const ConvGeometry& g) {
    const int64_t P = g.P();
    for (int ic = 0; ic < g.C; ++ic)
        for (int kh = 0; kh < g.K; ++kh)
            for (int kw = 0; kw < g.K; ++kw) {
                float* row = cols + (int64_t(ic * g.K + kh) * g.K + kw) * P;
                const float* plane = x + int64_t(ic) * g.H * g.W;
                for (int oh = 0; oh < g.OH; ++oh) {
                    float* out = row + int64_t(oh) * g.OW;
                    const int ih = oh * g.stride - g.pad + kh;
                    if (ih < 0 || ih >= g.H) {
                        std::fill(out, out + g.OW, 0.0f);
                        continue;
                    }
                    const float* line = plane + int64_t(ih) * g.W;
                    for (int ow = 0; ow < g.OW; ++ow) {
                        const int iw = ow * g.stride - g.pad + kw;
                        out[ow] = (iw >= 0 && iw < g.W) ? line[iw] : 0.0f;
                    }
                }
            }
}

// patches (P, taps): the transpose of im2col_rows, one row of taps per output position.
void im2col_positions(float* patches, const float* x, const ConvGeometry& g) {
    const int taps = g.taps();
    for (int oh = 0; oh < g.OH; ++oh)
        for (int ow = 0; ow < g.OW; ++ow) {
            float* row = patches + (int64_t(oh) * g.OW + ow) * taps;
            for (int ic = 0; ic < g.C; ++ic) {
                const float* plane = x + int64_t(ic) * g.H * g.W;
                for (int kh = 0; kh < g.K; ++kh) {
                    const int ih = oh * g.stride - g.pad + kh;
                    float* out = row + (ic * g.K + kh) * g.K;
                    if (ih < 0 || ih >= g.H) {
                        std::fill(out, out + g.K, 0.0f);
                        continue;
                    }
                    const float* line = plane + int64_t(ih) * g.W;
                    for (int kw = 0; kw < g.K; ++kw) {
                        const int iw = ow * g.stride - g.pad + kw;
                        out[kw] = (iw >= 0 && iw < g.W) ? line[iw] : 0.0f;
                    }
                }
            }
        }
}

// dx (C, H, W) += the columns dcols (taps, P) scattered back, taps in order, positions in order.
void col2im_add(float* dx, const float* dcols, const ConvGeometry& g) {
    const int64_t P = g.P();
    for (int ic = 0; ic < g.C; ++ic)
        for (int kh = 0; kh < g.K; ++kh)
            for (int kw = 0; kw < g.K; ++kw) {
                const float* row = dcols + (int64_t(ic * g.K + kh) * g.K + kw) * P;
                float* plane = dx + int64_t(ic) * g.H * g.W;
                for (int oh = 0; oh < g.OH; ++oh) {
                    const int ih = oh * g.stride - g.pad + kh;
                    if (ih < 0 || ih >= g.H) continue;
                    float* line = plane + int64_t(ih) * g.W;
                    const float* in = row + int64_t(oh) * g.OW;
                    for (int ow = 0; ow < g.OW; ++ow) {
                        const int iw = ow * g.stride - g.pad + kw;
                        if (iw >= 0 && iw < g.W) line[iw] += in[ow];
                    }
                }
            }
}

// One scratch buffer per thread, grown as needed (an image's columns are up to a few MB).
float* scratch(std::vector<float>& buffer, int64_t n) {
    if (int64_t(buffer.size()) < n) buffer.resize(size_t(n));
    return buffer.data();
}

thread_local std::vector<float> tl_cols;

void conv2d_forward_fast(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H,
                         int W, int OC, int K, int stride, int pad) {
    const ConvGeometry g{C, H, W, K, stride, pad, conv_out_size(H, K, stride, pad), conv_out_size(W, K, stride, pad)};
    const int64_t P = g.P();
    const int taps = g.taps();
    parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
        float* cols = scratch(tl_cols, int64_t(taps) * P);
        for (int64_t b = b0; b < b1; ++b) {
            im2col_rows(cols, inp + b * C * int64_t(H) * W, g);
            float* y = out + b * OC * P;  // (OC, P)
            for (int o = 0; o < OC; ++o) std::fill(y + o * P, y + (o + 1) * P, bias ? bias[o] : 0.0f);
            gemm_acc(y, weight, cols, OC, taps, int(P));  // y (OC,P) += weight (OC,taps) . cols (taps,P)
        }
    });
}

void conv2d_backward_fast(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int B, int C, int H, int W, int OC, int K, int stride, int pad) {
    const ConvGeometry g{C, H, W, K, stride, pad, conv_out_size(H, K, stride, pad), conv_out_size(W, K, stride, pad)};
    const int64_t P = g.P(), HW = int64_t(H) * W;
    const int taps = g.taps();

    if (dbias)
        for (int o = 0; o < OC; ++o) {
            double s = 0.0;
            for (int b = 0; b < B; ++b)
                for (int64_t p = 0; p < P; ++p) s += dout[(int64_t(b) * OC + o) * P + p];
            dbias[o] += float(s);
        }

    const int blocks = (B + kConvGradImages - 1) / kConvGradImages;
    std::vector<float> partial(dweight ? size_t(blocks) * OC * taps : 0, 0.0f);  // (blocks, OC, taps)
    parallel_for(blocks, [&](int64_t blk) {
        float* cols = scratch(tl_cols, int64_t(taps) * P);  // dcols (taps, P), then patches (P, taps)
        const int b_begin = int(blk) * kConvGradImages, b_end = std::min(B, b_begin + kConvGradImages);
        for (int b = b_begin; b < b_end; ++b) {
            const float* g_out = dout + int64_t(b) * OC * P;  // (OC, P)
            if (dinp) {
                std::fill(cols, cols + int64_t(taps) * P, 0.0f);
                gemm_acc_tn(cols, weight, g_out, taps, OC, int(P));  // dcols = weight^T (taps,OC) . dout (OC,P)
                col2im_add(dinp + int64_t(b) * C * HW, cols, g);
            }
            if (dweight) {
                im2col_positions(cols, inp + int64_t(b) * C * HW, g);
                gemm_acc(partial.data() + blk * OC * taps, g_out, cols, OC, int(P), taps);  // (OC,P) . (P,taps)
            }
        }
    });
    if (dweight)
        for (int blk = 0; blk < blocks; ++blk) {
            const float* part = partial.data() + int64_t(blk) * OC * taps;
            for (int64_t i = 0; i < int64_t(OC) * taps; ++i) dweight[i] += part[i];
        }
}

const bool kInstalled = [] {
    FastKernels& k = fast_kernels();
    k.conv2d_forward = conv2d_forward_fast;
    k.conv2d_backward = conv2d_backward_fast;
    return true;
}();

}  // namespace
}  // namespace ddpm
