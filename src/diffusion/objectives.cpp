#include "diffusion/objectives.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/dmath.h"
#include "core/io.h"
#include "core/ops.h"
#include "core/pool.h"
#include "diffusion/diffusion.h"
#include "diffusion/sampler.h"

namespace ddpm {

const char* target_name(Target t) {
    switch (t) {
        case Target::Eps: return "eps";
        case Target::X0: return "x0";
        case Target::V: return "v";
    }
    return "?";
}

std::string describe(const ObjectiveConfig& o) {
    std::string s = target_name(o.target);
    if (o.min_snr_gamma > 0) s += ", min-SNR-" + fmt_g(o.min_snr_gamma);
    if (o.learned_variance) s += " + learned variance";
    return s;
}

double min_snr_weight(Target target, double snr, double gamma) {
    const double m = std::min(snr, gamma);
    switch (target) {
        case Target::Eps: return m / snr;
        case Target::X0: return m;
        case Target::V: return m / (snr + 1.0);
    }
    return 1.0;
}

void eps_from_prediction(float* eps, const float* x_t, const float* pred, int64_t n, Target target, double alpha_bar) {
    const double a = std::sqrt(alpha_bar), b = std::sqrt(1.0 - alpha_bar);
    switch (target) {
        case Target::Eps:
            std::copy(pred, pred + n, eps);
            return;
        case Target::X0:
            for (int64_t i = 0; i < n; ++i) eps[i] = float((x_t[i] - a * pred[i]) / b);
            return;
        case Target::V: eps_from_v(eps, x_t, pred, n, alpha_bar); return;
    }
}

EpsFunction eps_from_target_function(EpsFunction predict, Target target, const Schedule& s, int dim) {
    if (target == Target::Eps) return predict;
    return [predict = std::move(predict), target, &s, dim](float* eps_out, const float* x_t, int rows, int t) {
        if (t < 1 || t > s.T) fail("eps_from_target_function: t = " + std::to_string(t) + " outside 1..T");
        std::vector<float> pred(size_t(rows) * size_t(dim));
        predict(pred.data(), x_t, rows, t);
        eps_from_prediction(eps_out, x_t, pred.data(), int64_t(rows) * dim, target, s.alpha_bar[size_t(t)]);
    };
}

bool parse_target(const std::string& name, Target& out) {
    for (Target t : {Target::Eps, Target::X0, Target::V})
        if (name == target_name(t)) {
            out = t;
            return true;
        }
    return false;
}

namespace {

EpsModel make_objective_model(const EpsModelConfig& c, const ObjectiveConfig& o, uint64_t seed) {
    Rng init(seed, kInitStream);
    EpsModel m(c, init);
    // [prediction | v]: the last layer twice as wide, drawn after the others from the same stream
    if (o.learned_variance) {
        if (c.residual) fail("ObjectiveTrainer: a learned variance needs the plain MLP");
        m.plain.layers.back() = Linear(c.hidden, 2 * c.dim, init);
    }
    return m;
}

}  // namespace

ObjectiveTrainer::ObjectiveTrainer(const EpsModelConfig& model_config, const ObjectiveConfig& o, const TrainConfig& c,
                                   Schedule s)
    : objective(o),
      config(c),
      schedule(std::move(s)),
      model(make_objective_model(model_config, o, c.seed)) {
    start(model.params(), c.lr, c.ema_decay, c.seed, kIndexStream, kTimestepStream, kNoiseStream);
}

float ObjectiveTrainer::train_step(const float* data, int n) {
    const int B = config.batch, dim = model.config.dim, out_dim = objective.learned_variance ? 2 * dim : dim;
    const Schedule& s = schedule;
    if (n < 1) fail("train_step: no data");
    std::vector<float> x0(size_t(B) * dim), eps(size_t(B) * dim), x_t(size_t(B) * dim);
    std::vector<int> t(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) {
        const int row = index_rng.randint(0, n - 1);
        for (int d = 0; d < dim; ++d) x0[size_t(b * dim + d)] = data[int64_t(row) * dim + d];
    }
    t_rng.fill_randint(t.data(), B, 1, s.T);
    eps_rng.fill_normal(eps.data(), int64_t(eps.size()));
    q_sample_rows(x_t.data(), x0.data(), eps.data(), t.data(), B, dim, s);
    zero_grad(params);
    const Tensor out = model.forward(Tensor::from({B, dim}, x_t), std::vector<float>(t.begin(), t.end()));
    // The loss's gradient with respect to the network's outputs, G, written out by hand: the loss
    // value is computed beside it, and backward runs through sum(out * G), whose gradient is G.
    std::vector<float> grad(size_t(B) * out_dim, 0.0f);
    double loss = 0.0;
    const double per = 1.0 / (double(B) * dim);
    for (int b = 0; b < B; ++b) {
        const int tb = t[size_t(b)];
        const double ab = s.alpha_bar[size_t(tb)], a = std::sqrt(ab), sd = std::sqrt(1.0 - ab);
        const double w = objective.min_snr_gamma > 0 ? min_snr_weight(objective.target, s.snr[size_t(tb)], objective.min_snr_gamma) : 1.0;
        for (int d = 0; d < dim; ++d) {
            const size_t i = size_t(b * dim + d);
            double target = eps[i];
            if (objective.target == Target::X0) target = x0[i];
            if (objective.target == Target::V) target = a * eps[i] - sd * x0[i];
            const double diff = double(out.data()[b * out_dim + d]) - target;
            loss += w * diff * diff * per;
            grad[size_t(b * out_dim + d)] = float(2.0 * w * diff * per);
        }
        if (!objective.learned_variance) continue;
        // L_vlb's term at tb through v only: the mean (from the detached prediction) is a constant
        const double c = s.beta[size_t(tb)] / (std::sqrt(s.alpha[size_t(tb)]) * sd);
        const double dlv_dv = dmath::log(s.beta[size_t(tb)]) - dmath::log(s.beta_tilde[size_t(tb == 1 ? 2 : tb)]);
        const double scale = objective.vlb_weight * s.T * per;
        for (int d = 0; d < dim; ++d) {
            const size_t i = size_t(b * dim + d);
            float e_hat;
            const float pred = out.data()[b * out_dim + d];
            eps_from_prediction(&e_hat, &x_t[i], &pred, 1, objective.target, ab);
            const double gap = c * (double(e_hat) - eps[i]);
            const double v = out.data()[b * out_dim + dim + d];
            const double lv = reverse_logvar(s, tb, BoundVariance::Learned, v);
            double term, dterm_dlv;
            if (tb >= 2) {
                const double lt = dmath::log(s.beta_tilde[size_t(tb)]);
                term = normal_kl(gap, lt, 0.0, lv);
                dterm_dlv = 0.5 * (1.0 - (s.beta_tilde[size_t(tb)] + gap * gap) * dmath::exp(-lv));
            } else {
                term = -normal_log_density(x0[i], x0[i] - gap, lv);
                dterm_dlv = 0.5 * (1.0 - gap * gap * dmath::exp(-lv));
            }
            loss += scale * term;
            grad[size_t(b * out_dim + dim + d)] = float(scale * dterm_dlv * dlv_dv);
        }
    }
    Tensor surrogate = sum(mul(out, Tensor::from({B, out_dim}, grad)));
    backward(surrogate);
    update(config.clip);
    return float(loss);
}

EpsModel ObjectiveTrainer::ema_model() const {
    EpsModel copy = make_objective_model(model.config, objective, config.seed);
    Params p = copy.params();
    ema.copy_to(p);
    return copy;
}

ReversePrediction objective_prediction(const EpsModel& model, const ObjectiveConfig& objective, const Schedule& s) {
    return [&model, objective, &s](float* eps_out, float* v_out, const float* x_t, int rows, int t) {
        const int dim = model.config.dim, out_dim = objective.learned_variance ? 2 * dim : dim;
        const int chunk = 512;
        const int64_t n_chunks = (rows + chunk - 1) / chunk;
        const double ab = s.alpha_bar[size_t(t)];
        parallel_for(n_chunks, [&](int64_t k) {
            const int begin = int(k) * chunk, count = std::min(chunk, rows - begin);
            std::vector<float> pred(size_t(count) * out_dim);
            if (!objective.learned_variance) {
                eps_forward_shared_t(model, pred.data(), x_t + int64_t(begin) * dim, count, t);
            } else {
                NoGrad no_grad;
                const Tensor x = Tensor::from({count, dim}, std::vector<float>(x_t + int64_t(begin) * dim,
                                                                              x_t + int64_t(begin + count) * dim));
                const Tensor out = model.forward(x, std::vector<float>(size_t(count), float(t)));
                std::copy(out.data(), out.data() + out.numel(), pred.begin());
            }
            for (int r = 0; r < count; ++r) {
                const int64_t row = begin + r;
                eps_from_prediction(eps_out + row * dim, x_t + row * dim, pred.data() + int64_t(r) * out_dim, dim,
                                    objective.target, ab);
                if (v_out) {
                    for (int d = 0; d < dim; ++d)
                        v_out[row * dim + d] = objective.learned_variance ? pred[size_t(r * out_dim + dim + d)] : 0.0f;
                }
            }
        });
    };
}

void respaced_sample(float* x, int rows, int dim, const Schedule& s, const ReversePrediction& predict,
                     BoundVariance variance, const std::vector<int>& tau, uint64_t seed) {
    if (tau.empty() || tau.back() != s.T) fail("respaced_sample: the timesteps must end at T");
    for (size_t i = 1; i < tau.size(); ++i)
        if (tau[i] <= tau[i - 1] || tau[0] < 1) fail("respaced_sample: the timesteps must increase from 1 or more");
    const int64_t n = int64_t(rows) * dim;
    std::vector<float> eps(static_cast<size_t>(n)), v(static_cast<size_t>(n)), z(static_cast<size_t>(n));
    Rng rng(seed, kSampleStream);
    for (int i = int(tau.size()) - 1; i >= 0; --i) {
        const int t = tau[size_t(i)];
        const double ab = s.alpha_bar[size_t(t)], ab_prev = i > 0 ? s.alpha_bar[size_t(tau[size_t(i - 1)])] : 1.0;
        const double beta = 1.0 - ab / ab_prev;
        const double tilde = (1.0 - ab_prev) / (1.0 - ab) * beta;
        predict(eps.data(), variance == BoundVariance::Learned ? v.data() : nullptr, x, rows, t);
        const double coef = beta / std::sqrt(1.0 - ab), scale = 1.0 / std::sqrt(1.0 - beta);
        const bool last = i == 0;
        if (!last) rng.fill_normal(z.data(), n);
        const double log_beta = dmath::log(beta), log_tilde = last ? 0.0 : dmath::log(tilde);
        for (int64_t k = 0; k < n; ++k) {
            double next = scale * (x[k] - coef * eps[size_t(k)]);
            if (!last) {
                double var = variance == BoundVariance::Beta ? beta : tilde;
                if (variance == BoundVariance::Learned)
                    var = dmath::exp(v[size_t(k)] * log_beta + (1.0 - v[size_t(k)]) * log_tilde);
                next += std::sqrt(var) * z[size_t(k)];
            }
            x[k] = float(next);
        }
    }
}

}  // namespace ddpm
