#include "core/image_ops.h"

#include <memory>
#include <string>
#include <vector>

#include "core/common.h"
#include "core/image_kernels.h"

namespace ddpm {

namespace {

void require_image(const char* op, const Tensor& x) {
    if (x.ndim() != 4) fail(std::string(op) + ": expected an image batch (B, C, H, W), got shape " + x.shape().str());
}

void require_channel_vector(const char* op, const char* what, const Tensor& v, int C) {
    if (v.ndim() != 1 || v.dim(0) != C)
        fail(std::string(op) + ": " + what + " must be (" + std::to_string(C) + "), got " + v.shape().str());
}

int64_t plane(const Tensor& x) { return int64_t(x.dim(2)) * x.dim(3); }

// The grad buffer of a parent, or null when it needs none.
float* grad_or_null(Node* n) { return n && n->requires_grad ? n->grad_buffer() : nullptr; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Convolution
// ---------------------------------------------------------------------------------------------
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad, int groups) {
    require_image("conv2d", x);
    require_image("conv2d (weight)", weight);
    const int B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int OC = weight.dim(0), K = weight.dim(2);
    if (groups < 1 || C % groups != 0 || OC % groups != 0)
        fail("conv2d: " + std::to_string(groups) + " groups do not divide " + std::to_string(C) + " -> " +
             std::to_string(OC) + " channels");
    if (weight.dim(1) != C / groups || weight.dim(3) != K)
        fail("conv2d: weight " + weight.shape().str() + " does not fit input " + x.shape().str() + " with " +
             std::to_string(groups) + " groups (expected (OC, C/groups, K, K))");
    if (stride < 1 || pad < 0) fail("conv2d: stride must be >= 1 and pad >= 0");
    const int OH = conv_out_size(H, K, stride, pad), OW = conv_out_size(W, K, stride, pad);
    if (OH < 1 || OW < 1) fail("conv2d: kernel " + std::to_string(K) + " larger than the padded input " + x.shape().str());
    const bool has_bias = bias.defined();
    if (has_bias) require_channel_vector("conv2d", "bias", bias, OC);
    const Shape out_shape{B, OC, OH, OW};
    Tensor out = has_bias ? make_output(out_shape, "conv2d", {x, weight, bias})
                          : make_output(out_shape, "conv2d", {x, weight});
    conv2d_forward(out.data(), x.data(), weight.data(), has_bias ? bias.data() : nullptr, B, C, H, W, OC, K, stride,
                   pad, groups);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get(), *pw = weight.node.get();
        Node* pb = has_bias ? bias.node.get() : nullptr;
        o->backward = [=] {
            conv2d_backward(grad_or_null(px), grad_or_null(pw), grad_or_null(pb), o->grad_buffer(), px->data.data(),
                            pw->data.data(), B, C, H, W, OC, K, stride, pad, groups);
        };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------
Tensor upsample2x(const Tensor& x) {
    require_image("upsample2x", x);
    const int H = x.dim(2), W = x.dim(3);
    const int64_t N = int64_t(x.dim(0)) * x.dim(1);
    Tensor out = make_output(Shape{x.dim(0), x.dim(1), 2 * H, 2 * W}, "upsample2x", {x});
    upsample2x_forward(out.data(), x.data(), N, H, W);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get();
        o->backward = [=] { upsample2x_backward(px->grad_buffer(), o->grad_buffer(), N, H, W); };
    }
    return out;
}

Tensor avgpool2x(const Tensor& x) {
    require_image("avgpool2x", x);
    const int H = x.dim(2), W = x.dim(3);
    if (H % 2 || W % 2) fail("avgpool2x: height and width must be even, got " + x.shape().str());
    const int64_t N = int64_t(x.dim(0)) * x.dim(1);
    Tensor out = make_output(Shape{x.dim(0), x.dim(1), H / 2, W / 2}, "avgpool2x", {x});
    avgpool2x_forward(out.data(), x.data(), N, H, W);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get();
        o->backward = [=] { avgpool2x_backward(px->grad_buffer(), o->grad_buffer(), N, H, W); };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int groups, float eps) {
    require_image("group_norm", x);
    const int B = x.dim(0), C = x.dim(1);
    const int64_t S = plane(x);
    if (groups < 1 || C % groups != 0)
        fail("group_norm: " + std::to_string(groups) + " groups do not divide " + std::to_string(C) + " channels");
    require_channel_vector("group_norm", "gamma", gamma, C);
    require_channel_vector("group_norm", "beta", beta, C);
    Tensor out = make_output(x.shape(), "group_norm", {x, gamma, beta});
    auto stats = std::make_shared<std::vector<float>>(size_t(2) * B * groups);  // mean (B,G), then rstd (B,G)
    float* mean = stats->data();
    float* rstd = mean + int64_t(B) * groups;
    groupnorm_forward(out.data(), mean, rstd, x.data(), gamma.data(), beta.data(), B, C, S, groups, eps);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get(), *pg = gamma.node.get(), *pb = beta.node.get();
        o->backward = [=] {
            const float* m = stats->data();
            groupnorm_backward(grad_or_null(px), grad_or_null(pg), grad_or_null(pb), o->grad_buffer(),
                               px->data.data(), m, m + int64_t(B) * groups, pg->data.data(), B, C, S, groups);
        };
    }
    return out;
}

Tensor channel_layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
    require_image("channel_layer_norm", x);
    const int B = x.dim(0), C = x.dim(1);
    const int64_t S = plane(x);
    require_channel_vector("channel_layer_norm", "gamma", gamma, C);
    require_channel_vector("channel_layer_norm", "beta", beta, C);
    Tensor out = make_output(x.shape(), "channel_layer_norm", {x, gamma, beta});
    auto stats = std::make_shared<std::vector<float>>(size_t(2 * B * S));  // mean (B,S), then rstd (B,S)
    float* mean = stats->data();
    float* rstd = mean + B * S;
    channel_layernorm_forward(out.data(), mean, rstd, x.data(), gamma.data(), beta.data(), B, C, S, eps);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get(), *pg = gamma.node.get(), *pb = beta.node.get();
        o->backward = [=] {
            const float* m = stats->data();
            channel_layernorm_backward(grad_or_null(px), grad_or_null(pg), grad_or_null(pb), o->grad_buffer(),
                                       px->data.data(), m, m + B * S, pg->data.data(), B, C, S);
        };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Broadcast
// ---------------------------------------------------------------------------------------------
Tensor add_channel_vector(const Tensor& x, const Tensor& v) {
    require_image("add_channel_vector", x);
    const int B = x.dim(0), C = x.dim(1);
    if (v.ndim() != 2 || v.dim(0) != B || v.dim(1) != C)
        fail("add_channel_vector: vector must be (" + std::to_string(B) + ", " + std::to_string(C) + "), got " +
             v.shape().str());
    const int64_t S = plane(x);
    Tensor out = make_output(x.shape(), "add_channel_vector", {x, v});
    add_channel_vector_forward(out.data(), x.data(), v.data(), B, C, S);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get(), *pv = v.node.get();
        o->backward = [=] { add_channel_vector_backward(grad_or_null(px), grad_or_null(pv), o->grad_buffer(), B, C, S); };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Attention
// ---------------------------------------------------------------------------------------------
Tensor spatial_attention(const Tensor& qkv, int heads) {
    require_image("spatial_attention", qkv);
    const int B = qkv.dim(0);
    if (qkv.dim(1) % 3 != 0) fail("spatial_attention: channels must be 3C (queries, keys, values), got " + qkv.shape().str());
    const int C = qkv.dim(1) / 3;
    if (heads < 1 || C % heads != 0)
        fail("spatial_attention: " + std::to_string(heads) + " heads do not divide " + std::to_string(C) + " channels");
    const int64_t S = plane(qkv);
    Tensor out = make_output(Shape{B, C, qkv.dim(2), qkv.dim(3)}, "spatial_attention", {qkv});
    auto prob = std::make_shared<std::vector<float>>(size_t(int64_t(B) * heads * S * S));
    attention_forward(out.data(), prob->data(), qkv.data(), B, C, S, heads);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *pq = qkv.node.get();
        o->backward = [=] {
            attention_backward(pq->grad_buffer(), o->grad_buffer(), pq->data.data(), prob->data(), B, C, S, heads);
        };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// The fixed blur
// ---------------------------------------------------------------------------------------------
Tensor gaussian_blur(const Tensor& x, int K, float sigma, bool reflect) {
    require_image("gaussian_blur", x);
    const int H = x.dim(2), W = x.dim(3);
    if (K < 1 || K % 2 == 0) fail("gaussian_blur: kernel size must be odd, got " + std::to_string(K));
    if (reflect && (K / 2 >= H || K / 2 >= W))
        fail("gaussian_blur: reflect padding of " + std::to_string(K / 2) + " needs a larger image than " +
             x.shape().str());
    std::vector<float> w(static_cast<size_t>(K)), kernel(static_cast<size_t>(K * K));
    gaussian_kernel_1d(w.data(), K, sigma);
    for (int i = 0; i < K; ++i)
        for (int j = 0; j < K; ++j) kernel[size_t(i * K + j)] = w[size_t(i)] * w[size_t(j)];
    const int64_t N = int64_t(x.dim(0)) * x.dim(1);
    Tensor out = make_output(x.shape(), "gaussian_blur", {x});
    filter2d_forward(out.data(), x.data(), kernel.data(), N, H, W, K, reflect);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get();
        o->backward = [=] { filter2d_backward(px->grad_buffer(), o->grad_buffer(), kernel.data(), N, H, W, K, reflect); };
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------------------
Tensor dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t offset) {
    if (!(p >= 0.0f && p < 1.0f)) fail("dropout: rate must be in [0, 1), got " + std::to_string(p));
    if (p == 0.0f) return x;
    const int64_t n = x.numel();
    Tensor out = make_output(x.shape(), "dropout", {x});
    dropout_forward(out.data(), x.data(), n, p, seed, stream, offset);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get();
        o->backward = [=] { dropout_backward(px->grad_buffer(), o->grad_buffer(), n, p, seed, stream, offset); };
    }
    return out;
}

}  // namespace ddpm
