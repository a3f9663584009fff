#include "diffusion/classifier.h"

#include <algorithm>

#include "core/common.h"
#include "core/dmath.h"
#include "core/image_ops.h"
#include "core/io.h"
#include "core/loss.h"
#include "core/ops.h"
#include "core/optim.h"

namespace ddpm {

namespace {
const int kEvalBatch = 500;
}  // namespace

MnistClassifier::MnistClassifier(Rng& rng)
    : conv1(1, 16, 5, rng, 1, 2), conv2(16, 32, 5, rng, 1, 2), fc1(32 * 7 * 7, kClassifierFeatures, rng),
      fc2(kClassifierFeatures, 10, rng) {}

Tensor MnistClassifier::features(const Tensor& x) const {
    if (x.ndim() != 4 || x.dim(1) != 1 || x.dim(2) != 28 || x.dim(3) != 28)
        fail("MnistClassifier: expected images (B, 1, 28, 28), got " + x.shape().str());
    Tensor h = avgpool2x(relu(conv1.forward(x)));  // (B, 16, 14, 14)
    h = avgpool2x(relu(conv2.forward(h)));          // (B, 32, 7, 7)
    h = reshape(h, Shape{x.dim(0), 32 * 7 * 7});
    return relu(fc1.forward(h));
}

Tensor MnistClassifier::logits(const Tensor& x) const { return fc2.forward(features(x)); }

Params MnistClassifier::params() const {
    Params p;
    conv1.collect(p, "conv1");
    conv2.collect(p, "conv2");
    fc1.collect(p, "fc1");
    fc2.collect(p, "fc2");
    return p;
}

MnistClassifier train_classifier(const ImageSet& train, const ClassifierConfig& c,
                                 const std::function<void(int, int, float)>& progress) {
    if (train.labels.size() != size_t(train.n)) fail("train_classifier: the training images have no labels");
    Rng init(c.seed, kClassifierInit);
    MnistClassifier model(init);
    Params params = model.params();
    AdamConfig ac;
    ac.lr = c.lr;
    Adam adam(ac);
    const int64_t D = train.image_size();
    const int steps_per_epoch = train.n / c.batch, steps = steps_per_epoch * c.epochs;
    std::vector<int> order(static_cast<size_t>(train.n));
    Rng shuffle(c.seed, kClassifierShuffle);
    int step = 0;
    for (int epoch = 0; epoch < c.epochs; ++epoch) {
        for (int i = 0; i < train.n; ++i) order[size_t(i)] = i;
        for (int i = train.n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(shuffle.randint(0, i))]);  // Fisher-Yates
        for (int s = 0; s < steps_per_epoch; ++s, ++step) {
            Tensor x = Tensor::zeros(Shape{c.batch, 1, 28, 28});
            std::vector<int> labels(static_cast<size_t>(c.batch));
            for (int b = 0; b < c.batch; ++b) {
                const int k = order[size_t(s) * c.batch + b];
                std::copy(train.image(k), train.image(k) + D, x.data() + int64_t(b) * D);
                labels[size_t(b)] = train.labels[size_t(k)];
            }
            zero_grad(params);
            Tensor loss = softmax_cross_entropy(model.logits(x), labels);
            backward(loss);
            adam.step(params);
            if (progress) progress(step + 1, steps, loss.item());
        }
    }
    return model;
}

std::vector<float> classifier_features(const MnistClassifier& model, const float* images, int n) {
    NoGrad no_grad;
    std::vector<float> out(size_t(n) * kClassifierFeatures);
    for (int begin = 0; begin < n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, n - begin);
        const Tensor x = Tensor::from(Shape{count, 1, 28, 28},
                                      std::vector<float>(images + int64_t(begin) * 784, images + int64_t(begin + count) * 784));
        const Tensor f = model.features(x);
        std::copy(f.data(), f.data() + f.numel(), out.begin() + int64_t(begin) * kClassifierFeatures);
    }
    return out;
}

std::vector<double> classifier_probabilities(const MnistClassifier& model, const float* images, int n) {
    NoGrad no_grad;
    std::vector<double> out(size_t(n) * 10);
    for (int begin = 0; begin < n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, n - begin);
        const Tensor x = Tensor::from(Shape{count, 1, 28, 28},
                                      std::vector<float>(images + int64_t(begin) * 784, images + int64_t(begin + count) * 784));
        const Tensor z = model.logits(x);
        for (int b = 0; b < count; ++b) {
            const float* row = z.data() + int64_t(b) * 10;
            double top = row[0], sum = 0.0;
            for (int k = 1; k < 10; ++k) top = std::max(top, double(row[k]));
            double* p = out.data() + int64_t(begin + b) * 10;
            for (int k = 0; k < 10; ++k) sum += (p[k] = dmath::exp(double(row[k]) - top));
            for (int k = 0; k < 10; ++k) p[k] /= sum;
        }
    }
    return out;
}

double classifier_accuracy(const MnistClassifier& model, const ImageSet& set) {
    NoGrad no_grad;
    int right = 0;
    for (int begin = 0; begin < set.n; begin += kEvalBatch) {
        const int count = std::min(kEvalBatch, set.n - begin);
        const Tensor x = Tensor::from(Shape{count, 1, 28, 28},
                                      std::vector<float>(set.image(begin), set.image(begin) + int64_t(count) * 784));
        const std::vector<int> guess = argmax_rows(model.logits(x));
        for (int i = 0; i < count; ++i) right += guess[size_t(i)] == set.labels[size_t(begin + i)];
    }
    return double(right) / set.n;
}

}  // namespace ddpm
