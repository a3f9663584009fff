#include "core/nn.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"

namespace ddpm {

void zero_grad(Params& params) {
    for (Param& p : params) {
        float* g = p.tensor.grad();
        std::fill(g, g + p.tensor.numel(), 0.0f);
    }
}

int64_t count_values(const Params& params) {
    int64_t n = 0;
    for (const Param& p : params) n += p.tensor.numel();
    return n;
}

Tensor activate(const Tensor& x, Activation act) {
    switch (act) {
        case Activation::ReLU: return relu(x);
        case Activation::GELU: return gelu(x);
        case Activation::SiLU: return silu(x);
    }
    fail("activate: unknown activation");
}

Activation parse_activation(const std::string& name) {
    if (name == "relu") return Activation::ReLU;
    if (name == "gelu") return Activation::GELU;
    if (name == "silu") return Activation::SiLU;
    fail("unknown activation '" + name + "' (expected relu, gelu or silu)");
}

const char* activation_name(Activation act) {
    switch (act) {
        case Activation::ReLU: return "relu";
        case Activation::GELU: return "gelu";
        case Activation::SiLU: return "silu";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Linear
// ---------------------------------------------------------------------------------------------
Linear::Linear(int in_features, int out_features, Rng& rng) {
    if (in_features <= 0 || out_features <= 0)
        fail("Linear: sizes must be positive, got " + std::to_string(in_features) + " -> " + std::to_string(out_features));
    const float bound = 1.0f / std::sqrt(float(in_features));
    weight = Tensor::zeros(Shape{in_features, out_features}, true);
    bias = Tensor::zeros(Shape{out_features}, true);
    rng.fill_uniform(weight.data(), weight.numel(), -bound, bound);
    rng.fill_uniform(bias.data(), bias.numel(), -bound, bound);
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

void Linear::collect(Params& params, const std::string& prefix) const {
    params.push_back({prefix + ".weight", weight});
    params.push_back({prefix + ".bias", bias});
}

// ---------------------------------------------------------------------------------------------
// MLP
// ---------------------------------------------------------------------------------------------
MLP::MLP(const std::vector<int>& sizes, Activation act_, Rng& rng) : act(act_) {
    if (sizes.size() < 2) fail("MLP: needs at least input and output sizes");
    for (size_t i = 0; i + 1 < sizes.size(); ++i) layers.emplace_back(sizes[i], sizes[i + 1], rng);
}

Tensor MLP::forward(const Tensor& x) const {
    Tensor h = x;
    for (size_t i = 0; i < layers.size(); ++i) {
        h = layers[i].forward(h);
        if (i + 1 < layers.size()) h = activate(h, act);
    }
    return h;
}

void MLP::collect(Params& params, const std::string& prefix) const {
    for (size_t i = 0; i < layers.size(); ++i) layers[i].collect(params, prefix + "." + std::to_string(i));
}

// ---------------------------------------------------------------------------------------------
// ResidualBlock
// ---------------------------------------------------------------------------------------------
ResidualBlock::ResidualBlock(int width, int hidden, Activation act_, Rng& rng)
    : fc1(width, hidden, rng), fc2(hidden, width, rng), act(act_) {}

Tensor ResidualBlock::forward(const Tensor& x) const { return add(x, fc2.forward(activate(fc1.forward(x), act))); }

void ResidualBlock::collect(Params& params, const std::string& prefix) const {
    fc1.collect(params, prefix + ".fc1");
    fc2.collect(params, prefix + ".fc2");
}

}  // namespace ddpm
