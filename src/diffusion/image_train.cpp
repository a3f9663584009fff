#include "diffusion/image_train.h"

#include <algorithm>

#include <cmath>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"
#include "core/ops.h"
#include "diffusion/diffusion.h"
#include "diffusion/guidance.h"
#include "diffusion/train.h"

namespace ddpm {

namespace {
const int kEvalBatch = 64;
enum EvalStream : uint64_t { kEvalT = 90, kEvalEps = 91, kSplit = 92 };
}  // namespace

const char* image_objective_name(ImageObjective o) {
    switch (o) {
        case ImageObjective::Eps: return "eps";
        case ImageObjective::Flow: return "flow";
        case ImageObjective::X0: return "x0";
        case ImageObjective::V: return "v";
    }
    return "?";
}

ImageTrainer::ImageTrainer(ImageArch arch, const ImageTrainConfig& c, Schedule s)
    : config(c), schedule(std::move(s)), drop_rng(c.seed, kImageLabelDrop) {
    if (!(c.label_drop >= 0.0f && c.label_drop <= 1.0f)) fail("ImageTrainer: label_drop is not in [0, 1]");
    if (c.objective == ImageObjective::Flow && (c.blur_T > 0 || c.unet.classes > 0))
        fail("ImageTrainer: the flow objective is for unconditional noise models (no blur process, no classes)");
    Rng init(c.seed, kImageInit);
    model = ImageModel(arch, init, c.unet);
    start(model.params(), c.lr, c.ema_decay, c.seed, kImageIndex, kImageTimestep, kImageNoise);
    if (c.blur_T > 0) blur = blur_process(c.blur_T, c.blur_beta, c.blur_taps);
}

float ImageTrainer::train_step(const ImageSet& data, const std::vector<int>& rows) {
    if (rows.empty()) fail("ImageTrainer: no training rows");
    if (config.objective == ImageObjective::X0 || config.objective == ImageObjective::V)
        fail(std::string("ImageTrainer: the ") + image_objective_name(config.objective) +
             " objective is sampled here, not trained (src/torch/train.py trains it)");
    const int B = config.batch;
    const int64_t D = data.image_size();
    Tensor x0 = Tensor::zeros(Shape{B, data.c, data.h, data.w});
    Tensor eps = Tensor::zeros(x0.shape());
    const int classes = model.classes();
    if (classes > 0 && data.labels.size() != size_t(data.n))
        fail("ImageTrainer: a class-conditional model needs the images' labels");
    std::vector<int> labels(classes > 0 ? size_t(B) : 0);
    for (int b = 0; b < B; ++b) {
        const int row = rows[size_t(index_rng.randint(0, int(rows.size()) - 1))];
        std::copy(data.image(row), data.image(row) + D, x0.data() + b * D);
        if (classes > 0) {
            labels[size_t(b)] = data.labels[size_t(row)];
            if (labels[size_t(b)] < 0 || labels[size_t(b)] >= classes)
                fail("ImageTrainer: image " + std::to_string(row) + " has label " + std::to_string(labels[size_t(b)]) +
                     ", not in 0.." + std::to_string(classes - 1));
        }
    }
    if (classes > 0) drop_labels(labels, config.label_drop, drop_rng);  // guidance.h
    std::vector<int> t(static_cast<size_t>(B));
    const bool cold = config.blur_T > 0, flow = config.objective == ImageObjective::Flow;
    if (cold && (data.c != 1 || data.h != blur.H || data.w != blur.W))
        fail("ImageTrainer: the blur process is for 1 x " + std::to_string(blur.H) + " x " + std::to_string(blur.W) +
             " images");
    Tensor xt = Tensor::zeros(x0.shape());
    Tensor velocity;  // flow: the target eps - x_0
    if (cold) {
        cold_training_batch(xt.data(), t.data(), x0.data(), B, blur, t_rng);  // cold.h: the target is x_0
    } else if (flow) {
        // t ~ U{0..T}: s = t / T takes the values 0, 1/T, ..., 1 (flow.h says why s = 0 is among them)
        t_rng.fill_randint(t.data(), B, 0, schedule.T);
        eps_rng.fill_normal(eps.data(), eps.numel());
        velocity = Tensor::zeros(x0.shape());
        flow_path_rows(xt.data(), velocity.data(), x0.data(), eps.data(), t.data(), B, D, schedule.T);  // (13.1)-(13.2)
    } else {
        t_rng.fill_randint(t.data(), B, 1, schedule.T);
        eps_rng.fill_normal(eps.data(), eps.numel());
        q_sample_rows(xt.data(), x0.data(), eps.data(), t.data(), B, int(D), schedule);  // eq. (1.2), row b at t[b]
    }
    zero_grad(params);
    Tensor loss = mse(model.forward(xt, std::vector<float>(t.begin(), t.end()), labels), cold ? x0 : flow ? velocity : eps);
    backward(loss);
    update(config.clip);
    return loss.item();
}

ImageModel ImageTrainer::ema_model() const {
    Rng init(config.seed, kImageInit);
    ImageModel copy(model.arch, init, config.unet);
    Params p = copy.params();
    ema.copy_to(p);
    return copy;
}

namespace {

// The k-th batch of an evaluation: x_0 = data.image(rows[(begin + b) % rows.size()]) for b < count,
// and t[b] from Rng(seed, kEvalT) at counter begin + b, drawn in 1..T; the same batch every call.
Tensor eval_images(const ImageSet& data, const std::vector<int>& rows, int begin, int count) {
    const int64_t D = data.image_size();
    Tensor x0 = Tensor::zeros(Shape{count, data.c, data.h, data.w});
    for (int b = 0; b < count; ++b) {
        const int row = rows[size_t(begin + b) % rows.size()];
        std::copy(data.image(row), data.image(row) + D, x0.data() + b * D);
    }
    return x0;
}

std::vector<int> eval_timesteps(uint64_t seed, int begin, int count, int T, int low = 1) {
    std::vector<int> t(static_cast<size_t>(count));
    Rng t_rng(seed, kEvalT);
    t_rng.counter = uint64_t(begin);
    t_rng.fill_randint(t.data(), count, low, T);
    return t;
}

}  // namespace

double image_eval_loss(const ImageModel& model, const Schedule& s, const ImageSet& data, const std::vector<int>& rows,
                       int n, uint64_t seed) {
    NoGrad no_grad;
    const int64_t D = data.image_size();
    double total = 0.0;
    for (int begin = 0; begin < n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, n - begin);
        const Tensor x0 = eval_images(data, rows, begin, count);
        const std::vector<int> t = eval_timesteps(seed, begin, count, s.T);
        Tensor eps = Tensor::zeros(x0.shape());
        Rng eps_rng(seed, kEvalEps);
        eps_rng.counter = uint64_t(begin) * uint64_t(D);
        eps_rng.fill_normal(eps.data(), eps.numel());
        Tensor xt = Tensor::zeros(x0.shape());
        q_sample_rows(xt.data(), x0.data(), eps.data(), t.data(), count, int(D), s);
        total += double(mse(model.forward(xt, std::vector<float>(t.begin(), t.end())), eps).item()) * count;
    }
    return total / n;
}

double image_flow_eval_loss(const ImageModel& model, int T, const ImageSet& data, const std::vector<int>& rows, int n,
                            uint64_t seed) {
    NoGrad no_grad;
    const int64_t D = data.image_size();
    double total = 0.0;
    for (int begin = 0; begin < n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, n - begin);
        const Tensor x0 = eval_images(data, rows, begin, count);
        const std::vector<int> t = eval_timesteps(seed, begin, count, T, 0);
        Tensor eps = Tensor::zeros(x0.shape());
        Rng eps_rng(seed, kEvalEps);
        eps_rng.counter = uint64_t(begin) * uint64_t(D);
        eps_rng.fill_normal(eps.data(), eps.numel());
        Tensor xs = Tensor::zeros(x0.shape()), v = Tensor::zeros(x0.shape());
        flow_path_rows(xs.data(), v.data(), x0.data(), eps.data(), t.data(), count, D, T);
        total += double(mse(model.forward(xs, std::vector<float>(t.begin(), t.end())), v).item()) * count;
    }
    return total / n;
}

double cold_eval_loss(const ImageModel& model, const BlurProcess& p, const ImageSet& data, const std::vector<int>& rows,
                      int n, uint64_t seed) {
    NoGrad no_grad;
    double total = 0.0;
    for (int begin = 0; begin < n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, n - begin);
        const Tensor x0 = eval_images(data, rows, begin, count);
        const std::vector<int> t = eval_timesteps(seed, begin, count, p.T);
        Tensor z = Tensor::zeros(x0.shape());
        blur_degrade(z.data(), x0.data(), count, t.data(), p);
        total += double(mse(model.forward(z, std::vector<float>(t.begin(), t.end())), x0).item()) * count;
    }
    return total / n;
}

void for_image_batches(const float* x_t, int rows, const ImageBatchFunction& f) {
    NoGrad no_grad;
    const int D = 28 * 28;
    for (int begin = 0; begin < rows; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, rows - begin);
        f(begin, count, Tensor::from(Shape{count, 1, 28, 28},
                                     std::vector<float>(x_t + int64_t(begin) * D, x_t + int64_t(begin + count) * D)));
    }
}

EpsFunction image_eps_function(const ImageModel& model) {
    return [&model](float* eps_out, const float* x_t, int rows, int t) {
        for_image_batches(x_t, rows, [&](int begin, int count, const Tensor& x) {
            const Tensor eps = model.forward(x, std::vector<float>(static_cast<size_t>(count), float(t)));
            std::copy(eps.data(), eps.data() + eps.numel(), eps_out + int64_t(begin) * 784);
        });
    };
}

VelocityFunction image_velocity_function(const ImageModel& model, int T) {
    if (T < 1) fail("image_velocity_function: T must be at least 1, got " + std::to_string(T));
    const EpsFunction net = image_eps_function(model);
    return [net, T](float* v_out, const float* x, int rows, double s) {
        const double st = s * T;
        const int t = int(std::lround(st));
        if (!(s >= 0.0 && s <= 1.0) || std::fabs(st - t) > 1e-6)
            fail("image_velocity_function: s = " + fmt_g(s) + " is not on the network's grid t / " + std::to_string(T));
        net(v_out, x, rows, t);
    };
}

int image_flow_sample(float* x, int rows, const ImageModel& model, int T, int steps, FlowSolver solver,
                      const std::function<void(int calls)>& progress) {
    const int per_step = solver == FlowSolver::Heun ? 2 : 1;
    return flow_solve(x, rows, 28 * 28, image_velocity_function(model, T), flow_grid(steps, T), solver,
                      [&](int k, const float*) {
                          if (k > 0 && progress) progress(k * per_step);
                      });
}

void split_80_20(int n, uint64_t seed, std::vector<int>& train_rows, std::vector<int>& val_rows) {
    std::vector<int> order(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) order[size_t(i)] = i;
    Rng shuffle(seed, kSplit);
    for (int i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(shuffle.randint(0, i))]);
    const int cut = n * 4 / 5;
    train_rows.assign(order.begin(), order.begin() + cut);
    val_rows.assign(order.begin() + cut, order.end());
}

}  // namespace ddpm
