#include "model.h"

#include <algorithm>

#include "common.h"
#include "kernels.h"

namespace ddpm {

std::string describe(const EpsModelConfig& c) {
    std::string s = c.residual ? "residual mlp " : "mlp ";
    s += std::to_string(c.dim + c.emb_dim);
    if (c.residual) {
        s += "-" + std::to_string(c.hidden) + "-[" + std::to_string(c.layers) + " blocks]";
    } else {
        for (int i = 0; i < c.layers; ++i) s += "-" + std::to_string(c.hidden);
    }
    return s + "-" + std::to_string(c.dim) + " " + activation_name(c.act);
}

EpsModel::EpsModel(const EpsModelConfig& c, Rng& rng) : config(c) {
    if (c.dim < 1 || c.hidden < 1 || c.layers < 1 || c.emb_dim < 2 || c.emb_dim % 2 != 0)
        fail("EpsModel: bad configuration " + describe(c));
    const int in = c.dim + c.emb_dim;
    if (c.residual) {
        input = Linear(in, c.hidden, rng);
        for (int i = 0; i < c.layers; ++i) blocks.emplace_back(c.hidden, c.hidden, c.act, rng);
        output = Linear(c.hidden, c.dim, rng);
    } else {
        std::vector<int> sizes = {in};
        for (int i = 0; i < c.layers; ++i) sizes.push_back(c.hidden);
        sizes.push_back(c.dim);
        plain = MLP(sizes, c.act, rng);
    }
}

Tensor EpsModel::forward(const Tensor& x_t, const std::vector<float>& t) const {
    if (x_t.ndim() != 2 || x_t.dim(1) != config.dim)
        fail("EpsModel: expected x_t of shape (B, " + std::to_string(config.dim) + "), got " + x_t.shape().str());
    if (int(t.size()) != x_t.dim(0))
        fail("EpsModel: " + std::to_string(t.size()) + " timesteps for " + std::to_string(x_t.dim(0)) + " rows");
    Tensor h = concat({x_t, timestep_embedding(t, config.emb_dim)});
    if (!config.residual) return plain.forward(h);
    h = input.forward(h);
    for (const ResidualBlock& b : blocks) h = b.forward(h);
    return output.forward(activate(h, config.act));
}

// ---------------------------------------------------------------------------------------------
// The feature-major forward of sampling. A layer's values for all rows are (features, rows), so
// a Linear layer is out^T = W^T in^T + b, one gemm with W read as its transpose in place; each
// output value is b + sum over inputs k, in increasing k, as in linear_forward.
// ---------------------------------------------------------------------------------------------
namespace {

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

// Buffers of one thread's forward_shared_t, kept from call to call: sampling calls it a thousand
// times per chunk of rows, and fresh vectors would be zero-filled each time for nothing.
struct ForwardBuffers {
    std::vector<float> h, next, inner, scratch, embedding;
};
thread_local ForwardBuffers buffers;

}  // namespace

void EpsModel::forward_shared_t(float* eps_out, const float* x_t, int rows, int t) const {
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
    const Linear& first = config.residual ? input : plain.layers[0];
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
        for (size_t l = 1; l < plain.layers.size(); ++l) {
            activate_in_place(h, scratch, plain.act);
            linear_feature_major(next, plain.layers[l], h, rows);
            h.swap(next);
        }
    } else {
        for (const ResidualBlock& b : blocks) {  // h + fc2(act(fc1(h)))
            linear_feature_major(inner, b.fc1, h, rows);
            activate_in_place(inner, scratch, b.act);
            linear_feature_major(next, b.fc2, inner, rows);
            for (size_t i = 0; i < h.size(); ++i) next[i] = h[i] + next[i];
            h.swap(next);
        }
        activate_in_place(h, scratch, config.act);
        linear_feature_major(next, output, h, rows);
        h.swap(next);
    }
    transpose(eps_out, h.data(), dim, rows);  // (dim, rows) -> (rows, dim)
}

Params EpsModel::params() const {
    Params p;
    if (config.residual) {
        input.collect(p, "input");
        for (size_t i = 0; i < blocks.size(); ++i) blocks[i].collect(p, "block." + std::to_string(i));
        output.collect(p, "output");
    } else {
        plain.collect(p, "mlp");
    }
    return p;
}

}  // namespace ddpm
