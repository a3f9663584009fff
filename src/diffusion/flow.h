// flow.h: flow matching with the straight path (Lipman et al. 2023, "Flow matching for generative
// modeling"; Liu et al. 2023, "Flow straight and fast", rectified flow), for lesson 13. The lesson's
// README has the maths; its equation numbers are used here.
//
// A pair (x_0, eps), x_0 from the data and eps ~ N(0, I), is joined by the straight line
//
//   x_s = (1 - s) x_0 + s eps,   s in [0, 1]   (data at s = 0, noise at s = 1)          (13.1)
//
// whose velocity d x_s / d s is the same at every s:
//
//   v = eps - x_0.                                                                      (13.2)
//
// The network v_theta(x_s, s) is trained to predict it, L = E || v_theta(x_s, s) - (eps - x_0) ||^2
// (13.3), and the ODE d x / d s = v_theta(x, s) is solved from noise at s = 1 to data at s = 0.
//
// The network is the toy eps-model of nets/eps_mlp.h, unchanged, with its timestep input: it sees
// t = s T (T = 1000), and training draws t uniformly from the integers 0..T, so s = t / T takes the
// values 0, 1/T, ..., 1. The ODE's grids use those values (flow_grid), which lets sampling use the
// fast shared-timestep forward of the eps-model. s = 0 is among them (x_s = x_0 there, and the best
// velocity is -x_0 + E[eps] = -x), so the network is trained where Heun's last call lands: Heun runs
// to s = 0 with its second call, 2 N calls for N steps (EDM's Euler last step, which lesson 12's
// ode.h keeps because its slope is undefined at sigma = 0, is not needed here).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "diffusion/train.h"
#include "diffusion/trainer_state.h"
#include "nets/eps_mlp.h"

namespace ddpm {

// The number of timesteps s is resolved to: the network sees t = s kFlowT.
constexpr int kFlowT = 1000;

// (13.3) averaged over the batch and the coordinates: row b at s = t[b] / T,
//   x_s = (1 - s) x_0 + s eps,   loss = mse(v_theta(x_s, t), eps - x_0).
// x0 and eps are (B, dim); t holds B integers in 0..T. When `prediction` is given, the network's
// output is stored there too. Task L13.1.
Tensor flow_loss(const EpsModel& model, const Tensor& x0, const std::vector<int>& t, const Tensor& eps, int T,
                 Tensor* prediction = nullptr);

// (13.1)-(13.2) on rows of any length: row b at s = t[b] / T,
//   x_s = (1 - s) x_0 + s eps,   v = eps - x_0,
// x_s, v, x0, eps are (rows, dim); t holds rows integers in 0..T (checked). The image trainer's step
// (image_train.h, objective Flow) builds its batch with it.
void flow_path_rows(float* x_s, float* v, const float* x0, const float* eps, const int* t, int rows, int64_t dim, int T);

// One step of flow matching on any trainer's state (a FlowTrainer's, or the ddpm tool's Trainer, whose
// file then says "model.objective flow"): a batch drawn with replacement from data (n rows), t ~ U{0..T},
// eps ~ N(0, I) from the state's streams, the loss (13.3), clipping, Adam at config's learning rate of
// this step, EMA. With `paired_noise` (n rows, reflow), row i of the data is joined to row i of it
// instead of fresh noise.
StepStats flow_train_step(TrainerState& state, const TrainConfig& config, const EpsModel& model, int T,
                          const float* data, int n, const float* paired_noise = nullptr);

// Random streams of flow training (TrainConfig::seed), the same numbers as train.h's: a flow model
// and an eps model of one seed start from the same weights and draw the same rows and noise.
struct FlowTrainer : TrainerState {
    TrainConfig config;
    int T = kFlowT;
    EpsModel model;

    FlowTrainer(const EpsModelConfig& model_config, const TrainConfig& config, int T = kFlowT);
    // flow_train_step on this trainer
    StepStats train_step(const float* data, int n, const float* paired_noise = nullptr);
    EpsModel ema_model() const;
};

// Something that gives the velocity of rows of x, all at the same s: v_out, x are (rows, dim).
using VelocityFunction = std::function<void(float* v_out, const float* x, int rows, double s)>;
// The network as a VelocityFunction at t = s T, s on the grid of T (fails otherwise); rows in fixed
// chunks over the threads (sampler.h's model_eps_function): the same bits for any thread count. It
// keeps a reference to model, which must outlive it.
VelocityFunction model_velocity_function(const EpsModel& model, int T = kFlowT);

// N steps from s = 1 to s = 0: s_i = round((N - i) T / N) / T for i = 0..N, strictly decreasing
// (1 <= steps <= T). With N dividing T they are the uniform s = (N - i) / N.
std::vector<double> flow_grid(int steps, int T = kFlowT);

enum class FlowSolver { Euler, Heun };
const char* flow_solver_name(FlowSolver s);  // "euler", "heun"

// One step from s to s_next < s on x (n values), with v = v(x, s) already computed:
//   Euler (13.6): x <- x + (s_next - s) v.
void flow_euler_step(float* x, int64_t n, double s, double s_next, const float* v);
//   Heun (13.7): the Euler step to a trial point, one more call there, at s_next, and the step again
//   from x with the mean of the two velocities. probe and v_next are n floats of scratch (on return:
//   the trial point and the velocity there).
void flow_heun_step(float* x, int rows, int dim, const VelocityFunction& velocity, double s, double s_next,
                    const float* v, float* probe, float* v_next);

// Solves d x / d s = v(x, s) on x (rows, dim) over the grid (grid[0] > grid[1] > ... , in [0, 1]),
// from x at grid[0] to x at grid.back(). Returns the calls of `velocity` made: N for Euler, 2 N for
// Heun, N = grid.size() - 1. When `record` is given it is called as record(k, x) with x at grid[k],
// k = 0..N.
int flow_solve(float* x, int rows, int dim, const VelocityFunction& velocity, const std::vector<double>& grid,
               FlowSolver solver, const std::function<void(int, const float*)>& record = {});

// The conversions of (13.8)-(13.10), value by value (n values), at s in (0, 1):
//   from a velocity:  x0_hat = x_s - s v,          eps_hat = x_s + (1 - s) v;
//   from a noise prediction eps_hat at the same point: x0_hat = (x_s - s eps_hat) / (1 - s), v = (eps_hat - x_s) / (1 - s).
void flow_x0_eps_from_v(float* x0, float* eps, const float* x_s, const float* v, int64_t n, double s);
void flow_v_from_eps(float* v, const float* x_s, const float* eps, int64_t n, double s);

}  // namespace ddpm
