#include "diffusion/train.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/common.h"
#include "core/dmath.h"
#include "core/io.h"
#include "diffusion/diffusion.h"

namespace ddpm {

Tensor simple_loss(const EpsModel& model, const Tensor& x0, const std::vector<int>& t, const Tensor& eps,
                   const Schedule& s, Tensor* prediction) {
    const int B = x0.dim(0), dim = x0.dim(1);
    if (eps.shape() != x0.shape()) fail("simple_loss: eps " + eps.shape().str() + " and x0 " + x0.shape().str());
    if (int(t.size()) != B) fail("simple_loss: " + std::to_string(t.size()) + " timesteps for " + std::to_string(B) + " rows");
    // BEGIN SOLUTION L03.1
    Tensor x_t = Tensor::zeros(Shape{B, dim});
    q_sample_rows(x_t.data(), x0.data(), eps.data(), t.data(), B, dim, s);
    std::vector<float> t_float(t.begin(), t.end());
    Tensor pred = model.forward(x_t, t_float);
    if (prediction) *prediction = pred;
    return mse(pred, eps);
    // END SOLUTION
}

float step_lr(const TrainConfig& c, int64_t step) {
    if (c.lr_decay_steps <= 0) return c.lr;
    const double k = double(std::min(step, c.lr_decay_steps)), n = double(c.lr_decay_steps);
    const double pi = 3.14159265358979323846;
    return float(double(c.lr) * 0.5 * (1.0 + dmath::cos(pi * k / n)));
}

// ---------------------------------------------------------------------------------------------
// Trainer
// ---------------------------------------------------------------------------------------------
namespace {

EpsModel make_model(const EpsModelConfig& c, uint64_t seed) {
    Rng init(seed, kInitStream);
    return EpsModel(c, init);
}

}  // namespace

Trainer::Trainer(const EpsModelConfig& model_config, const TrainConfig& c, Schedule s)
    : config(c), schedule(std::move(s)), model(make_model(model_config, c.seed)) {
    if (c.batch < 1 || c.batch > kMaxBatch)
        fail("batch must be from 1 to " + std::to_string(kMaxBatch) + ", got " + std::to_string(c.batch));
    if (!(c.lr > 0.0f) || !std::isfinite(c.lr)) fail("learning rate must be positive and finite, got " + fmt_g(c.lr));
    start(model.params(), c.lr, c.ema_decay, c.seed, kIndexStream, kTimestepStream, kNoiseStream);
}

StepStats Trainer::train_step(const float* data, int n) {
    const int B = config.batch, dim = model.config.dim;
    if (n < 1) fail("train_step: no data");
    StepStats stats;
    Tensor x0 = Tensor::zeros(Shape{B, dim});
    Tensor eps = Tensor::zeros(Shape{B, dim});
    stats.t.resize(size_t(B));
    Tensor prediction;
    adam.config.lr = step_lr(config, step);  // the learning rate of this step (TrainConfig::lr_decay_steps)
    // BEGIN SOLUTION L03.2
    for (int b = 0; b < B; ++b) {
        const int row = index_rng.randint(0, n - 1);
        for (int d = 0; d < dim; ++d) x0.data()[b * dim + d] = data[int64_t(row) * dim + d];
    }
    t_rng.fill_randint(stats.t.data(), B, 1, schedule.T);
    eps_rng.fill_normal(eps.data(), eps.numel());
    zero_grad(params);
    Tensor loss = simple_loss(model, x0, stats.t, eps, schedule, &prediction);
    backward(loss);
    stats.grad_norm = config.clip > 0 ? clip_grad_norm(params, config.clip) : 0.0;
    adam.step(params);
    ema.update(params);
    stats.loss = loss.item();
    // END SOLUTION
    ++step;
    stats.row_loss.resize(size_t(B));
    for (int b = 0; b < B; ++b) {
        float s = 0.0f;
        for (int d = 0; d < dim; ++d) {
            const float diff = prediction.data()[b * dim + d] - eps.data()[b * dim + d];
            s += diff * diff;
        }
        stats.row_loss[size_t(b)] = s / float(dim);
    }
    return stats;
}

EpsModel Trainer::ema_model() const {
    EpsModel copy = make_model(model.config, config.seed);
    Params p = copy.params();
    ema.copy_to(p);
    return copy;
}

}  // namespace ddpm
