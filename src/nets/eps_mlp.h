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
    // x_t (B, dim), t: B timesteps -> predicted noise (B, dim)
    Tensor forward(const Tensor& x_t, const std::vector<float>& t) const;
    Params params() const;
};

// The network on `rows` rows that share one timestep t, as sampling asks for, without a graph:
// x_t (rows, dim) -> eps_out (rows, dim). The reference runs forward(); src/fast/ installs a faster
// evaluation of the same network (fast/eps_sampling.cpp) that agrees with it to rounding (1e-5).
void eps_forward_shared_t(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t);
using SharedTForward = void (*)(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t);
SharedTForward& fast_shared_t_forward();  // null in a FAST=0 build

// Training's forward of the plain network as one op of the graph, its backward included: src/fast/
// installs one (fast/eps_training.cpp) that gives each block of kBatchBlock rows (core/kernels.h) to
// a thread of its own, forward and backward, and adds the blocks' weight gradients in block order:
// the same bits as the op-by-op graph of forward(), for any thread count. forward() hands over to it
// when gradients are recorded and the network is plain; it returns an undefined Tensor to decline.
using TrainForward = Tensor (*)(const EpsModel& model, const Tensor& x_t, const std::vector<float>& t);
TrainForward& fast_train_forward();  // null in a FAST=0 build

}  // namespace ddpm
