// optim.h: SGD, Adam/AdamW, an exponential moving average of the weights, gradient-norm clipping.
//
// Every optimiser walks the parameters in the order of the Params list and keeps its state in
// vectors of the same order, so the state can be saved beside the weights (see checkpoint.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/nn.h"

namespace ddpm {

// p -= lr * (momentum buffer), buffer = momentum * buffer + grad.
struct SGD {
    float lr = 1e-2f;
    float momentum = 0.0f;
    std::vector<std::vector<float>> velocity;

    void step(Params& params);
};

struct AdamConfig {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;  // decoupled (AdamW, Loshchilov and Hutter 2019); 0 gives Adam
};

// Adam (Kingma and Ba 2015, Algorithm 1) with bias correction:
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
struct Adam {
    AdamConfig config;
    int64_t t = 0;                          // steps taken
    std::vector<std::vector<float>> m, v;   // first and second moments, one vector per parameter

    Adam() = default;
    explicit Adam(AdamConfig c) : config(c) {}
    void step(Params& params);
};

// shadow = d * shadow + (1 - d) * param, after every optimiser step. Sampling with the averaged
// weights gives much smoother results than the last iterate (Ho et al. 2020, appendix B).
// Warm-up: d = min(decay, (1 + k) / (10 + k)) at the k-th update (k = 0, 1, ...), the rule of
// TensorFlow's ExponentialMovingAverage with num_updates. Without it the shadow starts at the random
// initial weights and keeps decay^k of them: after 3,000 steps at 0.999 still 5%, enough to ruin
// a deterministic sampler (lesson 07).
struct EMA {
    float decay = 0.999f;
    int64_t updates = 0;
    std::vector<std::vector<float>> shadow;

    EMA() = default;
    EMA(const Params& params, float decay);
    void update(const Params& params);
    float current_decay() const;           // the d of the next update
    void copy_to(Params& params) const;   // overwrite the weights with the averages
};

// Scales all grads so that their joint L2 norm is at most max_norm. Returns the norm before
// clipping (summed in double, in parameter order).
double clip_grad_norm(Params& params, double max_norm);

}  // namespace ddpm
