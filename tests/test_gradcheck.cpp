// Student task L00.1: the central-difference gradient, and the check built on it.
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

TEST_CASE("L00.1 numeric_gradient of GELU agrees with its derivative") {
    std::vector<Tensor> inputs = {randn(Shape{10}, 40, false, 2.0f)};
    std::vector<float> projection = {1.0f, -1.0f, 0.5f, 2.0f, -0.3f, 1.5f, 0.7f, -2.0f, 0.1f, 1.0f};
    GradFunction f = [](const std::vector<Tensor>& in) { return gelu(in[0]); };
    std::vector<double> numeric = numeric_gradient(f, inputs, 0, projection, 1e-2);
    std::vector<double> exact(10);
    for (int j = 0; j < 10; ++j) exact[size_t(j)] = projection[size_t(j)] * gelu_derivative_exact(inputs[0].data()[j]);
    REQUIRE(numeric.size() == 10);
    for (int j = 0; j < 10; ++j) CHECK(numeric[size_t(j)] == doctest::Approx(exact[size_t(j)]).epsilon(1e-3));
}

TEST_CASE("L00.1 numeric_gradient leaves the inputs as they were") {
    std::vector<Tensor> inputs = {randn(Shape{6}, 41, false)};
    std::vector<float> before(inputs[0].data(), inputs[0].data() + 6);
    GradFunction f = [](const std::vector<Tensor>& in) { return scale(in[0], 3.0f); };
    std::vector<double> g = numeric_gradient(f, inputs, 0, std::vector<float>(6, 1.0f), 1e-2);
    for (int j = 0; j < 6; ++j) {
        CHECK(inputs[0].data()[j] == before[size_t(j)]);
        CHECK(g[size_t(j)] == doctest::Approx(3.0).epsilon(1e-4));
    }
}

// An op whose backward is wrong by a factor of two: gradcheck must notice.
namespace {
Tensor double_wrong(const Tensor& x, float factor) {
    Tensor out = make_output(x.shape(), "cube", {x});
    for (int64_t i = 0; i < x.numel(); ++i) out.data()[i] = x.data()[i] * x.data()[i] * x.data()[i];
    if (out.requires_grad()) {
        Node *o = out.node.get(), *px = x.node.get();
        o->backward = [o, px, factor] {
            for (size_t i = 0; i < px->data.size(); ++i)
                px->grad_buffer()[i] += factor * 3.0f * px->data[i] * px->data[i] * o->grad_buffer()[i];
        };
    }
    return out;
}
}  // namespace

TEST_CASE("L00.1 gradcheck passes a right backward and catches a wrong one") {
    auto right = gradcheck([](const std::vector<Tensor>& in) { return double_wrong(in[0], 1.0f); },
                           {randn(Shape{8}, 42)});
    CHECK(right.ok);
    auto wrong = gradcheck([](const std::vector<Tensor>& in) { return double_wrong(in[0], 2.0f); },
                           {randn(Shape{8}, 42)});
    CHECK_FALSE(wrong.ok);
    CHECK(wrong.max_abs_error > 0.1);
}
