// eps_mlp.h: the noise-prediction network eps_theta(x_t, t) for vectors (the toy lessons).
//
// Input: x_t (B, dim) and the timestep t of each row. The timestep enters through its sinusoidal
// embedding (Vaswani et al. 2017; Ho et al. 2020, appendix B), concatenated with x_t:
//
//     h = [x_t | emb(t)]  (B, dim + emb_dim)  ->  hidden layers  ->  eps (B, dim)
//
// Plain: Linear + activation per hidden layer. Residual: Linear in, `layers` residual blocks
// (x + fc2(act(fc1 x))), Linear out. The canonical toy model is plain, dim 2, emb 32, three hidden
// layers of 128, GELU: 34 -> 128 -> 128 -> 128 -> 2.
#pragma once

#include <string>
#include <vector>

#include "core/nn.h"

namespace ddpm {

struct EpsModelConfig {
    int dim = 2;              // data dimension
    int emb_dim = 32;         // size of the timestep embedding (even)
    int hidden = 128;         // width of the hidden layers
    int layers = 3;           // hidden layers (plain) or residual blocks (residual)
    bool residual = false;
    Activation act = Activation::GELU;
};

std::string describe(const EpsModelConfig& c);  // "mlp 34-128-128-128-2 gelu"

struct EpsModel {
    EpsModelConfig config;
    MLP plain;                          // used when !config.residual
    Linear input, output;               // used when config.residual
    std::vector<ResidualBlock> blocks;

    EpsModel() = default;
    EpsModel(const EpsModelConfig& config, Rng& rng);
    // x_t (B, dim), t: B timesteps -> predicted noise (B, dim). graph_forward is the network as ops
    // of the graph; forward (nets/dispatch.cpp) computes the same bits, through src/fast/'s one-op
    // version while training when it is installed.
    Tensor forward(const Tensor& x_t, const std::vector<float>& t) const;
    Tensor graph_forward(const Tensor& x_t, const std::vector<float>& t) const;
    void check_input(const Tensor& x_t, const std::vector<float>& t) const;  // fails on a wrong shape
    Params params() const;
};

// The network on `rows` rows that share one timestep t, as sampling asks for, without a graph:
// x_t (rows, dim) -> eps_out (rows, dim). Defined in nets/dispatch.cpp: src/fast/'s version when it is
// installed, else the plain one below.
void eps_forward_shared_t(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t);
namespace reference {
void eps_forward_shared_t(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t);  // forward()
}  // namespace reference

}  // namespace ddpm
