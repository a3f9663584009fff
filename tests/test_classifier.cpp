// The classification loss (core/loss.h), the shipped MNIST classifier (data/models/) and the Frechet
// distance the lessons score with (lessonkit/mnist.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "core/loss.h"
#include "diffusion/classifier.h"
#include "diffusion/image_metrics.h"
#include "diffusion/image_train.h"
#include "helpers.h"
#include "lessonkit/mnist.h"
#include "store/image_checkpoint.h"
#include "store/image_files.h"

using namespace ddpm;
using namespace testing_helpers;

TEST_CASE("loss: softmax cross-entropy has its value and its gradient") {
    // equal logits: the loss is log K for any label
    Tensor z = Tensor::zeros(Shape{3, 4}, true);
    CHECK(softmax_cross_entropy(z, {0, 1, 3}).item() == doctest::Approx(std::log(4.0)).epsilon(1e-6));
    // a large margin: the loss is near 0, and the logits' scale does not overflow
    Tensor big = Tensor::from(Shape{1, 3}, {1000.0f, 0.0f, -1000.0f});
    CHECK(softmax_cross_entropy(big, {0}).item() == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(std::isfinite(softmax_cross_entropy(big, {2}).item()));
    const std::vector<int> labels = {2, 0, 1, 2, 4};
    GradFunction f = [&](const std::vector<Tensor>& in) { return softmax_cross_entropy(in[0], labels); };
    GradcheckResult r = gradcheck(f, {randn(Shape{5, 5}, 60)});
    CHECK(r.ok);
    CHECK(argmax_rows(Tensor::from(Shape{2, 3}, {0.1f, 0.7f, 0.2f, 5.0f, -1.0f, 4.0f})) == std::vector<int>{1, 0});
    CHECK_THROWS(softmax_cross_entropy(z, {0, 1, 4}));  // label outside [0, K)
}

namespace {

std::string sha256_of(const std::string& path) {
    FILE* p = popen(("sha256sum '" + path + "' 2>/dev/null").c_str(), "r");
    if (!p) return "";
    char buf[65] = {0};
    const size_t n = std::fread(buf, 1, 64, p);
    pclose(p);
    return std::string(buf, n);
}

// A shipped file's train.recipe starts with the program that trained it: src/shipped/<program>, or,
// for the files trained before the programs left the lesson folders, lessons/<lesson>/<program>.
bool names_program(const std::string& recipe, const std::string& lesson, const std::string& program) {
    return recipe.rfind("src/shipped/" + program, 0) == 0 || recipe.rfind("lessons/" + lesson + "/" + program, 0) == 0;
}

// The sha256 the README's table gives for `file`.
std::string documented_sha256(const std::string& file) {
    std::ifstream in("data/models/README.md");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("| " + file + " | ", 0) == 0) {
            std::istringstream fields(line.substr(file.size() + 4));
            std::string sha;
            fields >> sha;
            return sha;
        }
    return "";
}

}  // namespace

TEST_CASE("classifier: the shipped weights are the documented file, and load") {
    const std::string path = "data/models/mnist_classifier.ckpt";
    REQUIRE(std::ifstream(path).good());
    CHECK(sha256_of(path) == documented_sha256("mnist_classifier.ckpt"));
    const MnistClassifier model = classifier_from_checkpoint(load_checkpoint(path), path);
    CHECK(count_values(model.params()) == 16 * 25 + 16 + 32 * 16 * 25 + 32 + 1568 * 128 + 128 + 128 * 10 + 10);
    if (!std::ifstream("data/mnist/t10k-images-idx3-ubyte")) {
        MESSAGE("skipped the accuracy: no data/mnist/ (make data)");
        return;
    }
    const IdxArray x = load_idx("data/mnist/t10k-images-idx3-ubyte"), y = load_idx("data/mnist/t10k-labels-idx1-ubyte");
    const ImageSet test = images_from_idx(x, &y, "t10k");
    CHECK(classifier_accuracy(model, test) >= 0.985);
}

TEST_CASE("shipped U-Net: the documented file, and its training state holds the same EMA weights") {
    const std::string path = "data/models/mnist_unet.ckpt", state = "data/models/mnist_unet.state";
    REQUIRE(std::ifstream(path).good());
    CHECK(sha256_of(path) == documented_sha256("mnist_unet.ckpt"));
    Schedule s;
    const ImageModel model = image_model_from_checkpoint(load_checkpoint(path), path, s);
    CHECK(model.arch == ImageArch::UNet);
    CHECK(model.unet.config.block == UNetBlockKind::Residual);
    CHECK(count_values(model.params()) == 509857);
    CHECK(s.T == 1000);
    // the state file continues the run that wrote the model: its EMA is the model, bit for bit
    REQUIRE(std::ifstream(state).good());
    const ImageTrainer tr = image_trainer_from_checkpoint(load_checkpoint(state), state);
    CHECK(same_bits(model.params(), tr.ema_model().params()));
    CHECK(tr.step % 750 == 0);  // saved at an epoch's end
}

TEST_CASE("shipped cold-diffusion models: the documented files, their recipe, and a state left beside them continues them") {
    for (const std::string kind : {"blur", "noise"}) {
        CAPTURE(kind);
        const std::string name = "mnist_cold_" + kind + ".ckpt", path = "data/models/" + name,
                          state = "data/models/mnist_cold_" + kind + ".state";
        REQUIRE(std::ifstream(path).good());
        CHECK(sha256_of(path) == documented_sha256(name));
        const Checkpoint file = load_checkpoint(path);
        ImageModel model;
        if (kind == "blur") {
            BlurProcess p;
            model = cold_model_from_checkpoint(file, path, p);
            CHECK(p.T == 100);
            CHECK(p.beta == 1.0);
            CHECK(p.taps == 11);
        } else {
            Schedule s;
            model = image_model_from_checkpoint(file, path, s);
            CHECK(s.T == 1000);
            CHECK(s.alpha_bar == cosine_schedule(1000).alpha_bar);
        }
        CHECK(model.unet.config.block == UNetBlockKind::ConvNeXt);
        CHECK(count_values(model.params()) == 1807681);
        CHECK(std::stoll(file.get_meta("train.step")) % 375 == 0);  // saved at an epoch's end
        CHECK(names_program(file.get_meta("train.recipe"), "10_cold", "train_cold.cpp --kind " + kind + ":"));
        // The training state (29 MB, over the repository's limit for a file) is not shipped; where a
        // retraining (make cold-checkpoints) left one, it must continue the shipped run.
        if (!std::ifstream(state).good()) continue;
        const ImageTrainer tr = image_trainer_from_checkpoint(load_checkpoint(state), state);
        CHECK(tr.config.batch == 128);
        CHECK(tr.config.lr == 2e-4f);
        CHECK((tr.config.blur_T == 100) == (kind == "blur"));
        if (std::to_string(tr.step) == file.get_meta("train.step")) CHECK(same_bits(model.params(), tr.ema_model().params()));
    }
}

TEST_CASE("shipped conditional U-Net: the documented file, ten classes and a no-label row, and its state continues it") {
    const std::string path = "data/models/mnist_unet_cond.ckpt", state = "data/models/mnist_unet_cond.state";
    REQUIRE(std::ifstream(path).good());
    CHECK(sha256_of(path) == documented_sha256("mnist_unet_cond.ckpt"));
    const Checkpoint file = load_checkpoint(path);
    Schedule s;
    const ImageModel model = image_model_from_checkpoint(file, path, s);
    CHECK(model.classes() == 10);
    CHECK(model.unet.label.shape() == Shape{11, 128});
    CHECK(count_values(model.params()) == 509857 + 11 * 128);
    CHECK(s.alpha_bar == cosine_schedule(1000).alpha_bar);
    CHECK(names_program(file.get_meta("train.recipe"), "09_unet", "train_unet.cpp --conditional:"));
    CHECK(std::stoll(file.get_meta("train.step")) % 750 == 0);  // saved at an epoch's end
    REQUIRE(std::ifstream(state).good());
    const ImageTrainer tr = image_trainer_from_checkpoint(load_checkpoint(state), state);
    CHECK(tr.config.label_drop == 0.1f);
    CHECK(std::to_string(tr.step) == file.get_meta("train.step"));
    CHECK(same_bits(model.params(), tr.ema_model().params()));
}

TEST_CASE("frechet: samples against n random test images past the first n, the floor n others; no overlap") {
    // a random (untrained) classifier is enough: the test is about which images are compared
    Rng rng(9, 1);
    const MnistClassifier scorer(rng);
    ImageSet test;
    test.n = 40;
    test.h = test.w = 28;
    test.x.resize(size_t(test.n) * 784);
    Rng(9, 2).fill_uniform(test.x.data(), int64_t(test.x.size()), -1.0f, 1.0f);
    const int n = 12;
    const std::vector<int> rows = frechet_rows(test.n, n);
    REQUIRE(rows.size() == size_t(2 * n));
    CHECK(rows == frechet_rows(test.n, n));  // fixed
    std::vector<int> sorted = rows;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::unique(sorted.begin(), sorted.end()) == sorted.end());  // 2n distinct rows
    CHECK(sorted.front() >= n);                                         // none of the first n
    auto images = [&](const int* r, int k) {
        std::vector<float> x;
        for (int i = 0; i < k; ++i) x.insert(x.end(), test.image(r[i]), test.image(r[i]) + 784);
        return x;
    };
    const std::vector<float> ref = images(rows.data(), n), other = images(rows.data() + n, n);
    const std::vector<float> reference = classifier_features(scorer, ref.data(), n);
    const std::vector<float> before = classifier_features(scorer, other.data(), n);
    const std::vector<float> first = classifier_features(scorer, test.image(0), n);
    // samples that are the first n test images (reconstructions' sources) are scored against others
    const Frechet fd = frechet(scorer, test.image(0), n, test);
    CHECK(fd.distance == frechet_distance(first.data(), n, reference.data(), n, kClassifierFeatures));
    CHECK(fd.floor == frechet_distance(before.data(), n, reference.data(), n, kClassifierFeatures));
    CHECK(fd.distance > 0.0);
    // the reference itself scores (about) 0
    CHECK(frechet(scorer, ref.data(), n, test).distance == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(score_digits(scorer, test.image(0), n, test).fd.floor == fd.floor);
    CHECK_THROWS_WITH(frechet(scorer, test.image(0), 14, test),
                      "frechet: 14 samples; the first n test images are kept apart and the reference and the floor "
                      "take n more each, and there are 40");
}
