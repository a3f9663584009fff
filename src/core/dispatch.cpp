// dispatch.cpp: the one place where a kernel call goes either to src/fast/ or to its plain loop
// (dispatch.h). Each function below is the kernel of kernels.h or image_kernels.h by its public name;
// ops, layers and src/fast/ itself call these.
#include "core/dispatch.h"

#include "core/image_kernels.h"
#include "core/kernels.h"
#include "core/rng.h"

namespace ddpm {

FastKernels& fast_kernels() {
    static FastKernels table;
    return table;
}

ReferenceOnly::ReferenceOnly() : saved_(fast_kernels()) {
    FastKernels none;
    none.installed = saved_.installed;
    fast_kernels() = none;
}

ReferenceOnly::~ReferenceOnly() { fast_kernels() = saved_; }

void gemm_acc(float* C, const float* A, const float* B, int M, int K, int N) {
    if (auto fast = fast_kernels().gemm_acc) return fast(C, A, B, M, K, N);
    reference::gemm_acc(C, A, B, M, K, N);
}

void gemm_acc_tn(float* C, const float* A, const float* B, int M, int K, int N) {
    if (auto fast = fast_kernels().gemm_acc_tn) return fast(C, A, B, M, K, N);
    reference::gemm_acc_tn(C, A, B, M, K, N);
}

void transpose(float* out, const float* in, int R, int C) {
    if (auto fast = fast_kernels().transpose) return fast(out, in, R, C);
    reference::transpose(out, in, R, C);
}

void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int IC, int OC) {
    if (auto fast = fast_kernels().linear_forward) return fast(out, inp, weight, bias, B, IC, OC);
    reference::linear_forward(out, inp, weight, bias, B, IC, OC);
}

void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int IC, int OC) {
    if (auto fast = fast_kernels().linear_backward) return fast(dinp, dweight, dbias, dout, inp, weight, B, IC, OC);
    reference::linear_backward(dinp, dweight, dbias, dout, inp, weight, B, IC, OC);
}

void gelu_forward(float* out, const float* inp, int64_t N) {
    if (auto fast = fast_kernels().gelu_forward) return fast(out, inp, N);
    reference::gelu_forward(out, inp, N);
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    if (auto fast = fast_kernels().gelu_backward) return fast(dinp, inp, dout, N);
    reference::gelu_backward(dinp, inp, dout, N);
}

void silu_forward(float* out, const float* inp, int64_t N) {
    if (auto fast = fast_kernels().silu_forward) return fast(out, inp, N);
    reference::silu_forward(out, inp, N);
}

void silu_backward(float* dinp, const float* inp, const float* dout, int64_t N) {
    if (auto fast = fast_kernels().silu_backward) return fast(dinp, inp, dout, N);
    reference::silu_backward(dinp, inp, dout, N);
}

void timestep_embedding(float* out, const float* t, int B, int dim, float max_period) {
    if (auto fast = fast_kernels().timestep_embedding) return fast(out, t, B, dim, max_period);
    reference::timestep_embedding(out, t, B, dim, max_period);
}

namespace {
// the depthwise shapes that fast/image_kernels.cpp has a kernel for (dispatch.h)
bool depthwise_fast_case(int C, int OC, int K, int stride, int pad, int groups) {
    return groups == C && OC == C && stride == 1 && pad <= K - 1 && K <= 8;
}
}  // namespace

void conv2d_forward(float* out, const float* inp, const float* weight, const float* bias, int B, int C, int H, int W,
                    int OC, int K, int stride, int pad, int groups) {
    if (groups == 1)
        if (auto fast = fast_kernels().conv2d_forward)
            return fast(out, inp, weight, bias, B, C, H, W, OC, K, stride, pad);
    if (depthwise_fast_case(C, OC, K, stride, pad, groups))
        if (auto fast = fast_kernels().conv2d_depthwise_forward)
            return fast(out, inp, weight, bias, B, C, H, W, K, pad);
    reference::conv2d_forward(out, inp, weight, bias, B, C, H, W, OC, K, stride, pad, groups);
}

void conv2d_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int B, int C, int H, int W, int OC, int K, int stride, int pad, int groups) {
    if (groups == 1)
        if (auto fast = fast_kernels().conv2d_backward)
            return fast(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, OC, K, stride, pad);
    if (depthwise_fast_case(C, OC, K, stride, pad, groups))
        if (auto fast = fast_kernels().conv2d_depthwise_backward)
            return fast(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, K, pad);
    reference::conv2d_backward(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, OC, K, stride, pad, groups);
}

void fill_normal_at(float* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, float mean, float std) {
    if (auto fast = fast_kernels().fill_normal) return fast(out, n, seed, stream, base, mean, std);
    reference::fill_normal_at(out, n, seed, stream, base, mean, std);
}

}  // namespace ddpm
