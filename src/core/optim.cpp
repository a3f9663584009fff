#include "core/optim.h"

#include <cmath>

#include "core/common.h"
#include "core/dmath.h"

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
    const float bias1 = 1.0f - float(dmath::pow_int(double(c.beta1), t));
    const float bias2 = 1.0f - float(dmath::pow_int(double(c.beta2), t));
    const float step_size = c.lr / bias1;
    const float sqrt_bias2 = std::sqrt(bias2);
    for (size_t k = 0; k < params.size(); ++k) {
        Tensor& p = params[k].tensor;
        const int64_t n = p.numel();
        const float* g = p.grad();
        float* w = p.data();
        float* mk = m[k].data();
        float* vk = v[k].data();
        if (c.weight_decay != 0.0f)
            for (int64_t i = 0; i < n; ++i) w[i] -= c.lr * c.weight_decay * w[i];  // decoupled decay
        const float beta1 = c.beta1, beta2 = c.beta2, eps = c.eps;
        for (int64_t i = 0; i < n; ++i) {
            mk[i] = beta1 * mk[i] + (1.0f - beta1) * g[i];
            vk[i] = beta2 * vk[i] + (1.0f - beta2) * g[i] * g[i];
            // m_hat / (sqrt(v_hat) + eps) written as PyTorch does, to agree with it to the last bits
            const float denom = std::sqrt(vk[i]) / sqrt_bias2 + eps;
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
        const size_t n = shadow[k].size();
        for (size_t i = 0; i < n; ++i) s[i] = d * s[i] + (1.0f - d) * w[i];
    }
}

void EMA::copy_to(Params& params) const {
    if (shadow.size() != params.size()) fail("EMA: built for a different parameter list");
    for (size_t k = 0; k < params.size(); ++k) std::copy(shadow[k].begin(), shadow[k].end(), params[k].tensor.data());
}

// ---------------------------------------------------------------------------------------------
// Gradient clipping
// ---------------------------------------------------------------------------------------------
// The sum of squares runs in 8 interleaved double partial sums (element i goes to sum i mod 8, the
// eight added in order at the end): a fixed order, so the same bits on any thread count, and eight
// independent additions in flight instead of one chain as long as the model.
double clip_grad_norm(Params& params, double max_norm) {
    const int lanes = 8;
    double partial[lanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (Param& p : params) {
        const float* g = p.tensor.grad();
        const int64_t n = p.tensor.numel(), whole = n - n % lanes;
        for (int64_t i = 0; i < whole; i += lanes)
            for (int l = 0; l < lanes; ++l) partial[l] += double(g[i + l]) * g[i + l];
        for (int64_t i = whole; i < n; ++i) partial[i - whole] += double(g[i]) * g[i];
    }
    double sq = 0.0;
    for (double s : partial) sq += s;
    const double norm = std::sqrt(sq);
    if (norm > max_norm) {
        const float factor = float(max_norm / (norm + 1e-6));
        for (Param& p : params) {
            float* g = p.tensor.grad();
            const int64_t n = p.tensor.numel();
            for (int64_t i = 0; i < n; ++i) g[i] *= factor;
        }
    }
    return norm;
}

}  // namespace ddpm
