// Training (L03.1, L03.2) and the checkpoint of a trainer.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "helpers.h"
#include "nets/eps_mlp.h"
#include "diffusion/train.h"
#include "store/trainer_checkpoint.h"

using namespace ddpm;

namespace {

EpsModelConfig small_model() {
    EpsModelConfig c;
    c.dim = 2;
    c.emb_dim = 8;
    c.hidden = 16;
    c.layers = 2;
    return c;
}

std::vector<float> flat(const Params& p) {
    std::vector<float> all;
    for (const Param& q : p) all.insert(all.end(), q.tensor.data(), q.tensor.data() + q.tensor.numel());
    return all;
}

}  // namespace

TEST_CASE("model: shapes, parameter names, residual variant, gradients") {
    Rng rng(1, 0);
    EpsModel plain(small_model(), rng);
    Tensor x = testing_helpers::randn(Shape{5, 2}, 70, false);
    Tensor y = plain.forward(x, {1, 2, 3, 4, 5});
    CHECK(y.shape() == Shape{5, 2});
    CHECK(plain.params().front().name == "mlp.0.weight");
    CHECK(describe(plain.config) == "mlp 10-16-16-2 gelu");
    EpsModelConfig rc = small_model();
    rc.residual = true;
    EpsModel res(rc, rng);
    CHECK(res.forward(x, {1, 2, 3, 4, 5}).shape() == Shape{5, 2});
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return res.forward(in[0], {3, 30, 300, 7, 1}); },
                       {testing_helpers::randn(Shape{5, 2}, 71)});
    CHECK(r.ok);
    CHECK_THROWS_WITH(plain.forward(x, {1.0f}), "EpsModel: 1 timesteps for 5 rows");
}

TEST_CASE("L03.1 simple_loss is the mse between the prediction on x_t and eps") {
    Rng rng(2, 0);
    EpsModel model(small_model(), rng);
    Schedule s = linear_schedule(100);
    Tensor x0 = testing_helpers::randn(Shape{4, 2}, 72, false);
    Tensor eps = testing_helpers::randn(Shape{4, 2}, 73, false);
    std::vector<int> t = {1, 10, 50, 100};
    Tensor prediction;
    Tensor loss = simple_loss(model, x0, t, eps, s, &prediction);
    // by hand
    Tensor x_t = Tensor::zeros(Shape{4, 2});
    for (int b = 0; b < 4; ++b)
        for (int d = 0; d < 2; ++d)
            x_t.data()[b * 2 + d] = float(std::sqrt(s.alpha_bar[size_t(t[size_t(b)])]) * x0.data()[b * 2 + d] +
                                          std::sqrt(1 - s.alpha_bar[size_t(t[size_t(b)])]) * eps.data()[b * 2 + d]);
    Tensor pred = model.forward(x_t, {1, 10, 50, 100});
    double expected = 0;
    for (int i = 0; i < 8; ++i) expected += std::pow(pred.data()[i] - eps.data()[i], 2) / 8;
    CHECK(loss.item() == doctest::Approx(expected).epsilon(1e-5));
    REQUIRE(prediction.defined());
    CHECK(prediction.data()[3] == doctest::Approx(pred.data()[3]));
    CHECK(loss.requires_grad());  // the graph reaches the weights
}

TEST_CASE("L03.2 train_step: deterministic, moves the weights and the average, and learns") {
    TrainConfig tc;
    tc.batch = 64;
    tc.lr = 3e-3f;
    tc.ema_decay = 0.9f;
    Dataset data = make_two_clusters(2000, 3);
    Trainer a(small_model(), tc, linear_schedule(200)), b(small_model(), tc, linear_schedule(200));
    std::vector<float> before = flat(a.params);
    StepStats first = a.train_step(data.x.data(), data.n());
    b.train_step(data.x.data(), data.n());
    CHECK(a.step == 1);
    CHECK(first.t.size() == 64);
    for (int t : first.t) REQUIRE((t >= 1 && t <= 200));
    CHECK(flat(a.params) != before);
    CHECK(std::memcmp(flat(a.params).data(), flat(b.params).data(), before.size() * 4) == 0);
    CHECK(a.ema.shadow[0][0] != a.params[0].tensor.data()[0]);  // the average lags the weights
    double early = 0, late = 0;
    int t_min = 1 << 30, t_max = -1;  // the timesteps drawn: uniform on 1..T, both ends reached
    for (int i = 0; i < 400; ++i) {
        StepStats stats = a.train_step(data.x.data(), data.n());
        if (i < 50) early += stats.loss / 50;
        if (i >= 350) late += stats.loss / 50;
        for (int t : stats.t) t_min = std::min(t_min, t), t_max = std::max(t_max, t);
    }
    CHECK(late < 0.8 * early);
    CHECK(t_min == 1);
    CHECK(t_max == 200);
}

TEST_CASE("L03.2 train_step: each step starts from zero gradients") {
    // b's gradients hold garbage before its second step: a step that does not zero them first
    // would add its gradient to it and step elsewhere than a.
    TrainConfig tc;
    tc.batch = 16;
    Dataset data = make_two_clusters(300, 7);
    Trainer a(small_model(), tc, linear_schedule(100)), b(small_model(), tc, linear_schedule(100));
    a.train_step(data.x.data(), data.n());
    b.train_step(data.x.data(), data.n());
    for (Param& p : b.params)
        for (int64_t i = 0; i < p.tensor.numel(); ++i) p.tensor.grad()[i] += 1000.0f;
    a.train_step(data.x.data(), data.n());
    b.train_step(data.x.data(), data.n());
    CHECK(flat(a.params) == flat(b.params));
}

TEST_CASE("L03.2 train_step: the gradient is clipped before Adam's step, the average takes exactly one update") {
    TrainConfig tc;
    tc.batch = 32;
    tc.clip = 1e-3;  // far below the first gradient's norm, so that clipping changes the step
    tc.ema_decay = 0.9f;
    Dataset data = make_two_clusters(500, 5);
    Trainer a(small_model(), tc, linear_schedule(200));
    const std::vector<std::vector<float>> shadow = a.ema.shadow;
    const float d = a.ema.current_decay();
    StepStats stats = a.train_step(data.x.data(), data.n());

    // Adam's first moment after its first step is (1 - beta1) g: g is the clipped gradient, whose
    // norm is tc.clip (Adam's step itself barely depends on the gradient's scale, so this is where
    // clipping shows).
    REQUIRE(stats.grad_norm > 100 * tc.clip);
    double m_norm = 0;
    for (const std::vector<float>& m : a.adam.m)
        for (float x : m) m_norm += double(x) * x;
    CHECK(std::sqrt(m_norm) / (1.0 - a.adam.config.beta1) == doctest::Approx(tc.clip).epsilon(1e-3).scale(0));

    // shadow = d shadow + (1 - d) w, with the weights after the step, once.
    CHECK(a.ema.updates == 1);
    for (size_t k = 0; k < a.params.size(); ++k) {
        const float* w = a.params[k].tensor.data();
        for (size_t i = 0; i < shadow[k].size(); ++i) {
            const float expected = d * shadow[k][i] + (1.0f - d) * w[i];
            if (a.ema.shadow[k][i] != expected) {
                FAIL_CHECK("parameter " << k << ", entry " << i << ": shadow " << a.ema.shadow[k][i] << ", expected "
                                        << expected << " (d = " << d << ")");
                break;
            }
        }
    }
}

TEST_CASE("train: the cosine decay of the learning rate, and a checkpoint that resumes it bit for bit") {
    TrainConfig tc;
    tc.lr = 2e-3f;
    CHECK(step_lr(tc, 0) == tc.lr);  // off: lr at every step
    CHECK(step_lr(tc, 123456) == tc.lr);
    tc.lr_decay_steps = 100;
    CHECK(step_lr(tc, 0) == tc.lr);
    CHECK(step_lr(tc, 50) == doctest::Approx(1e-3).epsilon(1e-6));   // half way: half of lr
    CHECK(step_lr(tc, 25) == doctest::Approx(2e-3 * (1 + std::sqrt(0.5)) / 2).epsilon(1e-6));
    CHECK(step_lr(tc, 100) == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(step_lr(tc, 150) == step_lr(tc, 100));  // stays at the end
    for (int k = 1; k <= 100; ++k) CHECK(step_lr(tc, k) <= step_lr(tc, k - 1));

    tc.batch = 32;
    tc.lr_decay_steps = 20;
    Dataset data = make_moons(1000, 4);
    TrainConfig constant = tc;
    constant.lr_decay_steps = 0;
    Trainer straight(small_model(), tc, cosine_schedule(100)), flat_lr(small_model(), constant, cosine_schedule(100));
    Trainer first_half(small_model(), tc, cosine_schedule(100));
    for (int i = 0; i < 20; ++i) straight.train_step(data.x.data(), data.n());
    for (int i = 0; i < 20; ++i) flat_lr.train_step(data.x.data(), data.n());
    for (int i = 0; i < 10; ++i) first_half.train_step(data.x.data(), data.n());
    const Checkpoint saved = trainer_checkpoint(first_half);
    CHECK(saved.get_meta("train.lr_decay_steps") == "20");
    CHECK_FALSE(trainer_checkpoint(flat_lr).has_meta("train.lr_decay_steps"));  // files without it are as before
    Trainer resumed = trainer_from_checkpoint(parse_checkpoint(serialize_checkpoint(saved), "mem"), "mem");
    CHECK(resumed.config.lr_decay_steps == 20);
    for (int i = 0; i < 10; ++i) resumed.train_step(data.x.data(), data.n());
    const std::vector<float> a = flat(straight.params), b = flat(resumed.params), c = flat(flat_lr.params);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    CHECK(std::memcmp(a.data(), c.data(), a.size() * 4) != 0);  // the decay changed the run
}

TEST_CASE("train: a checkpoint resumes training bit for bit") {
    TrainConfig tc;
    tc.batch = 32;
    Dataset data = make_moons(1000, 4);
    Trainer straight(small_model(), tc, cosine_schedule(100));
    Trainer first_half(small_model(), tc, cosine_schedule(100));
    for (int i = 0; i < 20; ++i) straight.train_step(data.x.data(), data.n());
    for (int i = 0; i < 10; ++i) first_half.train_step(data.x.data(), data.n());
    const std::string bytes = serialize_checkpoint(trainer_checkpoint(first_half));
    Trainer resumed = trainer_from_checkpoint(parse_checkpoint(bytes, "mem"), "mem");
    for (int i = 0; i < 10; ++i) resumed.train_step(data.x.data(), data.n());
    const std::vector<float> a = flat(straight.params), b = flat(resumed.params);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    CHECK(resumed.step == 20);
    CHECK(std::memcmp(straight.ema.shadow[1].data(), resumed.ema.shadow[1].data(), straight.ema.shadow[1].size() * 4) == 0);
}
