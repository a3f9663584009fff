#include "lessonkit/mnist.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/common.h"
#include "store/checkpoint.h"
#include "store/idx.h"
#include "diffusion/image_metrics.h"
#include "store/image_checkpoint.h"
#include "store/image_files.h"

namespace ddpm {

ImageSet load_mnist(const std::string& split, int max_n) {
    if (split != "train" && split != "test") fail("load_mnist: split is 'train' or 'test', got '" + split + "'");
    const std::string prefix = split == "train" ? "data/mnist/train" : "data/mnist/t10k";
    const std::string images = prefix + "-images-idx3-ubyte", labels = prefix + "-labels-idx1-ubyte";
    if (!std::filesystem::exists(images) || !std::filesystem::exists(labels)) {
        std::fprintf(stderr, "  %s missing: fetching MNIST (make data)\n", images.c_str());
        if (std::system("sh src/tools/get_mnist.sh data/mnist") != 0)
            fail(images + ": not found, and make data could not fetch it (see the line above)");
    }
    const IdxArray x = load_idx(images), y = load_idx(labels);
    return images_from_idx(x, &y, images, max_n);
}

MnistClassifier load_scorer(const ImageSet& test) {
    const std::string path = "data/models/mnist_classifier.ckpt";
    MnistClassifier model;
    if (std::filesystem::exists(path)) {
        model = classifier_from_checkpoint(load_checkpoint(path), path);
    } else {
        std::fprintf(stderr, "  %s missing (make classifier writes it): training it here\n", path.c_str());
        model = train_classifier(load_mnist("train"), ClassifierConfig());
    }
    std::fprintf(stderr, "  classifier: test accuracy %.4f\n", classifier_accuracy(model, test));
    return model;
}

// Random rows, not blocks: MNIST's test set runs in blocks of writers, and two neighbouring blocks of
// 1,000 differ by a distance of 27.3 where two random sets of 1,000 differ by 8.5.
std::vector<int> frechet_rows(int test_n, int n) {
    std::vector<int> rows;
    for (int i = n; i < test_n; ++i) rows.push_back(i);
    Rng shuffle(0, 1);
    for (int i = int(rows.size()) - 1; i > 0; --i) std::swap(rows[size_t(i)], rows[size_t(shuffle.randint(0, i))]);
    rows.resize(size_t(2 * n));
    return rows;
}

namespace {

std::vector<float> features_of_rows(const MnistClassifier& scorer, const ImageSet& test, const int* rows, int n) {
    std::vector<float> x(size_t(n) * 784);
    for (int i = 0; i < n; ++i) std::copy(test.image(rows[i]), test.image(rows[i]) + 784, x.begin() + int64_t(i) * 784);
    return classifier_features(scorer, x.data(), n);
}

}  // namespace

Frechet frechet(const MnistClassifier& scorer, const float* samples, int n, const ImageSet& test) {
    if (n < 2 || 3 * int64_t(n) > test.n)
        fail("frechet: " + std::to_string(n) + " samples; the first n test images are kept apart and the reference and "
             "the floor take n more each, and there are " + std::to_string(test.n));
    const std::vector<int> rows = frechet_rows(test.n, n);
    const std::vector<float> fs = classifier_features(scorer, samples, n);
    const std::vector<float> fr = features_of_rows(scorer, test, rows.data(), n);      // the reference
    const std::vector<float> ff = features_of_rows(scorer, test, rows.data() + n, n);  // the floor's images
    return {frechet_distance(fs.data(), n, fr.data(), n, kClassifierFeatures),
            frechet_distance(ff.data(), n, fr.data(), n, kClassifierFeatures)};
}

std::vector<int> classifier_labels(const MnistClassifier& scorer, const float* samples, int n, std::vector<double>* top_p) {
    const std::vector<double> p = classifier_probabilities(scorer, samples, n);
    std::vector<int> labels;
    for (int i = 0; i < n; ++i) {
        int top = 0;
        for (int k = 1; k < 10; ++k)
            if (p[size_t(i) * 10 + size_t(k)] > p[size_t(i) * 10 + size_t(top)]) top = k;
        labels.push_back(top);
        if (top_p) top_p->push_back(p[size_t(i) * 10 + size_t(top)]);
    }
    return labels;
}

DigitScore score_digits(const MnistClassifier& scorer, const float* samples, int n, const ImageSet& test) {
    DigitScore d;
    std::vector<double> top_p;
    d.labels = classifier_labels(scorer, samples, n, &top_p);
    for (int i = 0; i < n; ++i) {
        d.mean_confidence += top_p[size_t(i)] / n;
        d.per_class[size_t(d.labels[size_t(i)])] += 1;
    }
    int least = n;
    for (int k = 0; k < 10; ++k) least = std::min(least, d.per_class[size_t(k)]);
    d.min_class_fraction = double(least) / n;
    d.fd = frechet(scorer, samples, n, test);
    return d;
}

ImageModel load_eps_image_model(const std::string& path, Schedule& schedule, std::string& step) {
    if (!std::filesystem::exists(path)) fail(path + ": not found");
    const Checkpoint c = load_checkpoint(path);
    if (c.has_meta("blur.T")) fail(path + ": a cold-diffusion model (lesson 10's blur), not a noise-diffusion model");
    step = c.has_meta("train.step") ? c.get_meta("train.step") : "?";
    if (c.tensors.empty() || !c.find_tensor("ema." + c.tensors.front().first))
        return image_model_from_checkpoint(c, path, schedule);  // one set of weights
    const ImageTrainer tr = image_trainer_from_checkpoint(c, path);
    if (tr.config.objective != ImageObjective::Eps)
        fail(path + ": a model that predicts " + image_objective_name(tr.config.objective) +
             "; the lessons' samplers take one that predicts eps");
    schedule = tr.schedule;
    return tr.ema_model();
}

}  // namespace ddpm
