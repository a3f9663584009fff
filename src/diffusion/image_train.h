// image_train.h: Algorithm 1 of Ho et al. (2020) on images, for the networks of src/nets/ (ImageModel).
//
// The same recipe as train.h's Trainer on vectors: x_0 from the data, t ~ U{1..T}, eps ~ N(0, I),
// a step of Adam on || eps - eps_theta(sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps, t) ||^2, clipping, EMA;
// here x_0 is a batch of (1, 28, 28) images and eps_theta is [003]'s CNN or the small U-Net.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/optim.h"
#include "diffusion/cold.h"
#include "diffusion/flow.h"
#include "diffusion/images.h"
#include "diffusion/sampler.h"
#include "diffusion/schedule.h"
#include "diffusion/trainer_state.h"
#include "nets/image_model.h"

namespace ddpm {

// What the network is trained to predict. Eps: the noise, Algorithm 1 of Ho et al. (2020). Flow: the
// velocity of flow matching's straight path (Lipman et al. 2023; lesson 13, diffusion/flow.h): row b at
// s = t[b] / T with t ~ U{0..T} (T = the schedule's T, whose betas are then not used),
//   x_s = (1 - s) x_0 + s eps  (13.1),   target v = eps - x_0  (13.2),   loss mse(net(x_s, t), v)  (13.3),
// the network's time input fed t = s T as flow.h feeds the toy MLP's. X0 and V: lesson 11's other
// targets (objectives.h), which the tool samples (converted to eps at every call) but does not train:
// they come from src/torch/train.py through `ddpm import`, and train_step refuses them.
enum class ImageObjective { Eps, Flow, X0, V };
const char* image_objective_name(ImageObjective o);  // "eps", "flow", "x0", "v"

struct ImageTrainConfig {
    int batch = 128;
    float lr = 2e-4f;          // [003]'s Adam learning rate
    float ema_decay = 0.999f;  // with the warm-up of optim.h
    double clip = 1.0;
    uint64_t seed = 0;
    UNetConfig unet;           // the U-Net's block kind and widths (arch = UNet only)
    // blur_T > 0: cold diffusion instead of noise ([003] §3.3, cold.h): z_t = D(x_0, t) with
    // blur_process(blur_T, blur_beta, blur_taps), t ~ U{1..blur_T}, and the network predicts x_0
    // (MSE against x_0); the schedule is not used.
    int blur_T = 0;
    double blur_beta = 1.0;
    int blur_taps = 11;
    // unet.classes > 0: classifier-free guidance's training (Ho and Salimans 2022, Algorithm 1): each
    // image's label, replaced by "no label" with probability label_drop
    float label_drop = 0.1f;
    // Flow: flow matching's velocity (unconditional noise models only: no blur_T, no classes)
    ImageObjective objective = ImageObjective::Eps;
};

enum ImageTrainStream : uint64_t {
    kImageInit = 80, kImageIndex = 81, kImageTimestep = 82, kImageNoise = 83, kImageLabelDrop = 84
};

// params, adam, ema, step and the three streams are TrainerState's (trainer_state.h).
struct ImageTrainer : TrainerState {
    ImageTrainConfig config;
    Schedule schedule;
    ImageModel model;
    Rng drop_rng;      // the labels' dropping, when the U-Net is conditional
    BlurProcess blur;  // when config.blur_T > 0

    ImageTrainer(ImageArch arch, const ImageTrainConfig& config, Schedule schedule);
    // One step on a batch drawn (with replacement) from data.image(rows[k]); returns the loss.
    float train_step(const ImageSet& data, const std::vector<int>& rows);
    ImageModel ema_model() const;
};

// L_simple of `model` on n fixed triples (x_0 = data.image(rows[k % rows.size()]), t and eps drawn
// from Rng(seed, ...)), without a graph: the validation and test loss, the same triples every call.
double image_eval_loss(const ImageModel& model, const Schedule& s, const ImageSet& data, const std::vector<int>& rows,
                       int n, uint64_t seed);

// The cold-diffusion loss: the mean over n fixed pairs (x_0 = data.image(rows[k % rows.size()]), t
// from Rng(seed, ...)) of || R(D(x_0, t), t) - x_0 ||^2 / 784, without a graph.
double cold_eval_loss(const ImageModel& model, const BlurProcess& p, const ImageSet& data, const std::vector<int>& rows,
                      int n, uint64_t seed);

// The network as an EpsFunction over rows of one image each (rows, 784), in batches of 64, no graph.
EpsFunction image_eps_function(const ImageModel& model);

// Rows of x_t (rows, 784) in batches of 64 images, with no graph recorded: f(begin, count, the batch
// as a (count, 1, 28, 28) tensor). Guidance (guidance.h) runs its two predictions through it.
using ImageBatchFunction = std::function<void(int begin, int count, const Tensor& batch)>;
void for_image_batches(const float* x_t, int rows, const ImageBatchFunction& f);

// Flow matching on images (config.objective = Flow): the network as flow.h's VelocityFunction at
// t = s T, s on the grid of T (fails otherwise), rows of one image each (rows, 784) in batches of 64,
// no graph; the same bits for any thread count.
VelocityFunction image_velocity_function(const ImageModel& model, int T);

// Euler (13.6) or Heun (13.7) on d x / d s = v(x, s) from s = 1 to s = 0 in `steps` equal steps of s
// (flow.h's flow_grid), on x (rows, 784), which holds x at s = 1 (noise) on entry and the images on
// return (not clipped). Returns the network calls: steps for Euler, 2 steps for Heun. `progress`, when
// given, is called with the calls made so far after each step.
int image_flow_sample(float* x, int rows, const ImageModel& model, int T, int steps, FlowSolver solver,
                      const std::function<void(int calls)>& progress = {});

// The flow-matching loss (13.3) of `model` on n fixed triples (x_0 = data.image(rows[k % rows.size()]),
// t in 0..T and eps drawn from Rng(seed, ...) as image_eval_loss draws them), without a graph.
double image_flow_eval_loss(const ImageModel& model, int T, const ImageSet& data, const std::vector<int>& rows, int n,
                            uint64_t seed);

// 80/20: a seeded permutation of 0..n-1 cut into its first 80% (training) and the rest (validation).
void split_80_20(int n, uint64_t seed, std::vector<int>& train_rows, std::vector<int>& val_rows);

}  // namespace ddpm
