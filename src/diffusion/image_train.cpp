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

ImageTrainer::ImageTrainer(ImageArch arch, const ImageTrainConfig& c, Schedule s)
    : config(c), schedule(std::move(s)), drop_rng(c.seed, kImageLabelDrop) {
    if (!(c.label_drop >= 0.0f && c.label_drop <= 1.0f)) fail("ImageTrainer: label_drop is not in [0, 1]");
    Rng init(c.seed, kImageInit);
    model = ImageModel(arch, init, c.unet);
    start(model.params(), c.lr, c.ema_decay, c.seed, kImageIndex, kImageTimestep, kImageNoise);
    if (c.blur_T > 0) blur = blur_process(c.blur_T, c.blur_beta, c.blur_taps);
}

float ImageTrainer::train_step(const ImageSet& data, const std::vector<int>& rows) {
    if (rows.empty()) fail("ImageTrainer: no training rows");
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
    const bool cold = config.blur_T > 0;
    if (cold && (data.c != 1 || data.h != blur.H || data.w != blur.W))
        fail("ImageTrainer: the blur process is for 1 x " + std::to_string(blur.H) + " x " + std::to_string(blur.W) +
             " images");
    Tensor xt = Tensor::zeros(x0.shape());
    if (cold) {
        cold_training_batch(xt.data(), t.data(), x0.data(), B, blur, t_rng);  // cold.h: the target is x_0
    } else {
        t_rng.fill_randint(t.data(), B, 1, schedule.T);
        eps_rng.fill_normal(eps.data(), eps.numel());
        q_sample_rows(xt.data(), x0.data(), eps.data(), t.data(), B, int(D), schedule);  // eq. (1.2), row b at t[b]
    }
    zero_grad(params);
    Tensor loss = mse(model.forward(xt, std::vector<float>(t.begin(), t.end()), labels), cold ? x0 : eps);
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

std::vector<int> eval_timesteps(uint64_t seed, int begin, int count, int T) {
    std::vector<int> t(static_cast<size_t>(count));
    Rng t_rng(seed, kEvalT);
    t_rng.counter = uint64_t(begin);
    t_rng.fill_randint(t.data(), count, 1, T);
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
