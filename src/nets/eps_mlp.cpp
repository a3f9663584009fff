#include "nets/eps_mlp.h"

#include <algorithm>

#include "core/common.h"
#include "core/kernels.h"
#include "core/ops.h"

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

void EpsModel::check_input(const Tensor& x_t, const std::vector<float>& t) const {
    if (x_t.ndim() != 2 || x_t.dim(1) != config.dim)
        fail("EpsModel: expected x_t of shape (B, " + std::to_string(config.dim) + "), got " + x_t.shape().str());
    if (int(t.size()) != x_t.dim(0))
        fail("EpsModel: " + std::to_string(t.size()) + " timesteps for " + std::to_string(x_t.dim(0)) + " rows");
}

Tensor EpsModel::graph_forward(const Tensor& x_t, const std::vector<float>& t) const {
    check_input(x_t, t);
    Tensor h = concat({x_t, timestep_embedding(t, config.emb_dim)});
    if (!config.residual) return plain.forward(h);
    h = input.forward(h);
    for (const ResidualBlock& b : blocks) h = b.forward(h);
    return output.forward(activate(h, config.act));
}

void reference::eps_forward_shared_t(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t) {
    NoGrad no_grad;
    const int64_t n = int64_t(rows) * model.config.dim;
    const Tensor x = Tensor::from({rows, model.config.dim}, std::vector<float>(x_t, x_t + n));
    const Tensor eps = model.forward(x, std::vector<float>(size_t(rows), float(t)));
    std::copy(eps.data(), eps.data() + n, eps_out);
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
