#include "optim.h"

#include <cmath>

#include "common.h"

namespace ddpm {

namespace {

// Optimiser state vectors are created lazily, zero-filled, shaped like the parameters.
void ensure_state(std::vector<std::vector<float>>& state, const Params& params) {
    if (state.size() == params.size()) return;
    if (!state.empty()) fail("optimiser state has " + std::to_string(state.size()) + " tensors, model has " +
                             std::to_string(params.size()));
    for (const Param& p : params) state.emplace_back(size_t(p.tensor.numel()), 0.0f);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SGD
// ---------------------------------------------------------------------------------------------
void SGD::step(Params& params) {
    ensure_state(velocity, params);
    for (size_t k = 0; k < params.size(); ++k) {
        Tensor& p = params[k].tensor;
        const float* g = p.grad();
        float* w = p.data();
        float* buf = velocity[k].data();
        for (int64_t i = 0; i < p.numel(); ++i) {
            buf[i] = momentum * buf[i] + g[i];
            w[i] -= lr * buf[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Adam / AdamW
// ---------------------------------------------------------------------------------------------
void Adam::step(Params& params) {
    ensure_state(m, params);
    ensure_state(v, params);
    ++t;
    // BEGIN SOLUTION L00.3
    const AdamConfig& c = config;
    const float bias1 = 1.0f - float(std::pow(double(c.beta1), double(t)));
    const float bias2 = 1.0f - float(std::pow(double(c.beta2), double(t)));
    const float step_size = c.lr / bias1;
    const float sqrt_bias2 = std::sqrt(bias2);
    for (size_t k = 0; k < params.size(); ++k) {
        Tensor& p = params[k].tensor;
        const float* g = p.grad();
        float* w = p.data();
        float* mk = m[k].data();
        float* vk = v[k].data();
        for (int64_t i = 0; i < p.numel(); ++i) {
            if (c.weight_decay != 0.0f) w[i] -= c.lr * c.weight_decay * w[i];  // decoupled decay
            mk[i] = c.beta1 * mk[i] + (1.0f - c.beta1) * g[i];
            vk[i] = c.beta2 * vk[i] + (1.0f - c.beta2) * g[i] * g[i];
            // m_hat / (sqrt(v_hat) + eps) written as PyTorch does, to agree with it to the last bits
            const float denom = std::sqrt(vk[i]) / sqrt_bias2 + c.eps;
            w[i] -= step_size * mk[i] / denom;
        }
    }
    // END SOLUTION
}

// ---------------------------------------------------------------------------------------------
// EMA
// ---------------------------------------------------------------------------------------------
EMA::EMA(const Params& params, float decay_) : decay(decay_) {
    if (!(decay >= 0.0f && decay < 1.0f)) fail("EMA: decay must be in [0, 1), got " + std::to_string(decay));
    for (const Param& p : params) shadow.emplace_back(p.tensor.data(), p.tensor.data() + p.tensor.numel());
}

float EMA::current_decay() const {
    const float warm = float(1 + updates) / float(10 + updates);
    return warm < decay ? warm : decay;
}

void EMA::update(const Params& params) {
    if (shadow.size() != params.size()) fail("EMA: built for a different parameter list");
    const float d = current_decay();
    ++updates;
    for (size_t k = 0; k < params.size(); ++k) {
        const float* w = params[k].tensor.data();
        float* s = shadow[k].data();
        for (size_t i = 0; i < shadow[k].size(); ++i) s[i] = d * s[i] + (1.0f - d) * w[i];
    }
}

void EMA::copy_to(Params& params) const {
    if (shadow.size() != params.size()) fail("EMA: built for a different parameter list");
    for (size_t k = 0; k < params.size(); ++k) std::copy(shadow[k].begin(), shadow[k].end(), params[k].tensor.data());
}

// ---------------------------------------------------------------------------------------------
// Gradient clipping
// ---------------------------------------------------------------------------------------------
double clip_grad_norm(Params& params, double max_norm) {
    double sq = 0.0;
    for (Param& p : params) {
        const float* g = p.tensor.grad();
        for (int64_t i = 0; i < p.tensor.numel(); ++i) sq += double(g[i]) * g[i];
    }
    const double norm = std::sqrt(sq);
    if (norm > max_norm) {
        const float factor = float(max_norm / (norm + 1e-6));
        for (Param& p : params) {
            float* g = p.tensor.grad();
            for (int64_t i = 0; i < p.tensor.numel(); ++i) g[i] *= factor;
        }
    }
    return norm;
}

}  // namespace ddpm
