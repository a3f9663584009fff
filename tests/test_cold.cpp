// Cold diffusion (diffusion/cold.h, lesson 10): the composed blur kernel (task L10.1), one step of
// Bansal et al.'s sampler (task L10.2), the closed form against the iteration, and the trainer's
// blur mode with its files.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "store/checkpoint.h"
#include "diffusion/cold.h"
#include "diffusion/image_train.h"
#include "helpers.h"
#include "store/image_checkpoint.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

std::vector<float> random_images(int n, uint64_t seed) {
    std::vector<float> x(size_t(n) * 784);
    Rng(seed, 1).fill_uniform(x.data(), int64_t(x.size()), -1.0f, 1.0f);
    return x;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

double variance_of(const std::vector<double>& k) {
    const double c = double(k.size() / 2);
    double v = 0.0;
    for (size_t i = 0; i < k.size(); ++i) v += k[i] * (double(i) - c) * (double(i) - c);
    return v;
}

}  // namespace

TEST_CASE("L10.1 the composed kernel: t - 1 convolutions of G with itself, centred, variance t beta") {
    const std::vector<double> g = blur_kernel_1d(11, 1.0);
    CHECK(composed_kernel(g, 0) == std::vector<double>{1.0});
    CHECK(composed_kernel(g, 1) == g);
    for (int t : {2, 3, 7, 20}) {
        CAPTURE(t);
        const std::vector<double> k = composed_kernel(g, t);
        REQUIRE(k.size() == size_t(1 + t * 10));
        double total = 0.0;
        for (double v : k) total += v;
        CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
        for (size_t i = 0; i < k.size(); ++i) CHECK(k[i] == doctest::Approx(k[k.size() - 1 - i]).epsilon(1e-12));
        CHECK(variance_of(k) == doctest::Approx(t * variance_of(g)).epsilon(1e-10));  // variances add
        // its fold onto the 28-pixel period is the process's own kernel for t
        const std::vector<double> folded = fold_kernel(k, 28);
        const BlurProcess p = blur_process(20);
        for (int j = 0; j < 28; ++j) CHECK(folded[size_t(j)] == doctest::Approx(p.composed_row[size_t(t)][size_t(j)]).epsilon(1e-12));
    }
    // one blur with G~_t is t blurs with G ([003] eq. 5), on the torus, to float rounding
    const BlurProcess p = blur_process(30);
    const std::vector<float> x = random_images(3, 2);
    for (int t : {1, 4, 30}) {
        std::vector<float> iterated(x.size()), once(x.size());
        blur_iterate(iterated.data(), x.data(), 3, t, p);
        blur_periodic(once.data(), x.data(), 3, 28, 28, composed_kernel(p.g, t));
        CHECK(max_diff(iterated, once) < 1e-5);
    }
}

TEST_CASE("L10.2 cold_step: Algorithm 2 keeps what D(x0_hat, s) does not explain, the naive step drops it") {
    const BlurProcess p = blur_process(10);
    const int n = 2;
    const std::vector<float> x0 = random_images(n, 3), residual = random_images(n, 4);
    for (int s : {1, 4, 10}) {
        CAPTURE(s);
        std::vector<float> now(x0.size()), before(x0.size()), x(x0.size());
        blur_degrade(now.data(), x0.data(), n, s, p);
        blur_degrade(before.data(), x0.data(), n, s - 1, p);
        for (size_t i = 0; i < x.size(); ++i) x[i] = now[i] + 0.1f * residual[i];
        std::vector<float> improved = x, naive = x;
        cold_step(improved.data(), x0.data(), n, s, p, true);
        cold_step(naive.data(), x0.data(), n, s, p, false);
        std::vector<float> want(x0.size());
        for (size_t i = 0; i < want.size(); ++i) want[i] = before[i] + 0.1f * residual[i];
        CHECK(max_diff(improved, want) < 1e-6);
        CHECK(max_diff(naive, before) < 1e-6);
    }
    // with the perfect restorer (R returns x itself) the whole chain from z_T lands on x
    std::vector<float> z(x0.size());
    blur_degrade(z.data(), x0.data(), n, p.T, p);
    const X0Function oracle = [&](float* out, const float*, int rows, int) {
        std::copy(x0.begin(), x0.begin() + int64_t(rows) * 784, out);
    };
    cold_sample(z.data(), n, p.T, p, oracle, true);
    CHECK(max_diff(z, x0) < 1e-5);
    CHECK_THROWS_WITH(cold_step(z.data(), x0.data(), n, 0, p, true), doctest::Contains("cold_step: s must be in [1, T = 10]"));
}

TEST_CASE("cold: every blur keeps the image mean; z_T is near the uniform image of it") {
    const BlurProcess p = blur_process();
    const std::vector<float> x = random_images(2, 5);
    std::vector<float> z(x.size());
    blur_degrade(z.data(), x.data(), 2, p.T, p);
    for (int i = 0; i < 2; ++i) {
        double mx = 0, mz = 0, spread = 0;
        for (int j = 0; j < 784; ++j) {
            mx += x[size_t(i * 784 + j)];
            mz += z[size_t(i * 784 + j)];
        }
        for (int j = 0; j < 784; ++j) spread = std::fmax(spread, std::fabs(z[size_t(i * 784 + j)] - mz / 784));
        CHECK(mz / 784 == doctest::Approx(mx / 784).epsilon(1e-5));
        CHECK(spread < 0.05);  // white noise keeps little after a blur of variance 100
    }
    CHECK_THROWS_WITH(blur_kernel_1d(10, 1.0), doctest::Contains("taps must be odd"));
    CHECK_THROWS_WITH(blur_degrade(z.data(), x.data(), 1, 101, p), doctest::Contains("t must be in [0, T = 100]"));
}

TEST_CASE("cold: the blur trainer predicts x_0, resumes with the same bits, and its model file round-trips") {
    ImageSet data;
    data.n = 6;
    data.h = data.w = 28;
    data.x = random_images(6, 6);
    const std::vector<int> rows = {0, 1, 2, 3, 4, 5};
    ImageTrainConfig c;
    c.batch = 2;
    c.lr = 1e-3f;
    c.seed = 3;
    c.unet = unet_convnext_config();
    c.unet.c0 = c.unet.c1 = c.unet.c2 = 8;
    c.blur_T = 20;
    ImageTrainer straight(ImageArch::UNet, c, Schedule{});
    for (int i = 0; i < 4; ++i) straight.train_step(data, rows);
    ImageTrainer first(ImageArch::UNet, c, Schedule{});
    for (int i = 0; i < 2; ++i) first.train_step(data, rows);
    const Checkpoint state = image_trainer_checkpoint(first);
    CHECK(state.get_meta("blur.T") == "20");
    CHECK_FALSE(state.has_meta("schedule.name"));
    ImageTrainer resumed = image_trainer_from_checkpoint(parse_checkpoint(serialize_checkpoint(state), "s"), "s");
    CHECK(resumed.config.blur_T == 20);
    for (int i = 0; i < 2; ++i) resumed.train_step(data, rows);
    CHECK(same_bits(straight.params, resumed.params));

    const ImageModel ema = straight.ema_model();
    const Checkpoint m = cold_model_checkpoint(ema, straight.blur);
    BlurProcess p;
    const ImageModel back = cold_model_from_checkpoint(parse_checkpoint(serialize_checkpoint(m), "m"), "m", p);
    CHECK(same_bits(ema.params(), back.params()));
    CHECK(p.T == 20);
    CHECK(p.composed_row == straight.blur.composed_row);
    Checkpoint bad = m;
    bad.set_meta("blur.taps", "10");
    CHECK_THROWS_WITH(cold_model_from_checkpoint(bad, "m.ckpt", p), doctest::Contains("m.ckpt: entry 'blur.taps' is not odd"));
    bad = m;
    bad.set_meta("blur.beta", "-1");
    CHECK_THROWS_WITH(cold_model_from_checkpoint(bad, "m.ckpt", p), doctest::Contains("m.ckpt: entry 'blur.beta'"));
    Schedule s;
    CHECK_THROWS_WITH(image_model_from_checkpoint(m, "m.ckpt", s), doctest::Contains("m.ckpt: no entry 'schedule.name'"));

    ImageSet small = data;
    small.h = small.w = 8;
    CHECK_THROWS_WITH(straight.train_step(small, rows), doctest::Contains("the blur process is for 1 x 28 x 28 images"));
}
