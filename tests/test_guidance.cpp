// Classifier-free guidance (Ho and Salimans 2022; lesson 11 part 4): the class-conditional U-Net,
// its trainer (labels dropped with probability label_drop), the guided eps and the model file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "diffusion/guidance.h"
#include "store/checkpoint.h"
#include "core/ops.h"
#include "diffusion/image_train.h"
#include "helpers.h"
#include "store/image_checkpoint.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

// n images of 28 x 28 with values in [-1, 1] and labels i % 10
ImageSet labelled_images(int n) {
    ImageSet s;
    s.n = n;
    s.h = s.w = 28;
    s.x.resize(size_t(n) * 784);
    Rng(3, 1).fill_uniform(s.x.data(), int64_t(s.x.size()), -1.0f, 1.0f);
    for (int i = 0; i < n; ++i) s.labels.push_back(i % 10);
    return s;
}

ImageTrainConfig conditional_config() {
    ImageTrainConfig c;
    c.batch = 4;
    c.lr = 1e-2f;
    c.seed = 11;
    c.unet.c0 = c.unet.c1 = c.unet.c2 = 16;  // 8 channels in 8 groups: GroupNorm would undo the label's add
    c.unet.classes = 10;
    return c;
}

std::vector<int> all_rows(int n) {
    std::vector<int> rows(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) rows[size_t(i)] = i;
    return rows;
}

Tensor forward_at(const ImageModel& m, const std::vector<float>& x, int n, int t, const std::vector<int>& labels) {
    NoGrad no_grad;
    return m.forward(Tensor::from(Shape{n, 1, 28, 28}, x), std::vector<float>(static_cast<size_t>(n), float(t)), labels);
}

}  // namespace

TEST_CASE("L11.4 guidance: eps~ = (1 + w) eps(x, c) - w eps(x), known values") {
    const std::vector<float> c = {1.0f, -2.0f, 0.5f, 0.0f}, u = {0.0f, 1.0f, 0.5f, 3.0f};
    std::vector<float> out(4);
    guided_eps(out.data(), c.data(), u.data(), 4, 0.0f);  // w = 0: the conditional model alone
    CHECK(out == c);
    guided_eps(out.data(), c.data(), u.data(), 4, 1.0f);  // 2 c - u
    CHECK(out == std::vector<float>({2.0f, -5.0f, 0.5f, -3.0f}));
    guided_eps(out.data(), c.data(), u.data(), 4, 3.0f);  // 4 c - 3 u
    CHECK(out == std::vector<float>({4.0f, -11.0f, 0.5f, -9.0f}));
}

TEST_CASE("conditional U-Net: the label table, the no-label row, and an unconditional network unchanged") {
    Rng a(0, kImageInit), b(0, kImageInit);
    UNetConfig plain = conditional_config().unet, cond = plain;
    plain.classes = 0;
    const UNet u0(plain, a), u1(cond, b);
    const Params p0 = u0.params(), p1 = u1.params();
    REQUIRE(p1.size() == p0.size() + 1);
    CHECK(p1.back().name == "label");
    CHECK(p1.back().tensor.shape() == Shape{11, 128});
    CHECK(same_bits(p0, Params(p1.begin(), p1.end() - 1)));  // the table draws nothing from the stream

    const ImageSet data = labelled_images(20);
    ImageTrainer tr(ImageArch::UNet, conditional_config(), cosine_schedule(50));
    for (int i = 0; i < 5; ++i) tr.train_step(data, all_rows(data.n));
    const std::vector<float> x(data.x.begin(), data.x.begin() + 2 * 784);
    const Tensor none = forward_at(tr.model, x, 2, 25, {}), minus = forward_at(tr.model, x, 2, 25, {-1, -1});
    CHECK(std::vector<float>(none.data(), none.data() + none.numel()) ==
          std::vector<float>(minus.data(), minus.data() + minus.numel()));
    const Tensor three = forward_at(tr.model, x, 2, 25, {3, 3});
    CHECK_FALSE(std::vector<float>(three.data(), three.data() + three.numel()) ==
                std::vector<float>(none.data(), none.data() + none.numel()));  // trained rows differ from "none"

    CHECK_THROWS_WITH(forward_at(tr.model, x, 2, 25, {3, 10}), doctest::Contains("label 10 is not in 0..9"));
    CHECK_THROWS_WITH(forward_at(tr.model, x, 2, 25, {3}), doctest::Contains("one label per image"));
    Rng c(0, kImageInit);
    const ImageModel unconditional(ImageArch::UNet, c, plain);
    CHECK_THROWS_WITH(forward_at(unconditional, x, 2, 25, {1, 2}), doctest::Contains("unconditional"));
    CHECK_THROWS_WITH(guided_eps_function(unconditional, {1}, 1.0f), doctest::Contains("not class-conditional"));
}

TEST_CASE("conditional trainer: labels dropped at the rate asked, resumed with the same bits, labels required") {
    const ImageSet data = labelled_images(20);
    ImageTrainer straight(ImageArch::UNet, conditional_config(), cosine_schedule(50));
    for (int i = 0; i < 4; ++i) straight.train_step(data, all_rows(data.n));
    ImageTrainer first(ImageArch::UNet, conditional_config(), cosine_schedule(50));
    for (int i = 0; i < 2; ++i) first.train_step(data, all_rows(data.n));
    const std::string bytes = serialize_checkpoint(image_trainer_checkpoint(first));
    ImageTrainer resumed = image_trainer_from_checkpoint(parse_checkpoint(bytes, "state"), "state");
    CHECK(resumed.model.classes() == 10);
    CHECK(resumed.config.label_drop == 0.1f);
    CHECK(resumed.drop_rng.counter == first.drop_rng.counter);
    for (int i = 0; i < 2; ++i) resumed.train_step(data, all_rows(data.n));
    CHECK(same_bits(straight.params, resumed.params));
    // the label rows that were used have moved from zero
    const Tensor& table = straight.params.back().tensor;
    double moved = 0.0;
    for (int64_t i = 0; i < table.numel(); ++i) moved += std::fabs(table.data()[i]);
    CHECK(moved > 0.0);

    // the dropping: label_drop of the draws, within four standard errors over 20,000 draws
    Rng drop(11, kImageLabelDrop);
    std::vector<float> u(20000);
    drop.fill_uniform(u.data(), int64_t(u.size()));
    int dropped = 0;
    for (float v : u) dropped += v < 0.1f;
    CHECK(std::fabs(dropped / 20000.0 - 0.1) < 4.0 * std::sqrt(0.1 * 0.9 / 20000.0));

    ImageSet unlabelled = data;
    unlabelled.labels.clear();
    ImageTrainer tr(ImageArch::UNet, conditional_config(), cosine_schedule(50));
    CHECK_THROWS_WITH(tr.train_step(unlabelled, all_rows(data.n)), doctest::Contains("needs the images' labels"));
}

TEST_CASE("guided eps function: w = 0 is the conditional model, -1 rows the unconditional, else the combination") {
    const ImageSet data = labelled_images(20);
    ImageTrainer tr(ImageArch::UNet, conditional_config(), cosine_schedule(50));
    for (int i = 0; i < 5; ++i) tr.train_step(data, all_rows(data.n));
    const int n = 3;
    const std::vector<float> x(data.x.begin(), data.x.begin() + n * 784);
    const std::vector<int> labels = {7, -1, 2};
    const Tensor cond = forward_at(tr.model, x, n, 30, labels), uncond = forward_at(tr.model, x, n, 30, {});
    std::vector<float> out(x.size());
    guided_eps_function(tr.model, labels, 0.0f)(out.data(), x.data(), n, 30);
    CHECK(out == std::vector<float>(cond.data(), cond.data() + cond.numel()));
    guided_eps_function(tr.model, labels, 2.5f)(out.data(), x.data(), n, 30);
    std::vector<float> want(x.size());
    guided_eps(want.data(), cond.data(), uncond.data(), int64_t(want.size()), 2.5f);
    for (int i = 784; i < 2 * 784; ++i) want[size_t(i)] = uncond.data()[i];  // row 1 asked for no label
    CHECK(out == want);
    CHECK_THROWS_WITH(guided_eps_function(tr.model, labels, 1.0f)(out.data(), x.data(), 2, 30),
                      doctest::Contains("2 rows for 3 labels"));
    CHECK_THROWS_WITH(guided_eps_function(tr.model, {12}, 1.0f), doctest::Contains("label 12 is not in 0..9"));
}

TEST_CASE("conditional model file: unet.classes round-trips; a bad value is a one-line error") {
    ImageTrainer tr(ImageArch::UNet, conditional_config(), cosine_schedule(50));
    const ImageSet data = labelled_images(20);
    tr.train_step(data, all_rows(data.n));
    const Checkpoint c = image_model_checkpoint(tr.ema_model(), tr.schedule);
    CHECK(c.get_meta("unet.classes") == "10");
    Schedule s;
    const ImageModel back = image_model_from_checkpoint(parse_checkpoint(serialize_checkpoint(c), "m"), "m", s);
    CHECK(back.classes() == 10);
    CHECK(same_bits(back.params(), tr.ema_model().params()));
    Checkpoint bad = c;
    bad.set_meta("unet.classes", "0");
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s), doctest::Contains("m.ckpt: entry 'unet.classes'"));
    bad = c;
    bad.meta.erase(std::remove_if(bad.meta.begin(), bad.meta.end(),
                                  [](const auto& kv) { return kv.first == "unet.classes"; }),
                   bad.meta.end());
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s), doctest::Contains("m.ckpt: 85 tensors, where the network has 84"));
}
