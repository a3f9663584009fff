// dispatch.h: where the fast path is chosen, in one place. The kernels of kernels.h and
// image_kernels.h that src/fast/ has a faster version of are defined in dispatch.cpp as one choice
// each: src/fast/'s entry of the table below when it is installed, else the plain loop
// (reference::<name>, in kernels.cpp and image_kernels.cpp). Lessons never need this header; the fast
// path and the tests that compare the two paths do.
#pragma once

#include <cstdint>

namespace ddpm {

// src/fast/ (built in when FAST=1, the default) fills this table at start-up with faster versions of
// some kernels of kernels.h, image_kernels.h and rng.h; dispatch.cpp hands each call to its entry when
// there is one. Every entry gives the same bits as the reference loop (tests/test_fast.cpp holds it
// to that). With FAST=0, or inside a ReferenceOnly scope, the reference loops run.
struct FastKernels {
    void (*gemm_acc)(float* C, const float* A, const float* B, int M, int K, int N) = nullptr;
    void (*gemm_acc_tn)(float* C, const float* A, const float* B, int M, int K, int N) = nullptr;
    void (*linear_forward)(float* out, const float* inp, const float* weight, const float* bias, int B, int IC,
                           int OC) = nullptr;
    void (*linear_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                            const float* weight, int B, int IC, int OC) = nullptr;
    void (*gelu_forward)(float* out, const float* inp, int64_t N) = nullptr;
    void (*gelu_backward)(float* dinp, const float* inp, const float* dout, int64_t N) = nullptr;
    void (*silu_forward)(float* out, const float* inp, int64_t N) = nullptr;
    void (*silu_backward)(float* dinp, const float* inp, const float* dout, int64_t N) = nullptr;
    void (*timestep_embedding)(float* out, const float* t, int B, int dim, float max_period) = nullptr;
    void (*transpose)(float* out, const float* in, int R, int C) = nullptr;
    // Rng::fill_normal's draws (core/rng.h): out[i] = mean + std * normal_at(seed, stream, base + i)
    void (*fill_normal)(float* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, float mean,
                        float std) = nullptr;
    bool installed = false;  // src/fast/ is linked in (false in a FAST=0 build)
    // the image kernels of core/image_kernels.h (groups = 1 only; see there for the shapes)
    void (*conv2d_forward)(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H,
                           int W, int OC, int K, int stride, int pad) = nullptr;
    void (*conv2d_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                            const float* weight, int B, int C, int H, int W, int OC, int K, int stride,
                            int pad) = nullptr;
    // depthwise (groups = C = OC), stride 1, pad <= K - 1, K <= 8: the ConvNeXt block's 7x7
    void (*conv2d_depthwise_forward)(float* out, const float* inp, const float* weight, const float* bias, int B,
                                     int C, int H, int W, int K, int pad) = nullptr;
    void (*conv2d_depthwise_backward)(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                      const float* weight, int B, int C, int H, int W, int K, int pad) = nullptr;
};
FastKernels& fast_kernels();

// While one lives, every kernel runs its reference loop (for tests that compare the two paths).
class ReferenceOnly {
 public:
    ReferenceOnly();
    ~ReferenceOnly();
    ReferenceOnly(const ReferenceOnly&) = delete;
    ReferenceOnly& operator=(const ReferenceOnly&) = delete;

 private:
    FastKernels saved_;
};

}  // namespace ddpm
