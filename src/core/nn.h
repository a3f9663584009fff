// nn.h: layers built from ops: Linear, MLP, a residual MLP block; named parameter lists.
//
// A layer is a struct of Tensors with forward() and collect(), which appends its parameters with
// dotted names ("net.0.weight") in a fixed order. That order is the order of the optimiser's state
// and of the checkpoint file, so it must not depend on anything but the architecture.
#pragma once

#include <string>
#include <vector>

#include "core/ops.h"
#include "core/rng.h"

namespace ddpm {

struct Param {
    std::string name;
    Tensor tensor;
};
using Params = std::vector<Param>;

void zero_grad(Params& params);
int64_t count_values(const Params& params);

enum class Activation { ReLU, GELU, SiLU };
Tensor activate(const Tensor& x, Activation act);
Activation parse_activation(const std::string& name);  // "relu" | "gelu" | "silu"
const char* activation_name(Activation act);

// y = x W + b. W (in, out), b (out), both drawn from U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's default).
struct Linear {
    Tensor weight;
    Tensor bias;

    Linear() = default;
    Linear(int in_features, int out_features, Rng& rng);
    Tensor forward(const Tensor& x) const;
    void collect(Params& params, const std::string& prefix) const;
};

// sizes = {in, hidden..., out}; the activation follows every layer except the last.
struct MLP {
    std::vector<Linear> layers;
    Activation act = Activation::GELU;

    MLP() = default;
    MLP(const std::vector<int>& sizes, Activation act, Rng& rng);
    Tensor forward(const Tensor& x) const;
    void collect(Params& params, const std::string& prefix) const;
};

// x + fc2(act(fc1(x))): width -> hidden -> width. The skip keeps deep MLPs trainable.
struct ResidualBlock {
    Linear fc1, fc2;
    Activation act = Activation::GELU;

    ResidualBlock() = default;
    ResidualBlock(int width, int hidden, Activation act, Rng& rng);
    Tensor forward(const Tensor& x) const;
    void collect(Params& params, const std::string& prefix) const;
};

}  // namespace ddpm
