#include "diffusion/train.h"

#include <cstdio>
#include <cstdlib>

#include "core/common.h"
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
    : config(c),
      schedule(std::move(s)),
      model(make_model(model_config, c.seed)),
      params(model.params()),
      adam(AdamConfig{c.lr}),
      ema(params, c.ema_decay),
      index_rng(c.seed, kIndexStream),
      t_rng(c.seed, kTimestepStream),
      eps_rng(c.seed, kNoiseStream) {
    if (c.batch < 1) fail("batch must be at least 1, got " + std::to_string(c.batch));
    if (!(c.lr > 0.0f)) fail("learning rate must be positive");
}

StepStats Trainer::train_step(const float* data, int n) {
    const int B = config.batch, dim = model.config.dim;
    if (n < 1) fail("train_step: no data");
    StepStats stats;
    Tensor x0 = Tensor::zeros(Shape{B, dim});
    Tensor eps = Tensor::zeros(Shape{B, dim});
    stats.t.resize(size_t(B));
    Tensor prediction;
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

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------
namespace {

std::string num(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

double meta_double(const Checkpoint& c, const std::string& key, const std::string& source) {
    const std::string v = c.get_meta(key);
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') fail(source + ": entry '" + key + "' is not a number: '" + v + "'");
    return d;
}

int64_t meta_int(const Checkpoint& c, const std::string& key, const std::string& source) {
    const std::string v = c.get_meta(key);
    char* end = nullptr;
    long long i = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') fail(source + ": entry '" + key + "' is not a whole number: '" + v + "'");
    return i;
}

}  // namespace

Checkpoint trainer_checkpoint(const Trainer& tr) {
    Checkpoint c;
    const EpsModelConfig& m = tr.model.config;
    c.set_meta("model.dim", std::to_string(m.dim));
    c.set_meta("model.emb_dim", std::to_string(m.emb_dim));
    c.set_meta("model.hidden", std::to_string(m.hidden));
    c.set_meta("model.layers", std::to_string(m.layers));
    c.set_meta("model.residual", m.residual ? "1" : "0");
    c.set_meta("model.act", activation_name(m.act));
    // the schedule is stored as its betas, so any schedule round-trips exactly
    c.set_meta("schedule.name", tr.schedule.name);
    c.set_meta("schedule.T", std::to_string(tr.schedule.T));
    std::string beta_bits;
    for (double b : tr.schedule.beta) beta_bits += num(b) + " ";
    c.set_meta("schedule.beta_f64", beta_bits);
    c.set_meta("train.batch", std::to_string(tr.config.batch));
    c.set_meta("train.lr", num(tr.config.lr));
    c.set_meta("train.ema_decay", num(tr.config.ema_decay));
    c.set_meta("train.clip", num(tr.config.clip));
    c.set_meta("train.seed", std::to_string(tr.config.seed));
    c.set_meta("train.step", std::to_string(tr.step));
    c.set_meta("adam.t", std::to_string(tr.adam.t));
    c.set_meta("ema.updates", std::to_string(tr.ema.updates));
    c.set_meta("rng.index", std::to_string(tr.index_rng.counter));
    c.set_meta("rng.t", std::to_string(tr.t_rng.counter));
    c.set_meta("rng.eps", std::to_string(tr.eps_rng.counter));
    add_params(c, tr.params);
    for (size_t k = 0; k < tr.params.size(); ++k) {
        const Shape& shape = tr.params[k].tensor.shape();
        c.add_tensor("ema." + tr.params[k].name, Tensor::from(shape, tr.ema.shadow[k]));
        if (tr.adam.m.size() == tr.params.size()) {
            c.add_tensor("adam.m." + tr.params[k].name, Tensor::from(shape, tr.adam.m[k]));
            c.add_tensor("adam.v." + tr.params[k].name, Tensor::from(shape, tr.adam.v[k]));
        }
    }
    return c;
}

Trainer trainer_from_checkpoint(const Checkpoint& c, const std::string& source) {
    EpsModelConfig m;
    m.dim = int(meta_int(c, "model.dim", source));
    m.emb_dim = int(meta_int(c, "model.emb_dim", source));
    m.hidden = int(meta_int(c, "model.hidden", source));
    m.layers = int(meta_int(c, "model.layers", source));
    m.residual = meta_int(c, "model.residual", source) != 0;
    m.act = parse_activation(c.get_meta("model.act"));
    if (m.dim < 1 || m.dim > 4096 || m.hidden < 1 || m.hidden > 65536 || m.layers < 1 || m.layers > 64 ||
        m.emb_dim < 2 || m.emb_dim > 4096)
        fail(source + ": implausible model configuration");
    // schedule: the exact doubles from the text entry
    std::vector<double> beta;
    {
        const std::string text = c.get_meta("schedule.beta_f64");
        const char* p = text.c_str();
        char* end = nullptr;
        for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
            beta.push_back(v);
            p = end;
        }
    }
    const int64_t T = meta_int(c, "schedule.T", source);
    if (int64_t(beta.size()) != T + 1) fail(source + ": schedule has " + std::to_string(beta.size()) + " betas for T = " + std::to_string(T));
    Schedule s = schedule_from_betas(c.get_meta("schedule.name"), beta);
    TrainConfig tc;
    tc.batch = int(meta_int(c, "train.batch", source));
    tc.lr = float(meta_double(c, "train.lr", source));
    tc.ema_decay = float(meta_double(c, "train.ema_decay", source));
    tc.clip = meta_double(c, "train.clip", source);
    tc.seed = uint64_t(meta_int(c, "train.seed", source));
    Trainer tr(m, tc, s);
    read_params(c, tr.params, source);
    Params ema_params = tr.ema_model().params();
    read_params(c, ema_params, source, "ema.");
    for (size_t k = 0; k < ema_params.size(); ++k)
        tr.ema.shadow[k].assign(ema_params[k].tensor.data(), ema_params[k].tensor.data() + ema_params[k].tensor.numel());
    tr.step = meta_int(c, "train.step", source);
    tr.adam.t = meta_int(c, "adam.t", source);
    tr.ema.updates = meta_int(c, "ema.updates", source);
    if (c.find_tensor("adam.m." + tr.params[0].name)) {
        tr.adam.m.clear();
        tr.adam.v.clear();
        for (const Param& p : tr.params) {
            const Tensor* mt = c.find_tensor("adam.m." + p.name);
            const Tensor* vt = c.find_tensor("adam.v." + p.name);
            if (!mt || !vt || mt->shape() != p.tensor.shape() || vt->shape() != p.tensor.shape())
                fail(source + ": optimiser state for '" + p.name + "' is missing or misshapen");
            tr.adam.m.emplace_back(mt->data(), mt->data() + mt->numel());
            tr.adam.v.emplace_back(vt->data(), vt->data() + vt->numel());
        }
    }
    tr.index_rng.counter = uint64_t(meta_int(c, "rng.index", source));
    tr.t_rng.counter = uint64_t(meta_int(c, "rng.t", source));
    tr.eps_rng.counter = uint64_t(meta_int(c, "rng.eps", source));
    return tr;
}

}  // namespace ddpm
