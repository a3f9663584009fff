// Every differentiable op against central finite differences, plus the mechanics of autograd.
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

// ---- ops of the core that are not student tasks ----------------------------------------------
TEST_CASE("grad: add") {
    check_grad([](const std::vector<Tensor>& in) { return add(in[0], in[1]); },
               {randn(Shape{3, 4}, 1), randn(Shape{3, 4}, 2)});
}

TEST_CASE("grad: sub") {
    check_grad([](const std::vector<Tensor>& in) { return sub(in[0], in[1]); },
               {randn(Shape{3, 4}, 3), randn(Shape{3, 4}, 4)});
}

TEST_CASE("grad: scale") {
    check_grad([](const std::vector<Tensor>& in) { return scale(in[0], -2.5f); }, {randn(Shape{5}, 5)});
}

TEST_CASE("grad: matmul") {
    check_grad([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
               {randn(Shape{3, 5}, 6), randn(Shape{5, 4}, 7)});
}

TEST_CASE("grad: linear with and without bias") {
    check_grad([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
               {randn(Shape{4, 6}, 8), randn(Shape{6, 3}, 9), randn(Shape{3}, 10)});
    check_grad([](const std::vector<Tensor>& in) { return linear(in[0], in[1], Tensor()); },
               {randn(Shape{4, 6}, 11), randn(Shape{6, 3}, 12)});
}

TEST_CASE("grad: relu (inputs away from the kink)") {
    check_grad([](const std::vector<Tensor>& in) { return relu(in[0]); }, {randn_away_from_zero(Shape{4, 5}, 13)});
}

TEST_CASE("grad: gelu") {
    check_grad([](const std::vector<Tensor>& in) { return gelu(in[0]); }, {randn(Shape{4, 5}, 14, true, 2.0f)});
}

TEST_CASE("grad: silu") {
    check_grad([](const std::vector<Tensor>& in) { return silu(in[0]); }, {randn(Shape{4, 5}, 15, true, 2.0f)});
}

TEST_CASE("grad: concat of features and of NCHW channels") {
    check_grad([](const std::vector<Tensor>& in) { return concat({in[0], in[1]}); },
               {randn(Shape{3, 2}, 16), randn(Shape{3, 4}, 17)});
    check_grad([](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[0]}); },
               {randn(Shape{2, 1, 3, 3}, 18), randn(Shape{2, 2, 3, 3}, 19)});
}

TEST_CASE("grad: reshape") {
    check_grad([](const std::vector<Tensor>& in) { return reshape(in[0], Shape{2, 3, 2}); }, {randn(Shape{3, 4}, 20)});
}

TEST_CASE("grad: sum and mean") {
    check_grad([](const std::vector<Tensor>& in) { return sum(in[0]); }, {randn(Shape{3, 4}, 21)});
    check_grad([](const std::vector<Tensor>& in) { return mean(in[0]); }, {randn(Shape{3, 4}, 22)});
}

TEST_CASE("grad: a small MLP end to end") {
    check_grad(
        [](const std::vector<Tensor>& in) {
            Tensor h = gelu(linear(in[0], in[1], in[2]));
            return linear(h, in[3], in[4]);
        },
        {randn(Shape{5, 3}, 23), randn(Shape{3, 8}, 24), randn(Shape{8}, 25), randn(Shape{8, 2}, 26),
         randn(Shape{2}, 27)});
}

// ---- student task L00.2: mul and mse -------------------------------------------------------------
TEST_CASE("L00.2 mul: gradient by hand") {
    Tensor a = Tensor::from(Shape{3}, {1.0f, -2.0f, 3.0f}, true);
    Tensor b = Tensor::from(Shape{3}, {4.0f, 5.0f, -6.0f}, true);
    Tensor y = sum(mul(a, b));
    backward(y);
    for (int i = 0; i < 3; ++i) {
        CHECK(a.grad()[i] == b.data()[i]);
        CHECK(b.grad()[i] == a.data()[i]);
    }
}

TEST_CASE("L00.2 mul: matches central differences, also with a shared input") {
    check_grad([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); },
               {randn(Shape{3, 4}, 28), randn(Shape{3, 4}, 29)});
    check_grad([](const std::vector<Tensor>& in) { return mul(in[0], in[0]); }, {randn(Shape{6}, 30)});
}

TEST_CASE("L00.2 mse: gradient by hand") {
    Tensor p = Tensor::from(Shape{2, 2}, {1.0f, 2.0f, 3.0f, 4.0f}, true);
    Tensor y = Tensor::from(Shape{2, 2}, {0.0f, 2.0f, 5.0f, 4.5f}, true);
    Tensor loss = mse(p, y);
    CHECK(loss.item() == doctest::Approx((1.0 + 0.0 + 4.0 + 0.25) / 4.0));
    backward(loss);
    const float expected[4] = {0.5f, 0.0f, -1.0f, -0.25f};  // (2/n)(p - y)
    for (int i = 0; i < 4; ++i) {
        CHECK(p.grad()[i] == doctest::Approx(expected[i]));
        CHECK(y.grad()[i] == doctest::Approx(-expected[i]));
    }
}

TEST_CASE("L00.2 mse: matches central differences") {
    check_grad([](const std::vector<Tensor>& in) { return mse(in[0], in[1]); },
               {randn(Shape{4, 3}, 31), randn(Shape{4, 3}, 32)});
}

// ---- mechanics -----------------------------------------------------------------------------------
TEST_CASE("autograd: a tensor used twice receives both contributions") {
    Tensor x = Tensor::from(Shape{2}, {1.0f, 2.0f}, true);
    Tensor y = sum(add(scale(x, 3.0f), x));  // dy/dx = 4
    backward(y);
    CHECK(x.grad()[0] == 4.0f);
    CHECK(x.grad()[1] == 4.0f);
}

TEST_CASE("autograd: NoGrad records nothing") {
    Tensor x = randn(Shape{2, 2}, 33);
    NoGrad no_grad;
    Tensor y = gelu(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node->parents.empty());
}

TEST_CASE("autograd: shape errors are one clear line") {
    Tensor a = randn(Shape{2, 3}, 34), b = randn(Shape{3, 2}, 35);
    CHECK_THROWS_WITH(add(a, b), "add: shapes differ, (2, 3) and (3, 2)");
    CHECK_THROWS_WITH(matmul(a, a), "matmul: inner dimensions differ, (2, 3) . (2, 3)");
    CHECK_THROWS_WITH(reshape(a, Shape{4}), "reshape: (2, 3) has 6 values, (4) needs 4");
    Tensor s = sum(a);
    Tensor not_scalar = add(a, a);
    CHECK_THROWS_WITH(backward(not_scalar), "backward(): the loss must be one value, got shape (2, 3)");
}

TEST_CASE("timestep_embedding: shape and values") {
    Tensor e = timestep_embedding({0.0f, 10.0f, 999.0f}, 32);
    CHECK(e.shape() == Shape{3, 32});
    CHECK(e.at({0, 0}) == 0.0f);
    CHECK(e.at({0, 16}) == 1.0f);
    CHECK(e.at({1, 0}) == doctest::Approx(std::sin(10.0)));
    CHECK_THROWS(timestep_embedding({1.0f}, 7));
}
