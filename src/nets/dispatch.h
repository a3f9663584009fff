// nets/dispatch.h: where the toy eps-model is handed to src/fast/, in one place, as core/dispatch.h
// does for the kernels. src/fast/ installs two whole-network versions of nets/eps_mlp.h's model at
// start-up (FAST=1); EpsModel::forward and eps_forward_shared_t, defined in nets/dispatch.cpp, take
// them when they are installed, else the plain versions of nets/eps_mlp.cpp. Lessons never need this
// header; src/fast/ and the tests that compare the two paths do.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "nets/eps_mlp.h"

namespace ddpm {

// Sampling's network on `rows` rows that share one timestep t, without a graph (fast/eps_sampling.cpp:
// feature-major, each layer's activation applied as its tiles are stored; agrees with the plain
// version to rounding, 1e-5).
using SharedTForward = void (*)(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t);
// Training's forward of the plain network as one op of the graph, its backward included
// (fast/eps_training.cpp): each block of kBatchBlock rows (core/kernels.h) on a thread of its own,
// forward and backward, the blocks' weight gradients added in block order: the same bits as
// EpsModel::graph_forward, for any thread count. Used while gradients are recorded and the network is
// plain; it returns an undefined Tensor to decline.
using TrainForward = Tensor (*)(const EpsModel& model, const Tensor& x_t, const std::vector<float>& t);

struct FastNets {
    SharedTForward shared_t_forward = nullptr;
    TrainForward train_forward = nullptr;
};
FastNets& fast_nets();  // both null in a FAST=0 build

}  // namespace ddpm
