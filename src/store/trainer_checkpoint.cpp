// trainer_checkpoint.cpp: the toy trainer (diffusion/train.h) to a checkpoint and back, every entry
// checked before anything is built from it.
#include "store/trainer_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/common.h"
#include "core/dmath.h"
#include "core/io.h"
#include "store/settings.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------
namespace {

// ---- what must hold before anything is built from a checkpoint -------------------------------------
// A damaged or crafted file (with a valid checksum) gives one line instead of an allocation of
// terabytes, an overflow, or a batch size of -1 on --resume: every entry is checked against the
// settings table (settings.h) and the network's size against the values the file holds, first.
void check_trainer_entries(const Checkpoint& c, const std::string& source) {
    const int64_t dim = checkpoint_setting(c, setting::columns, source);
    const int64_t emb = checkpoint_setting(c, setting::emb_dim, source);
    const int64_t hidden = checkpoint_setting(c, setting::hidden, source);
    const int64_t layers = checkpoint_setting(c, setting::layers, source);
    const int64_t residual = checkpoint_setting(c, IntSetting{nullptr, "model.residual", 0, 1, 0}, source);
    if (emb % 2 != 0) fail(source + ": entry 'model.emb_dim' should be even, not " + std::to_string(emb));
    // Every weight and its average are stored in the file, so the network cannot hold more values than
    // half of what the file does.
    const int64_t weights = eps_model_values(int(dim), int(emb), int(hidden), int(layers), residual != 0);
    int64_t stored = 0;
    for (const auto& [name, t] : c.tensors) {
        stored += t.numel();
        for (int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(t.data()[i])) fail(source + ": tensor '" + shown(name) + "' holds a value that is not finite");
    }
    if (2 * weights > stored)
        fail(source + ": the model it describes (" + std::to_string(layers) + " layers of " + std::to_string(hidden) +
             ") has " + std::to_string(weights) + " weights; the file holds " + std::to_string(stored) +
             " values, fewer than the weights and their average");
    checkpoint_setting(c, setting::T, source);
    checkpoint_setting(c, setting::batch, source);
    checkpoint_setting(c, setting::lr, source);
    checkpoint_setting(c, setting::ema, source);
    checkpoint_setting(c, setting::seed, source);
    if (!c.has_meta("train.clip")) fail(source + ": no entry 'train.clip'");
    {
        const std::string text = c.get_meta("train.clip");
        char* end = nullptr;
        const double clip = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(clip))
            fail(source + ": entry 'train.clip' is not a finite number: '" + shown(text) + "'");
    }
    for (const char* key : {"train.step", "adam.t", "ema.updates", "rng.index", "rng.t", "rng.eps"})
        checkpoint_setting(c, IntSetting{nullptr, key, 0, INT64_MAX, 0}, source);
    if (!c.has_meta("model.act")) fail(source + ": no entry 'model.act'");
    const std::string act = c.get_meta("model.act");
    if (act != "relu" && act != "gelu" && act != "silu")
        fail(source + ": entry 'model.act' is not an activation (relu, gelu or silu): '" + shown(act) + "'");
    // The schedule's name is printed in progress lines: short and free of control bytes.
    if (!c.has_meta("schedule.name")) fail(source + ": no entry 'schedule.name'");
    const std::string schedule = c.get_meta("schedule.name");
    if (schedule.size() > 200 || shown(schedule, schedule.size()) != schedule)
        fail(source + ": entry 'schedule.name' is not a schedule's name: '" + shown(schedule) + "'");
    if (!c.has_meta("schedule.beta_f64")) fail(source + ": no entry 'schedule.beta_f64'");
}

int64_t counter(const Checkpoint& c, const char* key, const std::string& source) {
    return checkpoint_setting(c, IntSetting{nullptr, key, 0, INT64_MAX, 0}, source);
}

}  // namespace

void add_schedule_entries(Checkpoint& c, const Schedule& s) {
    // the schedule is stored as its betas, so any schedule round-trips exactly
    c.set_meta("schedule.name", s.name);
    c.set_meta("schedule.T", std::to_string(s.T));
    std::string beta_bits;
    for (double b : s.beta) beta_bits += fmt_exact(b) + " ";
    c.set_meta("schedule.beta_f64", beta_bits);
}

Schedule schedule_from_entries(const Checkpoint& c, const std::string& source) {
    // the exact doubles from the text entry
    if (!c.has_meta("schedule.name")) fail(source + ": no entry 'schedule.name'");
    if (!c.has_meta("schedule.beta_f64")) fail(source + ": no entry 'schedule.beta_f64'");
    std::vector<double> beta;
    const std::string text = c.get_meta("schedule.beta_f64");
    const char* p = text.c_str();
    char* end = nullptr;
    for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
        beta.push_back(v);
        p = end;
    }
    const int64_t T = checkpoint_setting(c, setting::T, source);
    if (int64_t(beta.size()) != T + 1) fail(source + ": schedule has " + std::to_string(beta.size()) + " betas for T = " + std::to_string(T));
    return schedule_from_betas(c.get_meta("schedule.name"), beta);
}

void add_trainer_entries(Checkpoint& c, int batch, float lr, float ema_decay, double clip, uint64_t seed,
                         const TrainerState& state) {
    const Params& params = state.params;
    const Adam& adam = state.adam;
    const EMA& ema = state.ema;
    c.set_meta("train.batch", std::to_string(batch));
    c.set_meta("train.lr", fmt_exact(lr));
    c.set_meta("train.ema_decay", fmt_exact(ema_decay));
    c.set_meta("train.clip", fmt_exact(clip));
    c.set_meta("train.seed", std::to_string(seed));
    c.set_meta("train.step", std::to_string(state.step));
    c.set_meta("adam.t", std::to_string(adam.t));
    c.set_meta("ema.updates", std::to_string(ema.updates));
    c.set_meta("rng.index", std::to_string(state.index_rng.counter));
    c.set_meta("rng.t", std::to_string(state.t_rng.counter));
    c.set_meta("rng.eps", std::to_string(state.eps_rng.counter));
    add_params(c, params);
    for (size_t k = 0; k < params.size(); ++k) {
        const Shape& shape = params[k].tensor.shape();
        c.add_tensor("ema." + params[k].name, Tensor::from(shape, ema.shadow[k]));
        if (adam.m.size() == params.size()) {
            c.add_tensor("adam.m." + params[k].name, Tensor::from(shape, adam.m[k]));
            c.add_tensor("adam.v." + params[k].name, Tensor::from(shape, adam.v[k]));
        }
    }
}

namespace {

// The tensor `name` of the file into `out`, with the shape of `like`.
void copy_tensor(const Checkpoint& c, const std::string& name, const Tensor& like, std::vector<float>& out,
                 const std::string& source) {
    const Tensor* t = c.find_tensor(name);
    if (!t) fail(source + ": no tensor '" + name + "' (a checkpoint of another model?)");
    if (t->shape() != like.shape())
        fail(source + ": tensor '" + name + "' has shape " + t->shape().str() + ", the model needs " + like.shape().str());
    out.assign(t->data(), t->data() + t->numel());
}

}  // namespace

void read_trainer_state(const Checkpoint& c, const std::string& source, TrainerState& st) {
    read_params(c, st.params, source);
    for (size_t k = 0; k < st.params.size(); ++k)
        copy_tensor(c, "ema." + st.params[k].name, st.params[k].tensor, st.ema.shadow[k], source);
    st.step = counter(c, "train.step", source);
    st.adam.t = counter(c, "adam.t", source);
    st.ema.updates = counter(c, "ema.updates", source);
    // Adam's moments exist once it has stepped
    if (!st.params.empty() && c.find_tensor("adam.m." + st.params[0].name)) {
        st.adam.m.assign(st.params.size(), {});
        st.adam.v.assign(st.params.size(), {});
        for (size_t k = 0; k < st.params.size(); ++k) {
            copy_tensor(c, "adam.m." + st.params[k].name, st.params[k].tensor, st.adam.m[k], source);
            copy_tensor(c, "adam.v." + st.params[k].name, st.params[k].tensor, st.adam.v[k], source);
        }
    }
    st.index_rng.counter = uint64_t(counter(c, "rng.index", source));
    st.t_rng.counter = uint64_t(counter(c, "rng.t", source));
    st.eps_rng.counter = uint64_t(counter(c, "rng.eps", source));
}

Checkpoint trainer_checkpoint(const Trainer& tr) {
    Checkpoint c;
    const EpsModelConfig& m = tr.model.config;
    c.set_meta("model.dim", std::to_string(m.dim));
    c.set_meta("model.emb_dim", std::to_string(m.emb_dim));
    c.set_meta("model.hidden", std::to_string(m.hidden));
    c.set_meta("model.layers", std::to_string(m.layers));
    c.set_meta("model.residual", m.residual ? "1" : "0");
    c.set_meta("model.act", activation_name(m.act));
    add_schedule_entries(c, tr.schedule);
    add_trainer_entries(c, tr.config.batch, tr.config.lr, tr.config.ema_decay, tr.config.clip, tr.config.seed, tr);
    // only when set, so that a run without the decay writes the same file as before it existed
    if (tr.config.lr_decay_steps > 0) c.set_meta(setting::lr_decay_steps.key, std::to_string(tr.config.lr_decay_steps));
    return c;
}

Trainer trainer_from_checkpoint(const Checkpoint& c, const std::string& source) {
    check_trainer_entries(c, source);  // before anything is allocated
    EpsModelConfig m;
    m.dim = int(checkpoint_setting(c, setting::columns, source));
    m.emb_dim = int(checkpoint_setting(c, setting::emb_dim, source));
    m.hidden = int(checkpoint_setting(c, setting::hidden, source));
    m.layers = int(checkpoint_setting(c, setting::layers, source));
    m.residual = checkpoint_setting(c, IntSetting{nullptr, "model.residual", 0, 1, 0}, source) == 1;
    m.act = parse_activation(c.get_meta("model.act"));
    Schedule s = schedule_from_entries(c, source);
    TrainConfig tc;
    tc.batch = int(checkpoint_setting(c, setting::batch, source));
    tc.lr = float(checkpoint_setting(c, setting::lr, source));
    tc.ema_decay = float(checkpoint_setting(c, setting::ema, source));
    tc.clip = std::strtod(c.get_meta("train.clip").c_str(), nullptr);
    tc.seed = uint64_t(checkpoint_setting(c, setting::seed, source));
    if (c.has_meta(setting::lr_decay_steps.key)) tc.lr_decay_steps = checkpoint_setting(c, setting::lr_decay_steps, source);
    Trainer tr(m, tc, s);
    read_trainer_state(c, source, tr);
    return tr;
}

}  // namespace ddpm
