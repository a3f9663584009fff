// fast/eps_sampling.cpp: the eps-model of nets/eps_mlp.h evaluated for sampling, where every row
// shares one timestep, without a graph and feature-major. Installed as fast_nets().shared_t_forward, which
// the sampler uses in place of EpsModel::forward().
//
// Two changes against forward(): the layers' values for all rows are stored (features, rows), so the
// 2-wide output layer is as vectorised as the hidden ones; and the embedding's share of the first
// layer is computed once for all rows. That share is summed before x_t's instead of after it, so
// values agree with forward() to rounding, not bit for bit (tests/test_fast.cpp: 1e-5).
#include <algorithm>
#include <vector>

#include "core/kernels.h"
#include "core/madd.h"
#include "nets/dispatch.h"
#include "fast/tile.h"

namespace ddpm {
namespace {

// A layer's values for all rows are (features, rows), so a Linear layer is out^T = W^T in^T + b: the
// register tile of fast/tile.h with W read as its transpose in place, each output value b + sum over
// inputs k in increasing k, as in linear_forward. The activation that follows a layer is applied to
// each tile as it is stored, while its values are still in the L1 cache (gelu_approx and
// silu_approx: gelu_forward's and silu_forward's own formula, value by value, so the same bits).
// A chunk of rows runs on one thread (model_eps_function hands out the chunks), so this is serial.
using namespace fast_tile;

enum class Then { Nothing, ReLU, GELU, SiLU };

Then then_of(Activation act) {
    switch (act) {
        case Activation::ReLU: return Then::ReLU;
        case Activation::GELU: return Then::GELU;
        case Activation::SiLU: return Then::SiLU;
    }
    return Then::Nothing;
}

// p[r N + i] = act(p[r N + i]) for r < R, i < n: a whole tile in one loop, so that its values' chains
// (some forty operations deep for GELU) overlap, and the formula's constants are loaded once
template <int R, int n>
void apply(float* __restrict p, int64_t N, Then then) {
    switch (then) {
        case Then::Nothing: break;
        case Then::ReLU:
            for (int r = 0; r < R; ++r)
                for (int i = 0; i < n; ++i) p[r * N + i] = p[r * N + i] > 0.0f ? p[r * N + i] : 0.0f;
            break;
        case Then::GELU:
            for (int r = 0; r < R; ++r)
                for (int i = 0; i < n; ++i) p[r * N + i] = gelu_approx(p[r * N + i]);
            break;
        case Then::SiLU:
            for (int r = 0; r < R; ++r)
                for (int i = 0; i < n; ++i) p[r * N + i] = silu_approx(p[r * N + i]);
            break;
    }
}

float apply_one(float x, Then then) {
    switch (then) {
        case Then::Nothing: return x;
        case Then::ReLU: return x > 0.0f ? x : 0.0f;
        case Then::GELU: return gelu_approx(x);
        case Then::SiLU: return silu_approx(x);
    }
    return x;
}

struct Layer {
    float* out;          // (M, N)
    StridedA w;          // W (K, M) read as its transpose
    const float* bias;   // (M)
    const float* in;     // (K, N)
    int M, K, N;
    Then then;
};

template <int R, int V>
void tile_then(const Layer& f, int m0, int n0) {
    gemm_tile<R, V>(f.out, f.w, f.in, m0, n0, f.K, f.N, f.bias);
    apply<R, V * kLanes>(f.out + int64_t(m0) * f.N + n0, f.N, f.then);
}

// every row of the columns [n0, n0 + V kLanes): the strip of `in` they read stays in L1 meanwhile
template <int V>
void strip(const Layer& f, int n0) {
    int m = 0;
    for (; m + kTileRows <= f.M; m += kTileRows) tile_then<kTileRows, V>(f, m, n0);
    switch (f.M - m) {  // the last rows, fewer than a tile
        case 7: tile_then<7, V>(f, m, n0); break;
        case 6: tile_then<6, V>(f, m, n0); break;
        case 5: tile_then<5, V>(f, m, n0); break;
        case 4: tile_then<4, V>(f, m, n0); break;
        case 3: tile_then<3, V>(f, m, n0); break;
        case 2: tile_then<2, V>(f, m, n0); break;
        case 1: tile_then<1, V>(f, m, n0); break;
        default: break;
    }
}

// out (OC, rows) = act(weight^T in + b), weight (IC, OC), in (IC, rows), b (OC) added to every row
void linear_feature_major(std::vector<float>& out, const float* weight, const float* b, int IC, int OC,
                          const std::vector<float>& in, int rows, Then then) {
    out.resize(size_t(OC) * size_t(rows));
    const Layer f{out.data(), StridedA{weight, 1, OC}, b, in.data(), OC, IC, rows, then};
    int n = 0;
    for (; n + 2 * kLanes <= rows; n += 2 * kLanes) strip<2>(f, n);
    if (n + kLanes <= rows) {
        strip<1>(f, n);
        n += kLanes;
    }
    for (; n < rows; ++n)  // columns that do not fill a vector: one sum at a time
        for (int m = 0; m < OC; ++m) {
            float acc = b[m];
            for (int k = 0; k < IC; ++k) acc = madd(weight[int64_t(k) * OC + m], in[int64_t(k) * rows + n], acc);
            out[int64_t(m) * rows + n] = apply_one(acc, then);
        }
}

void linear_feature_major(std::vector<float>& out, const Linear& layer, const std::vector<float>& in, int rows,
                          Then then) {
    linear_feature_major(out, layer.weight.data(), layer.bias.data(), layer.weight.dim(0), layer.weight.dim(1), in,
                         rows, then);
}

// Buffers of one thread's forward_shared_t_feature_major, kept from call to call: sampling calls
// it a thousand times per chunk of rows, and fresh vectors would be zero-filled each time for nothing.
struct ForwardBuffers {
    std::vector<float> h, next, inner, embedding;
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
    // c + W[:dim]^T x_t, and the activation that follows the first layer
    const Then hidden_then = config.residual ? Then::Nothing : then_of(model.plain.act);
    const Then first_then = model.plain.layers.size() > 1 ? hidden_then : Then::Nothing;
    linear_feature_major(next, first.weight.data(), c, dim, width, h, rows, first_then);
    h.swap(next);

    if (!config.residual) {
        const size_t L = model.plain.layers.size();
        for (size_t l = 1; l < L; ++l) {  // each hidden layer's activation applied as it is stored
            linear_feature_major(next, model.plain.layers[l], h, rows, l + 1 < L ? hidden_then : Then::Nothing);
            h.swap(next);
        }
    } else {
        for (const ResidualBlock& b : model.blocks) {  // h + fc2(act(fc1(h)))
            linear_feature_major(inner, b.fc1, h, rows, then_of(b.act));
            linear_feature_major(next, b.fc2, inner, rows, Then::Nothing);
            for (size_t i = 0; i < h.size(); ++i) next[i] = h[i] + next[i];
            h.swap(next);
        }
        for (float& v : h) v = apply_one(v, then_of(config.act));
        linear_feature_major(next, model.output, h, rows, Then::Nothing);
        h.swap(next);
    }
    transpose(eps_out, h.data(), dim, rows);  // (dim, rows) -> (rows, dim)
}

const bool kInstalled = [] {
    fast_nets().shared_t_forward = forward_shared_t_feature_major;
    return true;
}();

}  // namespace
}  // namespace ddpm
