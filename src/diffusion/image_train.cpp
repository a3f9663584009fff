#include "diffusion/image_train.h"

#include <algorithm>

#include "core/common.h"
#include "core/ops.h"
#include "diffusion/diffusion.h"

namespace ddpm {

namespace {
const int kEvalBatch = 64;
enum EvalStream : uint64_t { kEvalT = 90, kEvalEps = 91, kSplit = 92 };
}  // namespace

const char* arch_name(ImageArch arch) { return arch == ImageArch::CNN ? "cnn" : "unet"; }

ImageModel::ImageModel(ImageArch a, Rng& rng) : arch(a) {
    if (arch == ImageArch::CNN) cnn = ImageCNN(rng);
    else unet = SmallUNet(rng);
}

Tensor ImageModel::forward(const Tensor& x, const std::vector<float>& t) const {
    return arch == ImageArch::CNN ? cnn.forward(x, t) : unet.forward(x, t);
}

Params ImageModel::params() const { return arch == ImageArch::CNN ? cnn.params() : unet.params(); }

ImageTrainer::ImageTrainer(ImageArch arch, const ImageTrainConfig& c, Schedule s)
    : config(c), schedule(std::move(s)), index_rng(c.seed, kImageIndex), t_rng(c.seed, kImageTimestep),
      eps_rng(c.seed, kImageNoise) {
    Rng init(c.seed, kImageInit);
    model = ImageModel(arch, init);
    params = model.params();
    AdamConfig ac;
    ac.lr = c.lr;
    adam = Adam(ac);
    ema = EMA(params, c.ema_decay);
}

float ImageTrainer::train_step(const ImageSet& data, const std::vector<int>& rows) {
    if (rows.empty()) fail("ImageTrainer: no training rows");
    const int B = config.batch;
    const int64_t D = data.image_size();
    Tensor x0 = Tensor::zeros(Shape{B, data.c, data.h, data.w});
    Tensor eps = Tensor::zeros(x0.shape());
    for (int b = 0; b < B; ++b) {
        const int row = rows[size_t(index_rng.randint(0, int(rows.size()) - 1))];
        std::copy(data.image(row), data.image(row) + D, x0.data() + b * D);
    }
    std::vector<int> t(static_cast<size_t>(B));
    t_rng.fill_randint(t.data(), B, 1, schedule.T);
    eps_rng.fill_normal(eps.data(), eps.numel());
    Tensor xt = Tensor::zeros(x0.shape());
    q_sample_rows(xt.data(), x0.data(), eps.data(), t.data(), B, int(D), schedule);  // eq. (1.2), row b at t[b]
    zero_grad(params);
    Tensor loss = mse(model.forward(xt, std::vector<float>(t.begin(), t.end())), eps);
    backward(loss);
    if (config.clip > 0) clip_grad_norm(params, config.clip);
    adam.step(params);
    ema.update(params);
    ++step;
    return loss.item();
}

ImageModel ImageTrainer::ema_model() const {
    Rng init(config.seed, kImageInit);
    ImageModel copy(model.arch, init);
    Params p = copy.params();
    ema.copy_to(p);
    return copy;
}

double image_eval_loss(const ImageModel& model, const Schedule& s, const ImageSet& data, const std::vector<int>& rows,
                       int n, uint64_t seed) {
    NoGrad no_grad;
    const int64_t D = data.image_size();
    double total = 0.0;
    for (int begin = 0; begin < n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, n - begin);
        Tensor x0 = Tensor::zeros(Shape{count, data.c, data.h, data.w}), eps = Tensor::zeros(x0.shape());
        for (int b = 0; b < count; ++b) {
            const int row = rows[size_t(begin + b) % rows.size()];
            std::copy(data.image(row), data.image(row) + D, x0.data() + b * D);
        }
        std::vector<int> t(static_cast<size_t>(count));
        Rng t_rng(seed, kEvalT);
        t_rng.counter = uint64_t(begin);
        t_rng.fill_randint(t.data(), count, 1, s.T);
        Rng eps_rng(seed, kEvalEps);
        eps_rng.counter = uint64_t(begin) * uint64_t(D);
        eps_rng.fill_normal(eps.data(), eps.numel());
        Tensor xt = Tensor::zeros(x0.shape());
        q_sample_rows(xt.data(), x0.data(), eps.data(), t.data(), count, int(D), s);
        total += double(mse(model.forward(xt, std::vector<float>(t.begin(), t.end())), eps).item()) * count;
    }
    return total / n;
}

EpsFunction image_eps_function(const ImageModel& model) {
    return [&model](float* eps_out, const float* x_t, int rows, int t) {
        NoGrad no_grad;
        const int D = 28 * 28;
        for (int begin = 0; begin < rows; begin += kEvalBatch) {
            const int count = std::min(kEvalBatch, rows - begin);
            const Tensor x = Tensor::from(Shape{count, 1, 28, 28},
                                          std::vector<float>(x_t + int64_t(begin) * D, x_t + int64_t(begin + count) * D));
            const Tensor eps = model.forward(x, std::vector<float>(static_cast<size_t>(count), float(t)));
            std::copy(eps.data(), eps.data() + eps.numel(), eps_out + int64_t(begin) * D);
        }
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
