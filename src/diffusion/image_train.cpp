#include "diffusion/image_train.h"

#include <algorithm>

#include <cmath>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"
#include "core/ops.h"
#include "diffusion/diffusion.h"
#include "diffusion/train.h"

namespace ddpm {

namespace {
const int kEvalBatch = 64;
enum EvalStream : uint64_t { kEvalT = 90, kEvalEps = 91, kSplit = 92 };
}  // namespace

ImageTrainer::ImageTrainer(ImageArch arch, const ImageTrainConfig& c, Schedule s)
    : config(c), schedule(std::move(s)), index_rng(c.seed, kImageIndex), t_rng(c.seed, kImageTimestep),
      eps_rng(c.seed, kImageNoise), drop_rng(c.seed, kImageLabelDrop) {
    if (!(c.label_drop >= 0.0f && c.label_drop <= 1.0f)) fail("ImageTrainer: label_drop is not in [0, 1]");
    Rng init(c.seed, kImageInit);
    model = ImageModel(arch, init, c.unet);
    params = model.params();
    AdamConfig ac;
    ac.lr = c.lr;
    adam = Adam(ac);
    ema = EMA(params, c.ema_decay);
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
    if (classes > 0) {  // Ho and Salimans's Algorithm 1: c <- no label with probability p_uncond
        std::vector<float> u(static_cast<size_t>(B));
        drop_rng.fill_uniform(u.data(), B);
        for (int b = 0; b < B; ++b)
            if (u[size_t(b)] < config.label_drop) labels[size_t(b)] = -1;
    }
    std::vector<int> t(static_cast<size_t>(B));
    const bool cold = config.blur_T > 0;
    if (cold && (data.c != 1 || data.h != blur.H || data.w != blur.W))
        fail("ImageTrainer: the blur process is for 1 x " + std::to_string(blur.H) + " x " + std::to_string(blur.W) +
             " images");
    t_rng.fill_randint(t.data(), B, 1, cold ? config.blur_T : schedule.T);
    Tensor xt = Tensor::zeros(x0.shape());
    if (cold) {
        blur_degrade(xt.data(), x0.data(), B, t.data(), blur);  // [003] eq. (5), image b at t[b]
    } else {
        eps_rng.fill_normal(eps.data(), eps.numel());
        q_sample_rows(xt.data(), x0.data(), eps.data(), t.data(), B, int(D), schedule);  // eq. (1.2), row b at t[b]
    }
    zero_grad(params);
    Tensor loss = mse(model.forward(xt, std::vector<float>(t.begin(), t.end()), labels), cold ? x0 : eps);
    backward(loss);
    if (config.clip > 0) clip_grad_norm(params, config.clip);
    adam.step(params);
    ema.update(params);
    ++step;
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

namespace {

// Rows of x_t (rows, 784) in batches of kEvalBatch images: f(begin, count, the batch as a (count, 1,
// 28, 28) tensor), with no graph recorded.
template <class F>
void in_image_batches(const float* x_t, int rows, F&& f) {
    NoGrad no_grad;
    const int D = 28 * 28;
    for (int begin = 0; begin < rows; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, rows - begin);
        f(begin, count, Tensor::from(Shape{count, 1, 28, 28},
                                     std::vector<float>(x_t + int64_t(begin) * D, x_t + int64_t(begin + count) * D)));
    }
}

}  // namespace

EpsFunction image_eps_function(const ImageModel& model) {
    return [&model](float* eps_out, const float* x_t, int rows, int t) {
        in_image_batches(x_t, rows, [&](int begin, int count, const Tensor& x) {
            const Tensor eps = model.forward(x, std::vector<float>(static_cast<size_t>(count), float(t)));
            std::copy(eps.data(), eps.data() + eps.numel(), eps_out + int64_t(begin) * 784);
        });
    };
}

void guided_eps(float* out, const float* eps_cond, const float* eps_uncond, int64_t n, float w) {
    // BEGIN SOLUTION L11.4
    const float a = 1.0f + w;
    for (int64_t i = 0; i < n; ++i) out[i] = a * eps_cond[i] - w * eps_uncond[i];
    // END SOLUTION
}

EpsFunction guided_eps_function(const ImageModel& model, std::vector<int> labels, float w) {
    const int classes = model.classes();
    if (classes == 0) fail("guidance: the model is not class-conditional (it has no label table)");
    for (int y : labels)
        if (y < -1 || y >= classes)
            fail("guidance: label " + std::to_string(y) + " is not in 0.." + std::to_string(classes - 1));
    if (!(w >= 0.0f && w <= 100.0f)) fail("guidance: the scale w is not in [0, 100]");
    return [&model, labels = std::move(labels), w](float* eps_out, const float* x_t, int rows, int t) {
        if (size_t(rows) != labels.size())
            fail("guidance: " + std::to_string(rows) + " rows for " + std::to_string(labels.size()) + " labels");
        const int D = 28 * 28;
        in_image_batches(x_t, rows, [&](int begin, int count, const Tensor& x) {
            const std::vector<float> tt(static_cast<size_t>(count), float(t));
            const std::vector<int> asked(labels.begin() + begin, labels.begin() + begin + count);
            const Tensor cond = model.forward(x, tt, asked);
            float* out = eps_out + int64_t(begin) * D;
            const bool any_label = std::any_of(asked.begin(), asked.end(), [](int y) { return y >= 0; });
            if (w == 0.0f || !any_label) {
                std::copy(cond.data(), cond.data() + cond.numel(), out);
                return;
            }
            const Tensor uncond = model.forward(x, tt, std::vector<int>(asked.size(), -1));
            guided_eps(out, cond.data(), uncond.data(), cond.numel(), w);
            for (int b = 0; b < count; ++b)  // a row asked for no label is the unconditional model alone
                if (asked[size_t(b)] < 0) std::copy(uncond.data() + b * D, uncond.data() + (b + 1) * D, out + b * D);
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
