// fast/image_kernels.cpp: conv2d (groups = 1), forward and both products of the backward, as
// matrix products on a register tile, and the depthwise convolution at stride 1 (at the end),
// installed into fast_kernels() at start-up. Each gives the same bits as the loops of core/image_kernels.cpp (tests/test_fast_image.cpp): every output value gets
// the reference's terms in the reference's order, one fused multiply-add per term (fast/fma.h).
//   - stride 1 (all but the U-Net's downsampling): an implicit im2col, the padded image read in
//     place, and the input gradient as the forward's kernel on dout with the flipped weights;
//   - other strides: im2col + the gemm of src/fast/kernels.cpp (gemm_acc, gemm_acc_tn).
//
// Threads: the forward works one image per chunk; the backward one block of kConvGradImages
// images per chunk (dinp of each image, and the block's partial weight gradient, the partials then
// added in block order, as the reference does). Products inside a chunk run on that chunk's thread.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dispatch.h"
#include "core/image_kernels.h"
#include "core/kernels.h"
#include "core/pool.h"
#include "core/madd.h"
#include "fast/fma.h"

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

void conv2d_forward_im2col(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H,
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

void conv2d_backward_im2col(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
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

// ---------------------------------------------------------------------------------------------
// Stride 1: an implicit im2col. With the image stored padded, (C, Hp, Wp), Hp = H + 2 pad, and the
// output computed on the padded width, p' = oh * Wp + ow (the columns ow >= OW are junk and dropped),
// tap k = (ic, kh, kw) reads x_pad[off[k] + p'] with off[k] = ic Hp Wp + kh Wp + kw: row k of the
// im2col matrix is the padded image itself, shifted. No columns are written; the matrix products read
// the image in place. The junk columns of dout are zero, so their terms add +-0: nothing changes
// (a sum started from +0 never becomes -0; caveat: a -0 already in dinp would become +0).
// ---------------------------------------------------------------------------------------------
// The tiles work in columns of kLanes = 16 floats, each held in kParts registers of the target (one
// zmm with AVX-512, two ymm with AVX2, four NEON or SSE registers). The registers are named one by
// one, never as a 64-byte vector that the compiler must split: GCC splits such a vector through the
// stack (measured on AMD Zen 3, AVX2: the cnn workload ran at a seventh of the speed it has now).
// Lanes never mix, so the register width changes speed, never bits. Only AVX-512's 32 registers of
// 16 floats hold the large tiles of product_runs (kLargeTiles); elsewhere the tiles are 6 x 16.
#if defined(__AVX512F__)
typedef float lanes __attribute__((vector_size(64)));
const bool kLargeTiles = true;
#elif defined(__AVX__)
typedef float lanes __attribute__((vector_size(32)));
const bool kLargeTiles = false;
#else
typedef float lanes __attribute__((vector_size(16)));
const bool kLargeTiles = false;
#endif
const int kLanes = 16;
const int kRegLanes = int(sizeof(lanes) / sizeof(float));
const int kParts = kLanes / kRegLanes;
// Without kLargeTiles the tiles are 6 rows of one column of 16 (with AVX2 12 accumulators, two
// registers of B and one of A's value: the shape BLAS libraries use for that instruction set).
const int kFewRegsRows = 6;

inline lanes load_lanes(const float* p) {
    lanes v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store_lanes(float* p, lanes v) { std::memcpy(p, &v, sizeof v); }

// A(m, k) = a_row[m][a_off[k]]; B(k, n) = b[b_off[k] + n]; C (M, N) with rows ldc apart. The
// offsets let one kernel read a matrix, its transpose, or the shifted rows of a padded image.
struct Operands {
    const float* const* a_row;
    const int64_t* a_off;
    const float* b;
    const int64_t* b_off;
    float* c;
    int64_t ldc;
    int K;
    // 0, or the length of the runs that A's rows come in: rows j run .. (j + 1) run - 1 of A are one
    // stretch of memory, a_row[j run + i] = a_row[j run] + i (the output positions of one row of the
    // map; the kw taps of one kernel row). The tiles of such rows address A from one pointer.
    int run = 0;
};

// C[m0 .. m0+R, n0 .. n0+16V] into the tile's accumulators (P = V kParts registers a row), and back
template <int R, int P>
inline void load_c(lanes (&acc)[R][P], const Operands& o, int m0, int n0) {
#pragma GCC unroll 28
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < P; ++v) acc[r][v] = load_lanes(o.c + (m0 + r) * o.ldc + n0 + v * kRegLanes);
}

template <int R, int P>
inline void store_c(const lanes (&acc)[R][P], const Operands& o, int m0, int n0) {
#pragma GCC unroll 28
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < P; ++v) store_lanes(o.c + (m0 + r) * o.ldc + n0 + v * kRegLanes, acc[r][v]);
}

// C[m0 .. m0+R, n0 .. n0+16V] += A . B, k in increasing order, one fused multiply-add per term
template <int R, int V>
void tile(const Operands& o, int m0, int n0) {
    constexpr int P = V * kParts;
    lanes acc[R][P];
    load_c(acc, o, m0, n0);
    const float* __restrict a[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) a[r] = o.a_row[m0 + r];
    for (int k = 0; k < o.K; ++k) {
        const float* __restrict b = o.b + o.b_off[k] + n0;
        const int64_t ak = o.a_off[k];
        lanes bk[P];
#pragma GCC unroll 8
        for (int v = 0; v < P; ++v) bk[v] = load_lanes(b + v * kRegLanes);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
            for (int v = 0; v < P; ++v) acc[r][v] = fast::fma_broadcast(a[r] + ak, bk[v], acc[r][v]);
    }
    store_c(acc, o, m0, n0);
}

// The same for G groups of L rows, each group L consecutive rows of one run of A (Operands::run): one
// pointer per group, its rows at fixed offsets, so the inner loop is the tile's loads and fused
// multiply-adds and G additions. Larger tiles than tile<R, V> fit: R = G L up to 14 rows of two
// vectors or 28 of one (28 or 29 of the 32 vector registers of AVX-512; used there only).
template <int G, int L, int V>
void tile_run(const Operands& o, int m0, int n0) {
    constexpr int P = V * kParts;
    lanes acc[G * L][P];
    load_c(acc, o, m0, n0);
    const float* a[G];
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) a[g] = o.a_row[m0 + g * L];
    for (int k = 0; k < o.K; ++k) {
        const float* __restrict b = o.b + o.b_off[k] + n0;
        const int64_t ak = o.a_off[k];
        lanes bk[P];
#pragma GCC unroll 8
        for (int v = 0; v < P; ++v) bk[v] = load_lanes(b + v * kRegLanes);
#pragma GCC unroll 16
        for (int g = 0; g < G; ++g) {
            const float* ag = a[g] + ak;
            // ag in a register of its own, so that the multiply-adds read ag + 4 i: an indexed address
            // (base + index) costs Intel's cores a second micro-op per instruction
            asm("" : "+r"(ag));
#pragma GCC unroll 28
            for (int i = 0; i < L; ++i)
#pragma GCC unroll 8
                for (int v = 0; v < P; ++v) acc[g * L + i][v] = fast::fma_broadcast(ag + i, bk[v], acc[g * L + i][v]);
        }
    }
    store_c(acc, o, m0, n0);
}

// columns [n0, N) that do not fill a vector: a scalar chain per element, R rows at once
template <int R>
void tile_narrow(const Operands& o, int m0, int n0, int N) {
    for (int n = n0; n < N; ++n) {
        float acc[R];
        for (int r = 0; r < R; ++r) acc[r] = o.c[(m0 + r) * o.ldc + n];
        for (int k = 0; k < o.K; ++k) {
            const float b = o.b[o.b_off[k] + n];
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) acc[r] = madd(o.a_row[m0 + r][o.a_off[k]], b, acc[r]);
        }
        for (int r = 0; r < R; ++r) o.c[(m0 + r) * o.ldc + n] = acc[r];
    }
}

template <int R>
void row_block(const Operands& o, int m0, int N) {
    int n = 0;
    for (; n + 2 * kLanes <= N; n += 2 * kLanes) tile<R, 2>(o, m0, n);
    if (n + kLanes <= N) {
        tile<R, 1>(o, m0, n);
        n += kLanes;
    }
    if (n < N) tile_narrow<R>(o, m0, n, N);
}

// rows [m, M) of the columns [n0, n0 + 16 V), with the tiles of any rows
template <int V>
void strip_rows(const Operands& o, int m, int M, int n0) {
    for (; m + 8 <= M; m += 8) tile<8, V>(o, m, n0);
    switch (M - m) {
        case 7: tile<7, V>(o, m, n0); break;
        case 6: tile<6, V>(o, m, n0); break;
        case 5: tile<5, V>(o, m, n0); break;
        case 4: tile<4, V>(o, m, n0); break;
        case 3: tile<3, V>(o, m, n0); break;
        case 2: tile<2, V>(o, m, n0); break;
        case 1: tile<1, V>(o, m, n0); break;
        default: break;
    }
}

// C (M, N) += A (M, K) . B (K, N) for rows whose A comes in runs (Operands::run) of a multiple of L:
// column strip by column strip, tiles of G2 groups of L rows for two vectors of columns, G1 groups for
// one; the rows past the last whole tile and the columns that do not fill a vector as product_rows.
template <int G2, int G1, int L>
void product_runs(const Operands& o, int M, int N) {
    int n = 0;
    for (; n + 2 * kLanes <= N; n += 2 * kLanes) {
        const int done = M / (G2 * L) * (G2 * L);
        for (int m = 0; m < done; m += G2 * L) tile_run<G2, L, 2>(o, m, n);
        strip_rows<2>(o, done, M, n);
    }
    if (n + kLanes <= N) {
        const int done = M / (G1 * L) * (G1 * L);
        for (int m = 0; m < done; m += G1 * L) tile_run<G1, L, 1>(o, m, n);
        strip_rows<1>(o, done, M, n);
        n += kLanes;
    }
    if (n < N) {
        int m = 0;
        for (; m + 8 <= M; m += 8) tile_narrow<8>(o, m, n, N);
        for (; m < M; ++m) tile_narrow<1>(o, m, n, N);
    }
}

// The same without kLargeTiles: tiles of one column of 16 only, kFewRegsRows rows at a time.
template <int R>
void row_block_one_vector(const Operands& o, int m0, int N) {
    int n = 0;
    for (; n + kLanes <= N; n += kLanes) tile<R, 1>(o, m0, n);
    if (n < N) tile_narrow<R>(o, m0, n, N);
}

void product_rows_few_registers(const Operands& o, int M, int N);

// Rows in runs of a multiple of L (Operands::run), where registers are few: tiles of G groups of L
// rows (G L = kFewRegsRows) and one column of 16, column strip by column strip; the rows past the
// last whole tile and the columns that do not fill a vector as product_rows_few_registers.
template <int G, int L>
void product_runs_few_registers(const Operands& o, int M, int N) {
    const int done = M / (G * L) * (G * L);
    int n = 0;
    for (; n + kLanes <= N; n += kLanes)
        for (int m = 0; m < done; m += G * L) tile_run<G, L, 1>(o, m, n);
    if (n < N)
        for (int m = 0; m < done; m += G * L) tile_narrow<G * L>(o, m, n, N);
    if (done < M) {
        Operands rest = o;
        rest.a_row = o.a_row + done;
        rest.c = o.c + done * o.ldc;
        product_rows_few_registers(rest, M - done, N);
    }
}

void product_rows_few_registers(const Operands& o, int M, int N) {
    int m = 0;
    for (; m + kFewRegsRows <= M; m += kFewRegsRows) row_block_one_vector<kFewRegsRows>(o, m, N);
    switch (M - m) {
        case 5: row_block_one_vector<5>(o, m, N); break;
        case 4: row_block_one_vector<4>(o, m, N); break;
        case 3: row_block_one_vector<3>(o, m, N); break;
        case 2: row_block_one_vector<2>(o, m, N); break;
        case 1: row_block_one_vector<1>(o, m, N); break;
        default: break;
    }
}

// C (M, N) += A (M, K) . B (K, N), over all of K for a block of rows at a time
void product_rows(const Operands& o, int M, int N) {
    int m = 0;
    if (N <= kLanes)  // one vector of columns: 16 rows, so that 16 sums are in flight
        for (; m + 16 <= M; m += 16) row_block<16>(o, m, N);
    for (; m + 8 <= M; m += 8) row_block<8>(o, m, N);
    switch (M - m) {
        case 7: row_block<7>(o, m, N); break;
        case 6: row_block<6>(o, m, N); break;
        case 5: row_block<5>(o, m, N); break;
        case 4: row_block<4>(o, m, N); break;
        case 3: row_block<3>(o, m, N); break;
        case 2: row_block<2>(o, m, N); break;
        case 1: row_block<1>(o, m, N); break;
        default: break;
    }
}

// C (M, N) += A (M, K) . B (K, N). K is cut into blocks whose rows of B fit in kBlockBytes; every row
// block of C runs over one block of K before the next block starts, C holding the sums in between.
// Each element of C still gets its terms in increasing k, one chain from its value: storing a float
// and loading it again changes nothing, so the bits are those of one pass. The block is the L1 cache
// (16 KB of B) for the AVX-512 tiles; the 6 x 16 tiles of other targets run column strip by column
// strip, B's strip staying in L1 whatever the block, and there a larger block (64 KB: fewer passes of
// C through the cache) made two threads' cnn sampling 17% faster on AMD Zen 3 (alternated runs of
// 16, 32, 64 and 128 KB; one thread moved by less than the noise).
const int64_t kBlockBytes = (kLargeTiles ? 16 : 64) * 1024;

void product(const Operands& o, int M, int N) {
    const int kc = int(std::max<int64_t>(16, kBlockBytes / (int64_t(sizeof(float)) * std::max(N, 1))));
    for (int k0 = 0; k0 < o.K; k0 += kc) {
        Operands part = o;
        part.a_off = o.a_off + k0;
        part.b_off = o.b_off + k0;
        part.K = std::min(kc, o.K - k0);
        if (!kLargeTiles) {
            if (o.run > 0 && o.run % 3 == 0) product_runs_few_registers<2, 3>(part, M, N);
            else if (o.run > 0 && o.run % 2 == 0) product_runs_few_registers<3, 2>(part, M, N);
            else product_rows_few_registers(part, M, N);
        }
        else if (o.run > 0 && o.run % 14 == 0) product_runs<1, 2, 14>(part, M, N);
        else if (o.run > 0 && o.run % 7 == 0) product_runs<2, 4, 7>(part, M, N);
        else if (o.run > 0 && o.run % 3 == 0) product_runs<4, 9, 3>(part, M, N);
        else product_rows(part, M, N);
    }
}

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// The padded geometry of a stride-1 convolution.
struct Padded {
    int C, H, W, K, pad, Hp, Wp, OH, OW;
    int64_t plane, P, Np;  // Hp * Wp; OH * Wp positions on the padded width; P rounded up to a vector
    std::vector<int64_t> off;  // (taps) where tap k starts in the padded image
    Padded(int C_, int H_, int W_, int K_, int pad_)
        : C(C_), H(H_), W(W_), K(K_), pad(pad_), Hp(H_ + 2 * pad_), Wp(W_ + 2 * pad_),
          OH(H_ + 2 * pad_ - K_ + 1), OW(W_ + 2 * pad_ - K_ + 1) {
        plane = int64_t(Hp) * Wp;
        P = int64_t(OH) * Wp;
        Np = round_up(P, kLanes);
        for (int ic = 0; ic < C; ++ic)
            for (int kh = 0; kh < K; ++kh)
                for (int kw = 0; kw < K; ++kw) off.push_back(ic * plane + int64_t(kh) * Wp + kw);
    }
    int taps() const { return C * K * K; }
    // values of a padded image, with room for the reads of the last positions past its end
    int64_t padded_size() const { return C * plane + Np + int64_t(K) * Wp + K; }

    // x (C,H,W) -> x_pad (zeros around, and after the end)
    void pad_image(float* x_pad, const float* x) const {
        std::fill(x_pad, x_pad + padded_size(), 0.0f);
        for (int c = 0; c < C; ++c)
            for (int h = 0; h < H; ++h)
                std::memcpy(x_pad + c * plane + int64_t(h + pad) * Wp + pad, x + (int64_t(c) * H + h) * W,
                            sizeof(float) * size_t(W));
    }
};

thread_local std::vector<float> tl_pad, tl_out, tl_dout, tl_doutT, tl_g;
thread_local std::vector<const float*> tl_rows;

std::vector<int64_t> arithmetic(int64_t n, int64_t step) {  // 0, step, 2 step, ...
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i * step;
    return v;
}

// The offsets of the valid output positions (oh, ow) on the padded width: oh * Wp + ow.
std::vector<int64_t> valid_positions(const Padded& g) {
    std::vector<int64_t> v;
    for (int oh = 0; oh < g.OH; ++oh)
        for (int ow = 0; ow < g.OW; ++ow) v.push_back(int64_t(oh) * g.Wp + ow);
    return v;
}

// Forward. With OC >= 16 the product is transposed, rows being the output positions themselves (no
// junk columns): y^T (P, OC) = bias, += (image rows shifted by each tap) . W^T (taps, OC). With
// fewer output channels (the last layers, OC = 1) the rows are the channels and the columns the
// positions on the padded width. The same terms in the same order either way.
void conv2d_forward_implicit(float* out, const float* inp, const float* weight, const float* bias, int B, int C,
                             int H, int W, int OC, int K, int pad) {
    const Padded g(C, H, W, K, pad);
    const int taps = g.taps();
    const int64_t P = int64_t(g.OH) * g.OW;
    const bool by_position = OC >= kLanes;
    std::vector<float> weight_t(by_position ? size_t(taps) * OC : 0);  // (taps, OC)
    for (int64_t i = 0; i < int64_t(weight_t.size()); ++i) weight_t[size_t(i)] = weight[(i % OC) * taps + i / OC];
    const std::vector<int64_t> positions = valid_positions(g), by_tap = arithmetic(taps, by_position ? OC : 1);
    parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
        float* x_pad = scratch(tl_pad, g.padded_size());
        for (int64_t b = b0; b < b1; ++b) {
            g.pad_image(x_pad, inp + b * C * int64_t(H) * W);
            float* y = out + b * OC * P;  // (OC, P)
            if (by_position) {
                float* y_t = scratch(tl_out, P * OC);  // (P, OC)
                for (int64_t p = 0; p < P; ++p)
                    for (int o = 0; o < OC; ++o) y_t[p * OC + o] = bias ? bias[o] : 0.0f;
                tl_rows.resize(size_t(P));
                for (int64_t p = 0; p < P; ++p) tl_rows[size_t(p)] = x_pad + positions[size_t(p)];
                const Operands ops{tl_rows.data(), g.off.data(), weight_t.data(), by_tap.data(), y_t, OC, taps, g.OW};
                product(ops, int(P), OC);
                for (int o = 0; o < OC; ++o)
                    for (int64_t p = 0; p < P; ++p) y[o * P + p] = y_t[p * OC + o];
            } else {
                float* y_pad = scratch(tl_out, OC * g.Np);  // (OC, Np)
                for (int o = 0; o < OC; ++o) std::fill(y_pad + o * g.Np, y_pad + (o + 1) * g.Np, bias ? bias[o] : 0.0f);
                tl_rows.resize(size_t(OC));
                for (int o = 0; o < OC; ++o) tl_rows[size_t(o)] = weight + int64_t(o) * taps;
                const Operands ops{tl_rows.data(), by_tap.data(), x_pad, g.off.data(), y_pad, g.Np, taps};
                product(ops, OC, int(g.Np));  // y (OC, Np) += weight (OC, taps) . shifted images (taps, Np)
                for (int o = 0; o < OC; ++o)
                    for (int oh = 0; oh < g.OH; ++oh)
                        std::memcpy(y + (int64_t(o) * g.OH + oh) * g.OW, y_pad + o * g.Np + int64_t(oh) * g.Wp,
                                    sizeof(float) * size_t(g.OW));
            }
        }
    });
}

// dinp at stride 1 (pad <= K - 1), as the reference's correlation: dx (C, H, W) = its value, then
// + sum over k' = (o, kh', kw') of w[o, c, K-1-kh', K-1-kw'] dout_pad[o, ih + kh', iw + kw'], dout
// padded by K - 1 - pad. The same kernel as the forward, on dout, with the flipped weights.
struct InputGradient {
    Padded q;                      // dout as the "image": OC channels of OH x OW, padded
    bool by_position;
    std::vector<float> weight;     // by position: (taps', C); else (C, taps')
    std::vector<int64_t> columns;  // offsets of B's rows (by position) or of A's columns
    std::vector<int64_t> positions;
    int C;

    InputGradient(const float* w, int C_, int OC, int OH, int OW, int K, int pad)
        : q(OC, OH, OW, K, K - 1 - pad), by_position(C_ >= kLanes), C(C_) {
        const int taps_q = q.taps(), KK = K * K;
        weight.resize(size_t(taps_q) * C);
        for (int o = 0; o < OC; ++o)
            for (int c = 0; c < C; ++c)
                for (int t = 0; t < KK; ++t) {  // t = kh' K + kw' reads the tap K*K-1-t
                    const int64_t k = int64_t(o) * KK + t;
                    const float value = w[(int64_t(o) * C + c) * KK + (KK - 1 - t)];
                    weight[size_t(by_position ? k * C + c : c * taps_q + k)] = value;
                }
        columns = arithmetic(taps_q, by_position ? C : 1);
        positions = valid_positions(q);
    }

    void add_to(float* dx, const float* dout_image, float* padded, float* buffer,
                std::vector<const float*>& rows) const {
        const int H = q.OH, W = q.OW, taps_q = q.taps();
        const int64_t HW = int64_t(H) * W;
        q.pad_image(padded, dout_image);
        if (by_position) {  // dx^T (HW, C)
            for (int64_t p = 0; p < HW; ++p)
                for (int c = 0; c < C; ++c) buffer[p * C + c] = dx[c * HW + p];
            rows.resize(size_t(HW));
            for (int64_t p = 0; p < HW; ++p) rows[size_t(p)] = padded + positions[size_t(p)];
            const Operands ops{rows.data(), q.off.data(), weight.data(), columns.data(), buffer, C, taps_q, W};
            product(ops, int(HW), C);
            for (int c = 0; c < C; ++c)
                for (int64_t p = 0; p < HW; ++p) dx[c * HW + p] = buffer[p * C + c];
        } else {  // (C, Np) on the padded width
            std::fill(buffer, buffer + C * q.Np, 0.0f);
            for (int c = 0; c < C; ++c)
                for (int h = 0; h < H; ++h)
                    std::memcpy(buffer + c * q.Np + int64_t(h) * q.Wp, dx + c * HW + int64_t(h) * W,
                                sizeof(float) * size_t(W));
            rows.resize(size_t(C));
            for (int c = 0; c < C; ++c) rows[size_t(c)] = weight.data() + int64_t(c) * taps_q;
            const Operands ops{rows.data(), columns.data(), padded, q.off.data(), buffer, q.Np, taps_q};
            product(ops, C, int(q.Np));
            for (int c = 0; c < C; ++c)
                for (int h = 0; h < H; ++h)
                    std::memcpy(dx + c * HW + int64_t(h) * W, buffer + c * q.Np + int64_t(h) * q.Wp,
                                sizeof(float) * size_t(W));
        }
    }
    int64_t buffer_size() const { return std::max(int64_t(q.OH) * q.OW * C, C * q.Np); }
};

thread_local std::vector<float> tl_dq_pad, tl_dx;
thread_local std::vector<const float*> tl_rows_dx;

void conv2d_backward_implicit(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                              const float* weight, int B, int C, int H, int W, int OC, int K, int pad) {
    const Padded g(C, H, W, K, pad);
    const int taps = g.taps();
    const int64_t P_out = int64_t(g.OH) * g.OW, HW = int64_t(H) * W;
    const int kTapBlock = 16;  // taps of dinp's product per pass (their rows stay in cache)

    if (dbias)
        for (int o = 0; o < OC; ++o) {
            double s = 0.0;
            for (int b = 0; b < B; ++b)
                for (int64_t p = 0; p < P_out; ++p) s += dout[(int64_t(b) * OC + o) * P_out + p];
            dbias[o] += float(s);
        }

    const std::vector<int64_t> dout_rows = arithmetic(OC, g.Np), doutT_rows = arithmetic(P_out, OC);
    const std::vector<int64_t> weight_t_cols = arithmetic(OC, taps), positions = valid_positions(g);
    const int blocks = (B + kConvGradImages - 1) / kConvGradImages;
    std::vector<float> partial(dweight ? size_t(blocks) * taps * OC : 0, 0.0f);  // (blocks, taps, OC)
    const bool correlation = dinp && pad <= K - 1;
    const InputGradient input_gradient = correlation ? InputGradient(weight, C, OC, g.OH, g.OW, K, pad)
                                                     : InputGradient(weight, C, OC, g.OH, g.OW, K, K - 1);
    parallel_for(blocks, [&](int64_t blk) {
        float* x_pad = scratch(tl_pad, g.padded_size());
        float* d_pad = scratch(tl_dout, OC * g.Np);  // dout on the padded width (OC, Np), junk = 0
        tl_rows.resize(size_t(std::max(taps, 1)));
        const int b_begin = int(blk) * kConvGradImages, b_end = std::min(B, b_begin + kConvGradImages);
        for (int b = b_begin; b < b_end; ++b) {
            const float* g_out = dout + int64_t(b) * OC * P_out;
            if (correlation) {
                input_gradient.add_to(dinp + int64_t(b) * C * HW, g_out, scratch(tl_dq_pad, input_gradient.q.padded_size()),
                                      scratch(tl_dx, input_gradient.buffer_size()), tl_rows_dx);
            } else if (dinp) {  // dx_pad = dinp padded; per block of taps G = W^T dout, scattered tap by tap
                std::fill(d_pad, d_pad + OC * g.Np, 0.0f);
                for (int o = 0; o < OC; ++o)
                    for (int oh = 0; oh < g.OH; ++oh)
                        std::memcpy(d_pad + o * g.Np + int64_t(oh) * g.Wp, g_out + (int64_t(o) * g.OH + oh) * g.OW,
                                    sizeof(float) * size_t(g.OW));
                float* dx_pad = x_pad;
                g.pad_image(dx_pad, dinp + int64_t(b) * C * HW);
                float* G = scratch(tl_g, kTapBlock * g.Np);
                for (int k0 = 0; k0 < taps; k0 += kTapBlock) {
                    const int rows = std::min(kTapBlock, taps - k0);
                    std::fill(G, G + rows * g.Np, 0.0f);
                    for (int r = 0; r < rows; ++r) tl_rows[size_t(r)] = weight + k0 + r;
                    const Operands ops{tl_rows.data(), weight_t_cols.data(), d_pad, dout_rows.data(), G, g.Np, OC};
                    product(ops, rows, int(g.Np));  // G (rows, Np) = W^T (rows, OC) . dout (OC, Np)
                    for (int r = 0; r < rows; ++r) {
                        float* __restrict dst = dx_pad + g.off[size_t(k0 + r)];
                        const float* __restrict src = G + r * g.Np;
                        for (int64_t p = 0; p < g.P; ++p) dst[p] += src[p];
                    }
                }
                float* dx = dinp + int64_t(b) * C * HW;
                for (int c = 0; c < C; ++c)
                    for (int h = 0; h < H; ++h)
                        std::memcpy(dx + (int64_t(c) * H + h) * W, dx_pad + c * g.plane + int64_t(h + pad) * g.Wp + pad,
                                    sizeof(float) * size_t(W));
            }
            if (dweight) {  // partial^T (taps, OC) += shifted images (taps, P) . dout^T (P, OC), valid p only
                g.pad_image(x_pad, inp + int64_t(b) * C * HW);
                float* dT = scratch(tl_doutT, P_out * OC);
                for (int64_t p = 0; p < P_out; ++p)
                    for (int o = 0; o < OC; ++o) dT[p * OC + o] = g_out[o * P_out + p];
                for (int k = 0; k < taps; ++k) tl_rows[size_t(k)] = x_pad + g.off[size_t(k)];
                const Operands ops{tl_rows.data(), positions.data(), dT, doutT_rows.data(),
                                   partial.data() + blk * taps * OC, OC, int(P_out), K};
                product(ops, taps, OC);
            }
        }
    });
    if (dweight)
        for (int blk = 0; blk < blocks; ++blk) {
            const float* part = partial.data() + int64_t(blk) * taps * OC;
            for (int o = 0; o < OC; ++o)
                for (int k = 0; k < taps; ++k) dweight[int64_t(o) * taps + k] += part[int64_t(k) * OC + o];
        }
}

void conv2d_forward_fast(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H,
                         int W, int OC, int K, int stride, int pad) {
    if (stride == 1) return conv2d_forward_implicit(out, inp, weight, bias, B, C, H, W, OC, K, pad);
    conv2d_forward_im2col(out, inp, weight, bias, B, C, H, W, OC, K, stride, pad);
}

void conv2d_backward_fast(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int B, int C, int H, int W, int OC, int K, int stride, int pad) {
    if (stride == 1) return conv2d_backward_implicit(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, OC, K, pad);
    conv2d_backward_im2col(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, OC, K, stride, pad);
}

// ---- depthwise, stride 1 (the ConvNeXt block's 7x7) ----------------------------------------------
// Each plane is copied into a zero-padded buffer, so that every tap reads memory (a padded tap reads
// a 0, as the reference's w * 0), and the loops run over a whole output row at a time: every output
// value still gets the reference's terms in the reference's order, one fused multiply-add each.
const int kMaxDepthwiseK = 8;

// plane (H, W) into buf (H + top + bottom, W + left + right), zeros around
void pad_plane(std::vector<float>& buf, const float* plane, int H, int W, int top, int bottom, int left, int right) {
    const int PW = W + left + right;
    buf.assign(size_t(H + top + bottom) * PW, 0.0f);
    for (int h = 0; h < H; ++h) std::memcpy(buf.data() + int64_t(h + top) * PW + left, plane + int64_t(h) * W, sizeof(float) * W);
}

void depthwise_forward_fast(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H,
                            int W, int K, int pad) {
    // The output is computed "wide", OH rows of PW (the padded width) values, so that each tap is
    // one long loop over a contiguous run: y[i] += w * xp[i + kh PW + kw]. The PW - OW values at
    // the end of each row are discarded; the OW kept get exactly the reference's sums.
    const int OH = H + 2 * pad - K + 1, OW = W + 2 * pad - K + 1, PW = W + 2 * pad;
    const int64_t wide = int64_t(OH) * PW;
    parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
        std::vector<float> xp, y;
        for (int64_t b = b0; b < b1; ++b)
            for (int c = 0; c < C; ++c) {
                pad_plane(xp, inp + (b * C + c) * int64_t(H) * W, H, W, pad, pad + 1, pad, pad);  // a row to spare
                const float* w = weight + int64_t(c) * K * K;
                y.assign(size_t(wide), bias ? bias[c] : 0.0f);
                for (int kh = 0; kh < K; ++kh)
                    for (int kw = 0; kw < K; ++kw) {
                        const float wv = w[kh * K + kw];
                        const float* xs = xp.data() + int64_t(kh) * PW + kw;
                        float* yv = y.data();
                        for (int64_t i = 0; i < wide; ++i) yv[i] = madd(wv, xs[i], yv[i]);
                    }
                float* dst = out + (b * C + c) * int64_t(OH) * OW;
                for (int oh = 0; oh < OH; ++oh)
                    std::memcpy(dst + int64_t(oh) * OW, y.data() + int64_t(oh) * PW, sizeof(float) * OW);
            }
    });
}

void depthwise_backward_fast(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                             const float* weight, int B, int C, int H, int W, int K, int pad) {
    const int OH = H + 2 * pad - K + 1, OW = W + 2 * pad - K + 1;
    const int64_t P = int64_t(OH) * OW, HW = int64_t(H) * W;
    if (dbias)  // as the reference: in double, over b then p
        for (int c = 0; c < C; ++c) {
            double s = 0.0;
            for (int b = 0; b < B; ++b)
                for (int64_t p = 0; p < P; ++p) s += dout[(int64_t(b) * C + c) * P + p];
            dbias[c] += float(s);
        }
    if (dinp) {
        // the reference's chain: from dinp's value, kh then kw each from K - 1 down, reading dout at
        // (ih + pad - kh, iw + pad - kw); dout padded by q = K - 1 - pad before, enough after
        const int q = K - 1 - pad, GH = H + K, GW = W + K - 1;  // GH: a row to spare for the wide loop
        const int64_t wide = int64_t(H) * GW;
        parallel_range(B, 1, [&](int64_t b0, int64_t b1) {
            std::vector<float> gp, acc;
            for (int64_t b = b0; b < b1; ++b)
                for (int c = 0; c < C; ++c) {
                    const float* gy = dout + (b * C + c) * P;
                    gp.assign(size_t(GH) * GW, 0.0f);
                    for (int oh = 0; oh < OH && oh + q < GH; ++oh)
                        for (int ow = 0; ow < OW && ow + q < GW; ++ow) gp[size_t(oh + q) * GW + ow + q] = gy[oh * OW + ow];
                    // "wide" as in the forward: H rows of GW values, the last GW - W of each dropped
                    const float* w = weight + int64_t(c) * K * K;
                    float* dx = dinp + (b * C + c) * HW;
                    acc.assign(size_t(wide), 0.0f);
                    for (int ih = 0; ih < H; ++ih)
                        std::memcpy(acc.data() + int64_t(ih) * GW, dx + int64_t(ih) * W, sizeof(float) * W);
                    for (int kh = K - 1; kh >= 0; --kh)
                        for (int kw = K - 1; kw >= 0; --kw) {
                            const float wv = w[kh * K + kw];
                            const float* gs = gp.data() + int64_t(K - 1 - kh) * GW + (K - 1 - kw);
                            float* av = acc.data();
                            for (int64_t i = 0; i < wide; ++i) av[i] = madd(wv, gs[i], av[i]);
                        }
                    for (int ih = 0; ih < H; ++ih)
                        std::memcpy(dx + int64_t(ih) * W, acc.data() + int64_t(ih) * GW, sizeof(float) * W);
                }
        });
    }
    if (dweight) {
        // per block of kConvGradImages images a partial sum from zero, each tap's chain over the
        // block's images, then p, in order; the K x K taps side by side as K rows of 8 lanes (lanes
        // past K read padding and are dropped); the partials added in block order
        const int KK = K * K, blocks = (B + kConvGradImages - 1) / kConvGradImages;
        const int PW = W + 2 * pad + (kMaxDepthwiseK - K);
        std::vector<float> partial(size_t(blocks) * C * KK, 0.0f);
        parallel_for(blocks, [&](int64_t blk) {
            std::vector<float> xp;
            float* part = partial.data() + blk * C * KK;
            const int b_end = std::min(B, int(blk + 1) * kConvGradImages);
            for (int c = 0; c < C; ++c) {
                float acc[kMaxDepthwiseK][kMaxDepthwiseK] = {};
                for (int b = int(blk) * kConvGradImages; b < b_end; ++b) {
                    pad_plane(xp, inp + (int64_t(b) * C + c) * HW, H, W, pad, pad, pad, pad + (kMaxDepthwiseK - K));
                    const float* g = dout + (int64_t(b) * C + c) * P;
                    for (int oh = 0; oh < OH; ++oh)
                        for (int ow = 0; ow < OW; ++ow) {
                            const float gv = g[oh * OW + ow];
                            for (int kh = 0; kh < K; ++kh) {
                                const float* xr = xp.data() + int64_t(oh + kh) * PW + ow;
                                for (int kw = 0; kw < kMaxDepthwiseK; ++kw) acc[kh][kw] = madd(gv, xr[kw], acc[kh][kw]);
                            }
                        }
                }
                for (int kh = 0; kh < K; ++kh)
                    for (int kw = 0; kw < K; ++kw) part[int64_t(c) * KK + kh * K + kw] = acc[kh][kw];
            }
        });
        for (int blk = 0; blk < blocks; ++blk)
            for (int64_t i = 0; i < int64_t(C) * KK; ++i) dweight[i] += partial[size_t(blk * int64_t(C) * KK + i)];
    }
}

const bool kInstalled = [] {
    FastKernels& k = fast_kernels();
    k.conv2d_forward = conv2d_forward_fast;
    k.conv2d_backward = conv2d_backward_fast;
    k.conv2d_depthwise_forward = depthwise_forward_fast;
    k.conv2d_depthwise_backward = depthwise_backward_fast;
    return true;
}();

}  // namespace
}  // namespace ddpm
