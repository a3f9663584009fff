#include "diffusion/flow.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/io.h"
#include "core/ops.h"
#include "diffusion/sampler.h"

namespace ddpm {

Tensor flow_loss(const EpsModel& model, const Tensor& x0, const std::vector<int>& t, const Tensor& eps, int T,
                 Tensor* prediction) {
    const int B = x0.dim(0), dim = x0.dim(1);
    if (eps.shape() != x0.shape()) fail("flow_loss: eps " + eps.shape().str() + " and x0 " + x0.shape().str());
    if (int(t.size()) != B) fail("flow_loss: " + std::to_string(t.size()) + " timesteps for " + std::to_string(B) + " rows");
    for (int tb : t)
        if (tb < 0 || tb > T) fail("flow_loss: timestep " + std::to_string(tb) + " outside 0..T = " + std::to_string(T));
    // BEGIN SOLUTION L13.1
    // (13.1) the point on each pair's straight line, (13.2) its velocity
    Tensor x_s = Tensor::zeros(Shape{B, dim}), v = Tensor::zeros(Shape{B, dim});
    for (int b = 0; b < B; ++b) {
        const double s = double(t[size_t(b)]) / T;
        for (int d = 0; d < dim; ++d) {
            const int i = b * dim + d;
            x_s.data()[i] = float((1.0 - s) * x0.data()[i] + s * eps.data()[i]);
            v.data()[i] = eps.data()[i] - x0.data()[i];
        }
    }
    Tensor pred = model.forward(x_s, std::vector<float>(t.begin(), t.end()));
    if (prediction) *prediction = pred;
    return mse(pred, v);
    // END SOLUTION
}

void flow_path_rows(float* x_s, float* v, const float* x0, const float* eps, const int* t, int rows, int64_t dim, int T) {
    for (int b = 0; b < rows; ++b) {
        if (t[b] < 0 || t[b] > T)
            fail("flow_path_rows: timestep " + std::to_string(t[b]) + " outside 0..T = " + std::to_string(T));
        const double s = double(t[b]) / T;
        for (int64_t d = 0; d < dim; ++d) {
            const int64_t i = int64_t(b) * dim + d;
            x_s[i] = float((1.0 - s) * x0[i] + s * eps[i]);
            v[i] = eps[i] - x0[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// FlowTrainer
// ---------------------------------------------------------------------------------------------
namespace {

EpsModel make_flow_model(const EpsModelConfig& c, uint64_t seed) {
    Rng init(seed, kInitStream);
    return EpsModel(c, init);
}

}  // namespace

FlowTrainer::FlowTrainer(const EpsModelConfig& model_config, const TrainConfig& c, int T_)
    : config(c), T(T_), model(make_flow_model(model_config, c.seed)) {
    if (c.batch < 1 || c.batch > kMaxBatch)
        fail("batch must be from 1 to " + std::to_string(kMaxBatch) + ", got " + std::to_string(c.batch));
    if (!(c.lr > 0.0f) || !std::isfinite(c.lr)) fail("learning rate must be positive and finite, got " + fmt_g(c.lr));
    if (T < 1) fail("FlowTrainer: T must be at least 1, got " + std::to_string(T));
    start(model.params(), c.lr, c.ema_decay, c.seed, kIndexStream, kTimestepStream, kNoiseStream);
}

StepStats FlowTrainer::train_step(const float* data, int n, const float* paired_noise) {
    return flow_train_step(*this, config, model, T, data, n, paired_noise);
}

StepStats flow_train_step(TrainerState& state, const TrainConfig& config, const EpsModel& model, int T,
                          const float* data, int n, const float* paired_noise) {
    const int B = config.batch, dim = model.config.dim;
    if (n < 1) fail("train_step: no data");
    StepStats stats;
    Tensor x0 = Tensor::zeros(Shape{B, dim}), eps = Tensor::zeros(Shape{B, dim});
    stats.t.resize(size_t(B));
    state.adam.config.lr = step_lr(config, state.step);
    for (int b = 0; b < B; ++b) {
        const int row = state.index_rng.randint(0, n - 1);
        for (int d = 0; d < dim; ++d) {
            x0.data()[b * dim + d] = data[int64_t(row) * dim + d];
            if (paired_noise) eps.data()[b * dim + d] = paired_noise[int64_t(row) * dim + d];
        }
    }
    state.t_rng.fill_randint(stats.t.data(), B, 0, T);
    if (!paired_noise) state.eps_rng.fill_normal(eps.data(), eps.numel());
    zero_grad(state.params);
    Tensor prediction;
    Tensor loss = flow_loss(model, x0, stats.t, eps, T, &prediction);
    backward(loss);
    stats.grad_norm = state.update(config.clip);
    stats.loss = loss.item();
    stats.row_loss.resize(size_t(B));
    for (int b = 0; b < B; ++b) {
        double sum = 0.0;
        for (int d = 0; d < dim; ++d) {
            const int i = b * dim + d;
            const double diff = double(prediction.data()[i]) - (double(eps.data()[i]) - x0.data()[i]);
            sum += diff * diff;
        }
        stats.row_loss[size_t(b)] = float(sum / dim);
    }
    return stats;
}

EpsModel FlowTrainer::ema_model() const {
    EpsModel copy = make_flow_model(model.config, config.seed);
    Params p = copy.params();
    ema.copy_to(p);
    return copy;
}

// ---------------------------------------------------------------------------------------------
// Sampling: the ODE d x / d s = v(x, s) from s = 1 to s = 0
// ---------------------------------------------------------------------------------------------

VelocityFunction model_velocity_function(const EpsModel& model, int T) {
    const EpsFunction net = model_eps_function(model);
    return [net, T](float* v_out, const float* x, int rows, double s) {
        const double st = s * T;
        const int t = int(std::lround(st));
        if (!(s >= 0.0 && s <= 1.0) || std::fabs(st - t) > 1e-6)
            fail("model_velocity_function: s = " + fmt_g(s) + " is not on the network's grid t / " + std::to_string(T));
        net(v_out, x, rows, t);
    };
}

std::vector<double> flow_grid(int steps, int T) {
    if (steps < 1 || steps > T)
        fail("flow_grid: steps must be in [1, T = " + std::to_string(T) + "], got " + std::to_string(steps));
    std::vector<double> grid;
    for (int i = 0; i <= steps; ++i) {
        const int64_t t = (int64_t(steps - i) * T * 2 + steps) / (int64_t(2) * steps);  // round((N - i) T / N)
        grid.push_back(double(t) / T);
    }
    return grid;
}

const char* flow_solver_name(FlowSolver s) { return s == FlowSolver::Euler ? "euler" : "heun"; }

void flow_euler_step(float* x, int64_t n, double s, double s_next, const float* v) {
    const double h = s_next - s;  // negative: towards the data
    for (int64_t i = 0; i < n; ++i) x[i] = float(x[i] + h * v[i]);
}

void flow_heun_step(float* x, int rows, int dim, const VelocityFunction& velocity, double s, double s_next,
                    const float* v, float* probe, float* v_next) {
    if (!(s_next < s)) fail("flow_heun_step: needs s_next < s, got s = " + fmt_g(s) + ", s_next = " + fmt_g(s_next));
    const int64_t n = int64_t(rows) * dim;
    const double h = s_next - s;
    for (int64_t i = 0; i < n; ++i) probe[i] = float(x[i] + h * v[i]);
    velocity(v_next, probe, rows, s_next);
    for (int64_t i = 0; i < n; ++i) x[i] = float(x[i] + h * 0.5 * (double(v[i]) + v_next[i]));
}

int flow_solve(float* x, int rows, int dim, const VelocityFunction& velocity, const std::vector<double>& grid,
               FlowSolver solver, const std::function<void(int, const float*)>& record) {
    if (grid.size() < 2) fail("flow_solve: the grid needs at least two values of s");
    for (size_t k = 0; k < grid.size(); ++k)
        if (!(grid[k] >= 0.0 && grid[k] <= 1.0) || (k > 0 && !(grid[k] < grid[k - 1])))
            fail("flow_solve: the grid must decrease strictly within [0, 1]");
    const int64_t n = int64_t(rows) * dim;
    std::vector<float> v(static_cast<size_t>(n)), probe, v_next;
    if (solver == FlowSolver::Heun) probe.resize(size_t(n)), v_next.resize(size_t(n));
    if (record) record(0, x);
    int calls = 0;
    for (size_t k = 0; k + 1 < grid.size(); ++k) {
        velocity(v.data(), x, rows, grid[k]);
        ++calls;
        if (solver == FlowSolver::Euler) {
            flow_euler_step(x, n, grid[k], grid[k + 1], v.data());
        } else {
            flow_heun_step(x, rows, dim, velocity, grid[k], grid[k + 1], v.data(), probe.data(), v_next.data());
            ++calls;
        }
        if (record) record(int(k) + 1, x);
    }
    return calls;
}

void flow_x0_eps_from_v(float* x0, float* eps, const float* x_s, const float* v, int64_t n, double s) {
    for (int64_t i = 0; i < n; ++i) {
        if (x0) x0[i] = float(x_s[i] - s * v[i]);
        if (eps) eps[i] = float(x_s[i] + (1.0 - s) * v[i]);
    }
}

void flow_v_from_eps(float* v, const float* x_s, const float* eps, int64_t n, double s) {
    if (!(s < 1.0)) fail("flow_v_from_eps: s must be below 1, got " + fmt_g(s));
    for (int64_t i = 0; i < n; ++i) v[i] = float((double(eps[i]) - x_s[i]) / (1.0 - s));
}

}  // namespace ddpm
