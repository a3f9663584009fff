// fast/eps_training.cpp: the plain eps-model's forward and backward for training as one op of the
// graph, with the batch cut into blocks of kBatchBlock rows (core/kernels.h) and each block's whole
// forward, then its whole backward, run on one thread. Installed as fast_nets().train_forward, which
// EpsModel::forward() hands over to while gradients are recorded.
//
// Why: op by op, a training step of the toy network is some twenty small kernels, each split over
// the threads and joined again; the joins, and the small kernels that stay on one thread, are what
// kept a second thread from paying. Here a step joins twice (forward, backward) and once more to add
// the blocks' weight gradients.
//
// Same bits as the graph of EpsModel::forward(): every row's forward is the same kernels on the same
// values; a block's backward is linear_backward and the activation's backward on its rows, into
// zeroed buffers as the graph's are; block 0 adds its weight and bias gradients onto the parameters'
// gradients and each later block into zeros of its own, which are then added in block order. That
// is the blocked sum that linear_backward defines, so the thread count never shows in the result
// (tests/test_fast.cpp and tests/test_pool.cpp).
#include <algorithm>
#include <memory>
#include <vector>

#include "core/approx.h"
#include "core/kernels.h"
#include "core/madd.h"
#include "core/pool.h"
#include "nets/dispatch.h"

namespace ddpm {
namespace {


// GELU as core/kernels.cpp computes it, keeping Phi(x) and exp(-x^2/2) of the forward for the
// backward, which the kernel pair computes twice: the same values, so the same bits.
void gelu_forward_keep(float* __restrict out, float* __restrict cdf_out, float* __restrict gauss_out,
                       const float* __restrict inp, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float x = inp[i];
        const float gauss = gelu_gauss(x);
        const float cdf = gelu_cdf(x, gauss);
        out[i] = x * cdf;
        cdf_out[i] = cdf;
        gauss_out[i] = gauss;
    }
}

void gelu_backward_kept(float* __restrict dinp, const float* __restrict inp, const float* __restrict cdf_in,
                        const float* __restrict gauss_in, const float* __restrict dout, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float x = inp[i], gauss = gauss_in[i], cdf = cdf_in[i];
        dinp[i] = madd(dout[i], gelu_slope(x, cdf, gauss), dinp[i]);
    }
}

void act_forward(Activation act, float* out, const float* inp, int64_t n) {
    switch (act) {
        case Activation::ReLU: relu_forward(out, inp, n); break;
        case Activation::GELU: gelu_forward(out, inp, n); break;
        case Activation::SiLU: silu_forward(out, inp, n); break;
    }
}

void act_backward(Activation act, float* dinp, const float* inp, const float* dout, int64_t n) {
    switch (act) {
        case Activation::ReLU: relu_backward(dinp, inp, dout, n); break;
        case Activation::GELU: gelu_backward(dinp, inp, dout, n); break;
        case Activation::SiLU: silu_backward(dinp, inp, dout, n); break;
    }
}

// What the backward needs: the input of every layer (h[l], B x sizes[l]) and the value before the
// activation of every hidden layer (z[l], B x sizes[l + 1], l < L - 1).
struct Saved {
    int B = 0, dim = 0;
    Activation act = Activation::GELU;
    std::vector<int> sizes;  // {in, hidden..., out}
    std::vector<std::vector<float>> h, z;
    std::vector<std::vector<float>> cdf, gauss;  // GELU's Phi(z) and exp(-z^2/2), per hidden layer
    // the backward's scratch: W^T per layer, and per block its gradients (g, dh, dz) and, for blocks
    // after the first, its own weight and bias sums (block_w, block_b: n_blocks x L)
    std::vector<std::vector<float>> weight_t;
    std::vector<std::vector<float>> g, dh, dz;
    std::vector<std::vector<float>> block_w, block_b;
};

// A step's Saved is kept for the next step of the same thread, once its graph has let it go: the
// buffers are then the right size already, so nothing is allocated or zero-filled again (every
// value in them is written before it is read).
std::shared_ptr<Saved> reuse_saved() {
    thread_local std::shared_ptr<Saved> spare;
    if (!spare || spare.use_count() > 1) spare = std::make_shared<Saved>();
    return spare;
}

Tensor train_forward(const EpsModel& model, const Tensor& x_t, const std::vector<float>& t) {
    const std::vector<Linear>& layers = model.plain.layers;
    const int L = int(layers.size());
    if (L == 0) return Tensor();
    // One block on several threads: the graph's kernels split each op over the threads instead
    // (the same bits either way; this is only the faster of the two)
    if (x_t.dim(0) <= kBatchBlock && num_threads() > 1) return Tensor();
    std::vector<Tensor> parents{x_t};
    for (const Linear& layer : layers) {
        if (!layer.weight.requires_grad() || !layer.bias.defined() || !layer.bias.requires_grad()) return Tensor();
        parents.push_back(layer.weight);
        parents.push_back(layer.bias);
    }
    std::shared_ptr<Saved> saved = reuse_saved();
    Saved& s = *saved;
    s.B = x_t.dim(0);
    s.dim = model.config.dim;
    s.act = model.plain.act;
    s.sizes.clear();
    s.sizes.push_back(layers[0].weight.dim(0));
    for (const Linear& layer : layers) s.sizes.push_back(layer.weight.dim(1));
    const int B = s.B, dim = s.dim, emb = model.config.emb_dim;
    if (s.sizes[0] != dim + emb) return Tensor();

    Tensor out = make_output(Shape{B, s.sizes[size_t(L)]}, "eps_mlp", parents);
    s.h.resize(size_t(L));
    s.z.resize(size_t(L - 1));
    for (int l = 0; l < L; ++l) s.h[size_t(l)].resize(size_t(B) * size_t(s.sizes[size_t(l)]));
    const bool gelu = s.act == Activation::GELU;
    if (gelu) {
        s.cdf.resize(size_t(L - 1));
        s.gauss.resize(size_t(L - 1));
    }
    for (int l = 0; l + 1 < L; ++l) {
        const size_t n = size_t(B) * size_t(s.sizes[size_t(l + 1)]);
        s.z[size_t(l)].resize(n);
        if (gelu) {
            s.cdf[size_t(l)].resize(n);
            s.gauss[size_t(l)].resize(n);
        }
    }
    std::vector<float> embedding(size_t(B) * size_t(emb));
    timestep_embedding(embedding.data(), t.data(), B, emb);  // the table lookup, once, on this thread

    const int n_blocks = (B + kBatchBlock - 1) / kBatchBlock;
    const float* x = x_t.data();
    float* y = out.data();
    parallel_for(n_blocks, [&](int64_t k) {
        const int b0 = int(k) * kBatchBlock, rows = std::min(kBatchBlock, B - b0);
        float* h0 = s.h[0].data() + int64_t(b0) * s.sizes[0];
        for (int r = 0; r < rows; ++r) {  // [x_t | emb(t)], as concat writes it
            std::copy_n(x + int64_t(b0 + r) * dim, dim, h0 + int64_t(r) * s.sizes[0]);
            std::copy_n(embedding.data() + int64_t(b0 + r) * emb, emb, h0 + int64_t(r) * s.sizes[0] + dim);
        }
        for (int l = 0; l < L; ++l) {
            const int IC = s.sizes[size_t(l)], OC = s.sizes[size_t(l + 1)];
            const float* in = s.h[size_t(l)].data() + int64_t(b0) * IC;
            float* z = l + 1 < L ? s.z[size_t(l)].data() + int64_t(b0) * OC : y + int64_t(b0) * OC;
            linear_forward(z, in, layers[size_t(l)].weight.data(), layers[size_t(l)].bias.data(), rows, IC, OC);
            if (l + 1 == L) continue;
            float* next = s.h[size_t(l + 1)].data() + int64_t(b0) * OC;
            if (gelu)
                gelu_forward_keep(next, s.cdf[size_t(l)].data() + int64_t(b0) * OC,
                                  s.gauss[size_t(l)].data() + int64_t(b0) * OC, z, int64_t(rows) * OC);
            else
                act_forward(s.act, next, z, int64_t(rows) * OC);
        }
    });
    if (!out.requires_grad()) return out;

    Node* o = out.node.get();
    std::vector<Node*> nodes;  // x_t, then weight and bias of each layer
    for (const Tensor& p : parents) nodes.push_back(p.node.get());
    o->backward = [o, nodes, saved, L, n_blocks] {
        Saved& s = *saved;
        const int B = s.B;
        const float* G = o->grad_buffer();
        Node* px = nodes[0];
        float* gx = px->requires_grad ? px->grad_buffer() : nullptr;
        std::vector<float*> gw(static_cast<size_t>(L)), gb(static_cast<size_t>(L));
        for (int l = 0; l < L; ++l) {
            gw[size_t(l)] = nodes[size_t(1 + 2 * l)]->grad_buffer();
            gb[size_t(l)] = nodes[size_t(2 + 2 * l)]->grad_buffer();
        }
        // W^T of every layer whose input gradient is wanted, once for all blocks (a layer a chunk):
        // dinp = G W^T is then a plain gemm, each value summed over o in increasing order, as
        // linear_backward sums it
        s.weight_t.resize(size_t(L));
        parallel_for(L, [&](int64_t l) {
            if (l == 0 && !gx) return;
            const int IC = s.sizes[size_t(l)], OC = s.sizes[size_t(l + 1)];
            s.weight_t[size_t(l)].resize(size_t(IC) * size_t(OC));
            transpose(s.weight_t[size_t(l)].data(), nodes[size_t(1 + 2 * l)]->data.data(), IC, OC);
        });
        // blocks 1 .. n_blocks-1 sum their weight and bias gradients into zeros of their own
        s.block_w.resize(size_t(n_blocks) * size_t(L));
        s.block_b.resize(size_t(n_blocks) * size_t(L));
        s.g.resize(size_t(n_blocks));
        s.dh.resize(size_t(n_blocks));
        s.dz.resize(size_t(n_blocks));
        parallel_for(n_blocks, [&](int64_t k) {
            const int b0 = int(k) * kBatchBlock, rows = std::min(kBatchBlock, B - b0);
            std::vector<float>& g = s.g[size_t(k)];
            std::vector<float>& dh = s.dh[size_t(k)];
            std::vector<float>& dz = s.dz[size_t(k)];
            g.assign(G + int64_t(b0) * s.sizes[size_t(L)], G + int64_t(b0 + rows) * s.sizes[size_t(L)]);
            for (int l = L - 1; l >= 0; --l) {
                const int IC = s.sizes[size_t(l)], OC = s.sizes[size_t(l + 1)];
                float* w = gw[size_t(l)];
                float* bias = gb[size_t(l)];
                if (k > 0) {
                    std::vector<float>& bw = s.block_w[size_t(k) * L + l];
                    std::vector<float>& bb = s.block_b[size_t(k) * L + l];
                    bw.assign(size_t(IC) * OC, 0.0f);
                    bb.assign(size_t(OC), 0.0f);
                    w = bw.data();
                    bias = bb.data();
                }
                // linear_backward on the block's rows (one block: one plain sum for dW and db)
                const float* in = s.h[size_t(l)].data() + int64_t(b0) * IC;
                if (l > 0 || gx) {
                    dh.assign(size_t(rows) * IC, 0.0f);
                    gemm_acc(dh.data(), g.data(), s.weight_t[size_t(l)].data(), rows, OC, IC);
                }
                linear_param_grads_blocked(w, bias, g.data(), in, rows, IC, OC, gemm_acc_tn);
                if (l > 0) {
                    dz.assign(size_t(rows) * IC, 0.0f);
                    const float* z = s.z[size_t(l - 1)].data() + int64_t(b0) * IC;
                    if (s.act == Activation::GELU)
                        gelu_backward_kept(dz.data(), z, s.cdf[size_t(l - 1)].data() + int64_t(b0) * IC,
                                           s.gauss[size_t(l - 1)].data() + int64_t(b0) * IC, dh.data(),
                                           int64_t(rows) * IC);
                    else
                        act_backward(s.act, dz.data(), z, dh.data(), int64_t(rows) * IC);
                    g.swap(dz);
                } else if (gx) {  // concat's backward: x_t's columns of the input's gradient
                    for (int r = 0; r < rows; ++r)
                        for (int d = 0; d < s.dim; ++d) gx[int64_t(b0 + r) * s.dim + d] += dh[size_t(r) * IC + d];
                }
            }
        });
        // the block sums, added in block order; each value on its own, so any split of them will do
        for (int l = 0; l < L; ++l) {
            const int64_t nw = int64_t(s.sizes[size_t(l)]) * s.sizes[size_t(l + 1)], nb = s.sizes[size_t(l + 1)];
            parallel_range(nw + nb, 4096, [&](int64_t i0, int64_t i1) {
                for (int64_t k = 1; k < n_blocks; ++k)
                    for (int64_t i = i0; i < i1; ++i) {
                        if (i < nw) gw[size_t(l)][i] += s.block_w[size_t(k) * L + l][size_t(i)];
                        else gb[size_t(l)][i - nw] += s.block_b[size_t(k) * L + l][size_t(i - nw)];
                    }
            });
        }
    };
    return out;
}

const bool kInstalled = [] {
    fast_nets().train_forward = train_forward;
    return true;
}();

}  // namespace
}  // namespace ddpm
