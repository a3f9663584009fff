// Layers, optimisers (student task L00.3: Adam), EMA and clipping.
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

TEST_CASE("nn: Linear init bounds, MLP shapes and parameter names") {
    Rng rng(0, 0);
    MLP net({3, 16, 16, 2}, Activation::GELU, rng);
    Params params;
    net.collect(params, "net");
    REQUIRE(params.size() == 6);
    CHECK(params[0].name == "net.0.weight");
    CHECK(params[5].name == "net.2.bias");
    CHECK(params[0].tensor.shape() == Shape{3, 16});
    CHECK(count_values(params) == 3 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
    for (int64_t i = 0; i < params[0].tensor.numel(); ++i)
        CHECK(std::fabs(params[0].tensor.data()[i]) <= 1.0f / std::sqrt(3.0f));
    Tensor y = net.forward(Tensor::zeros(Shape{5, 3}));
    CHECK(y.shape() == Shape{5, 2});
}

TEST_CASE("nn: residual block is x + fc2(act(fc1 x)) and has correct gradients") {
    Rng rng(0, 1);
    ResidualBlock block(4, 8, Activation::SiLU, rng);
    Tensor x = randn(Shape{3, 4}, 50);
    Tensor y = block.forward(x);
    Tensor branch = block.fc2.forward(silu(block.fc1.forward(x)));
    for (int64_t i = 0; i < y.numel(); ++i) CHECK(y.data()[i] == doctest::Approx(x.data()[i] + branch.data()[i]));
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return block.forward(in[0]); }, {x});
    CHECK(r.ok);
}

// Adam by hand for one parameter value, two steps (Kingma and Ba 2015, Algorithm 1).
TEST_CASE("L00.3 Adam: two steps by hand, with bias correction") {
    Tensor w = Tensor::from(Shape{1}, {1.0f}, true);
    Params params = {{"w", w}};
    Adam adam(AdamConfig{0.1f, 0.9f, 0.999f, 1e-8f, 0.0f});
    const double grads[2] = {0.5, -2.0};
    double m = 0, v = 0, expected = 1.0;
    for (int t = 1; t <= 2; ++t) {
        w.grad()[0] = float(grads[t - 1]);
        adam.step(params);
        m = 0.9 * m + 0.1 * grads[t - 1];
        v = 0.999 * v + 0.001 * grads[t - 1] * grads[t - 1];
        double m_hat = m / (1 - std::pow(0.9, t)), v_hat = v / (1 - std::pow(0.999, t));
        expected -= 0.1 * m_hat / (std::sqrt(v_hat) + 1e-8);
        CHECK(w.data()[0] == doctest::Approx(expected).epsilon(1e-5));
    }
    CHECK(adam.t == 2);
    // The first step moves by lr exactly, whatever the gradient's size: the bias correction at work.
    Tensor u = Tensor::from(Shape{1}, {0.0f}, true);
    Params p2 = {{"u", u}};
    Adam fresh(AdamConfig{0.1f, 0.9f, 0.999f, 1e-8f, 0.0f});
    u.grad()[0] = 1e-3f;
    fresh.step(p2);
    CHECK(u.data()[0] == doctest::Approx(-0.1).epsilon(1e-4));
}

TEST_CASE("L00.3 Adam: AdamW decays the weights apart from the gradient") {
    Tensor w = Tensor::from(Shape{2}, {2.0f, -4.0f}, true);
    Params params = {{"w", w}};
    Adam adam(AdamConfig{0.01f, 0.9f, 0.999f, 1e-8f, 0.5f});
    adam.step(params);  // zero gradient: only the decay moves the weights
    CHECK(w.data()[0] == doctest::Approx(2.0 * (1 - 0.01 * 0.5)));
    CHECK(w.data()[1] == doctest::Approx(-4.0 * (1 - 0.01 * 0.5)));
}

TEST_CASE("L00.3 Adam fits a small MLP to a sine") {
    Rng rng(3, 0);
    MLP net({1, 32, 32, 1}, Activation::GELU, rng);
    Params params;
    net.collect(params, "net");
    Adam adam(AdamConfig{1e-2f});
    Tensor x = Tensor::zeros(Shape{64, 1}), y = Tensor::zeros(Shape{64, 1});
    for (int i = 0; i < 64; ++i) {
        x.data()[i] = -2.0f + 4.0f * i / 63.0f;
        y.data()[i] = std::sin(2.0f * x.data()[i]);
    }
    float first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
        zero_grad(params);
        Tensor loss = mse(net.forward(x), y);
        backward(loss);
        adam.step(params);
        if (step == 0) first = loss.item();
        last = loss.item();
    }
    CHECK(last < 0.02f * first);
}

TEST_CASE("optim: SGD with momentum, EMA, clipping") {
    Tensor w = Tensor::from(Shape{1}, {1.0f}, true);
    Params params = {{"w", w}};
    SGD sgd{0.1f, 0.9f, {}};
    w.grad()[0] = 1.0f;
    sgd.step(params);  // buf = 1, w = 0.9
    sgd.step(params);  // buf = 1.9, w = 0.71
    CHECK(w.data()[0] == doctest::Approx(0.71));

    EMA ema(params, 0.5f);
    w.data()[0] = 1.71f;
    ema.update(params);  // warm-up: d = min(0.5, 1/10) = 0.1, so 0.1 * 0.71 + 0.9 * 1.71
    CHECK(ema.shadow[0][0] == doctest::Approx(1.61));
    ema.copy_to(params);
    CHECK(w.data()[0] == doctest::Approx(1.61));
    EMA slow(params, 0.999f);
    for (int k = 0; k < 5; ++k) slow.update(params);
    CHECK(slow.current_decay() == doctest::Approx(6.0 / 15.0));  // (1 + 5) / (10 + 5)
    for (int k = 0; k < 20000; ++k) slow.updates++;
    CHECK(slow.current_decay() == doctest::Approx(0.999));
    CHECK_THROWS(EMA(params, 1.0f));

    Tensor a = Tensor::from(Shape{2}, {0.0f, 0.0f}, true);
    Params two = {{"a", a}};
    a.grad()[0] = 3.0f;
    a.grad()[1] = 4.0f;
    CHECK(clip_grad_norm(two, 1.0) == doctest::Approx(5.0));
    CHECK(a.grad()[0] == doctest::Approx(0.6).epsilon(1e-5));
    CHECK(a.grad()[1] == doctest::Approx(0.8).epsilon(1e-5));
    CHECK(clip_grad_norm(two, 10.0) == doctest::Approx(1.0).epsilon(1e-5));  // below the limit: unchanged
    CHECK(a.grad()[1] == doctest::Approx(0.8).epsilon(1e-5));
}
