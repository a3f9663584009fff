// fast/eps_sampling.cpp: the eps-model of diffusion/model.h evaluated for sampling, where every row
// shares one timestep, without a graph and feature-major. Installed as fast_shared_t_forward(), which
// the sampler uses in place of EpsModel::forward().
//
// Two changes against forward(): the layers' values for all rows are stored (features, rows), so the
// 2-wide output layer is as vectorised as the hidden ones; and the embedding's share of the first
// layer is computed once for all rows. That share is summed before x_t's instead of after it, so
// values agree with forward() to rounding, not bit for bit (tests/test_fast.cpp: 1e-5).
#include <algorithm>
#include <vector>

#include "core/kernels.h"
#include "diffusion/model.h"

namespace ddpm {
namespace {

// A layer's values for all rows are (features, rows), so a Linear layer is out^T = W^T in^T + b,
// one gemm with W read as its transpose in place; each output value is b + sum over inputs k, in
// increasing k, as in linear_forward.

// out (OC, rows) = weight^T in + b, weight (IC, OC), in (IC, rows), b (OC) added to every row
void linear_feature_major(std::vector<float>& out, const float* weight, const float* b, int IC, int OC,
                          const std::vector<float>& in, int rows) {
    out.resize(size_t(OC) * size_t(rows));
    for (int j = 0; j < OC; ++j) std::fill_n(out.begin() + int64_t(j) * rows, rows, b[j]);
    gemm_acc_tn(out.data(), weight, in.data(), OC, IC, rows);
}

void linear_feature_major(std::vector<float>& out, const Linear& layer, const std::vector<float>& in, int rows) {
    linear_feature_major(out, layer.weight.data(), layer.bias.data(), layer.weight.dim(0), layer.weight.dim(1), in,
                         rows);
}

void activate_in_place(std::vector<float>& h, std::vector<float>& scratch, Activation act) {
    scratch.resize(h.size());
    const int64_t n = int64_t(h.size());
    switch (act) {
        case Activation::ReLU: relu_forward(scratch.data(), h.data(), n); break;
        case Activation::GELU: gelu_forward(scratch.data(), h.data(), n); break;
        case Activation::SiLU: silu_forward(scratch.data(), h.data(), n); break;
    }
    h.swap(scratch);
}

// Buffers of one thread's forward_shared_t_feature_major, kept from call to call: sampling calls
// it a thousand times per chunk of rows, and fresh vectors would be zero-filled each time for nothing.
struct ForwardBuffers {
    std::vector<float> h, next, inner, scratch, embedding;
};
thread_local ForwardBuffers buffers;

void forward_shared_t_feature_major(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t) {
    const EpsModelConfig& config = model.config;
    const int dim = config.dim, emb = config.emb_dim;
    if (rows < 1) return;
    // x_t, feature-major
    std::vector<float>& h = buffers.h;
    std::vector<float>& next = buffers.next;
    std::vector<float>& inner = buffers.inner;
    std::vector<float>& scratch = buffers.scratch;
    h.resize(size_t(dim) * size_t(rows));
    for (int r = 0; r < rows; ++r)
        for (int d = 0; d < dim; ++d) h[size_t(d) * rows + r] = x_t[int64_t(r) * dim + d];
    // The first layer, W^T [x_t | e] + b, split: the embedding's part c = b + W[dim:]^T e is the
    // same for every row, so it is computed once (32 of the 34 multiply-adds per output of the
    // toy model), and each row adds only its own W[:dim]^T x_t.
    const Linear& first = config.residual ? model.input : model.plain.layers[0];
    const int width = first.weight.dim(1);
    std::vector<float>& e = buffers.embedding;
    e.resize(size_t(emb) + size_t(width));
    float* c = e.data() + emb;
    const float tf = float(t);
    timestep_embedding(e.data(), &tf, 1, emb);
    linear_forward(c, e.data(), first.weight.data() + int64_t(dim) * width, first.bias.data(), 1, emb, width);
    linear_feature_major(next, first.weight.data(), c, dim, width, h, rows);  // c + W[:dim]^T x_t
    h.swap(next);

    if (!config.residual) {
        for (size_t l = 1; l < model.plain.layers.size(); ++l) {
            activate_in_place(h, scratch, model.plain.act);
            linear_feature_major(next, model.plain.layers[l], h, rows);
            h.swap(next);
        }
    } else {
        for (const ResidualBlock& b : model.blocks) {  // h + fc2(act(fc1(h)))
            linear_feature_major(inner, b.fc1, h, rows);
            activate_in_place(inner, scratch, b.act);
            linear_feature_major(next, b.fc2, inner, rows);
            for (size_t i = 0; i < h.size(); ++i) next[i] = h[i] + next[i];
            h.swap(next);
        }
        activate_in_place(h, scratch, config.act);
        linear_feature_major(next, model.output, h, rows);
        h.swap(next);
    }
    transpose(eps_out, h.data(), dim, rows);  // (dim, rows) -> (rows, dim)
}

const bool kInstalled = [] {
    fast_shared_t_forward() = forward_shared_t_feature_major;
    return true;
}();

}  // namespace
}  // namespace ddpm
