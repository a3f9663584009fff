// src/fast/ against the reference path: each installed kernel must give the same bits as the
// reference loop it replaces (core/kernels.h), on tiled and ragged shapes. In a FAST=0 build nothing
// is installed, and these cases only say so.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/rng.h"
#include "nets/dispatch.h"
#ifdef DDPM_FAST_BUILD
#include "fast/allocator.h"
#endif
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs `kernel` on a copy of `out` with the fast path and on another copy with the reference path.
void check_same_bits(const std::vector<float>& out, const std::function<void(float*)>& kernel) {
    std::vector<float> fast = out, reference = out;
    kernel(fast.data());
    {
        ReferenceOnly only;
        kernel(reference.data());
    }
    CHECK(same_bits(fast, reference));
}

}  // namespace

TEST_CASE("fast: a FAST=1 build installs every fast kernel and the sampling path") {
    if (!fast_kernels().installed) {
        MESSAGE("FAST=0 build: the reference path alone");
        CHECK_FALSE(bool(fast_nets().shared_t_forward));
        return;
    }
    const FastKernels& k = fast_kernels();
    CHECK(bool(k.gemm_acc));
    CHECK(bool(k.gemm_acc_tn));
    CHECK(bool(k.linear_forward));
    CHECK(bool(k.linear_backward));
    CHECK(bool(k.gelu_forward));
    CHECK(bool(k.silu_backward));
    CHECK(bool(k.timestep_embedding));
    CHECK(bool(k.transpose));
    CHECK(bool(k.fill_normal));
    CHECK(bool(fast_nets().shared_t_forward));
    ReferenceOnly only;
    CHECK_FALSE(bool(fast_kernels().gemm_acc));
    CHECK(fast_kernels().installed);
}

#ifdef DDPM_FAST_BUILD  // the Makefile defines it when it links src/fast/
TEST_CASE("fast: glibc's allocator keeps freed activations (FAST=1 on glibc)") {
    REQUIRE(fast_kernels().installed);
#if defined(__SANITIZE_ADDRESS__)
    MESSAGE("the sanitizer's allocator stands in for glibc's: mallopt has nothing to tune");
#elif defined(__GLIBC__)
    CHECK(allocator_tuned());
#else
    CHECK_FALSE(allocator_tuned());
#endif
}
#endif

TEST_CASE("fast: matrix products and the linear layer give the reference's bits") {
    if (!fast_kernels().installed) return;
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {8, 34, 32}, {256, 34, 128}, {37, 129, 65}, {64, 256, 130},
                             {1000, 16, 2}};
    for (const auto& s : shapes) {
        const int M = s[0], K = s[1], N = s[2];
        INFO("M=" << M << " K=" << K << " N=" << N);
        const auto A = random_values(int64_t(M) * K, 1), B = random_values(int64_t(K) * N, 2);
        const auto C = random_values(int64_t(M) * N, 3);
        check_same_bits(C, [&](float* c) { gemm_acc(c, A.data(), B.data(), M, K, N); });
        check_same_bits(C, [&](float* c) { gemm_acc_tn(c, A.data(), B.data(), M, K, N); });

        // linear with batch M, IC = K, OC = N
        const auto bias = random_values(N, 4), dout = random_values(int64_t(M) * N, 5);
        check_same_bits(C, [&](float* out) { linear_forward(out, A.data(), B.data(), bias.data(), M, K, N); });
        check_same_bits(C, [&](float* out) { linear_forward(out, A.data(), B.data(), nullptr, M, K, N); });
        const auto dx0 = random_values(int64_t(M) * K, 6), dw0 = random_values(int64_t(K) * N, 7);
        const auto db0 = random_values(N, 8);
        std::vector<float> all(dx0);  // the three gradients side by side, so one comparison covers them
        all.insert(all.end(), dw0.begin(), dw0.end());
        all.insert(all.end(), db0.begin(), db0.end());
        check_same_bits(all, [&](float* g) {
            float *dx = g, *dw = g + dx0.size(), *db = dw + dw0.size();
            linear_backward(dx, dw, db, dout.data(), A.data(), B.data(), M, K, N);
        });
    }
}

TEST_CASE("fast: activations and the timestep embedding give the reference's bits") {
    if (!fast_kernels().installed) return;
    for (int64_t n : {int64_t(1), int64_t(17), int64_t(70001)}) {
        INFO("n = " << n);
        const auto x = random_values(n, 10, 4.0f), g = random_values(n, 11), d = random_values(n, 12);
        check_same_bits(d, [&](float* out) { gelu_forward(out, x.data(), n); });
        check_same_bits(d, [&](float* out) { gelu_backward(out, x.data(), g.data(), n); });
        check_same_bits(d, [&](float* out) { silu_forward(out, x.data(), n); });
        check_same_bits(d, [&](float* out) { silu_backward(out, x.data(), g.data(), n); });
    }
    // whole-number t (from the table, first and second use) and others (computed), for two sizes
    const std::vector<float> t = {0.0f, 1.0f, 999.0f, 8191.0f, 8192.0f, 2.5f, -3.0f, 1e6f, 1.0f, 999.0f};
    for (int dim : {2, 32, 128}) {
        INFO("dim = " << dim);
        check_same_bits(std::vector<float>(t.size() * size_t(dim)),
                        [&](float* out) { timestep_embedding(out, t.data(), int(t.size()), dim); });
    }
}

TEST_CASE("fast: the transpose and the normal draws give the reference's bits") {
    if (!fast_kernels().installed) return;
    const int shapes[][2] = {{1, 1}, {3, 5}, {16, 16}, {128, 128}, {37, 130}, {128, 2}, {34, 128}};
    for (const auto& s : shapes) {
        const int R = s[0], C = s[1];
        INFO("R=" << R << " C=" << C);
        const auto in = random_values(int64_t(R) * C, 20);
        check_same_bits(std::vector<float>(in.size()), [&](float* out) { transpose(out, in.data(), R, C); });
    }
    // Seeds, streams and counters with high words (a counter that crosses 2^32 inside the fill), fills
    // shorter than, equal to and longer than the sixteen lanes, and enough draws to reach both branches
    // of log and the four quadrants of cos many times over.
    const uint64_t seeds[] = {0, 7, (uint64_t(1) << 40) + 3};
    const uint64_t streams[] = {0, 5, (uint64_t(1) << 33) + 1};
    const uint64_t counters[] = {0, (uint64_t(1) << 32) - 9};
    for (uint64_t seed : seeds)
        for (uint64_t stream : streams)
            for (uint64_t counter : counters)
                for (int64_t n : {int64_t(1), int64_t(15), int64_t(16), int64_t(17), int64_t(20011)}) {
                    INFO("seed " << seed << ", stream " << stream << ", counter " << counter << ", n " << n);
                    check_same_bits(std::vector<float>(size_t(n)), [&](float* out) {
                        Rng rng(seed, stream);
                        rng.counter = counter;
                        rng.fill_normal(out, n, n % 2 ? 0.0f : 2.0f, n % 2 ? 1.0f : 0.5f);
                    });
                }
}

// The fused training op of fast/eps_training.cpp against the op-by-op graph of EpsModel::forward:
// the output, every parameter's gradient and x_t's, bit for bit, for batches of one block, of
// several blocks and a ragged last one, on 1, 2 and 3 threads, with each activation.
TEST_CASE("fast: training's forward and backward as one op give the graph's bits, on any thread count") {
    if (!fast_kernels().installed) return;
    REQUIRE(bool(fast_nets().train_forward));
    const int saved_threads = num_threads();
    for (Activation act : {Activation::GELU, Activation::SiLU, Activation::ReLU})
        for (int B : {5, 128, 300}) {
            EpsModelConfig c;
            c.dim = 3;
            c.emb_dim = 8;
            c.hidden = 40;
            c.act = act;
            Rng init(7, 0);
            EpsModel model(c, init);
            Params params = model.params();
            const auto x_values = random_values(int64_t(B) * c.dim, 20), seed = random_values(int64_t(B) * c.dim, 21);
            std::vector<float> t(static_cast<size_t>(B));
            for (int b = 0; b < B; ++b) t[size_t(b)] = float((b * 37) % 1000 + 1);
            // output, then x_t's gradient, then every parameter's (which start from nonzero values)
            auto run = [&](bool reference, int threads) {
                set_num_threads(threads);
                for (size_t i = 0; i < params.size(); ++i) {
                    const auto g0 = random_values(params[i].tensor.numel(), 30 + i);
                    std::copy(g0.begin(), g0.end(), params[i].tensor.grad());
                }
                Tensor x = Tensor::from(Shape{B, c.dim}, x_values, true);
                std::vector<float> all;
                {
                    std::unique_ptr<ReferenceOnly> only(reference ? new ReferenceOnly : nullptr);
                    Tensor out = model.forward(x, t);
                    // the fused op runs whenever the batch has several blocks, or one thread
                    const bool fused = !reference && (B > kBatchBlock || threads == 1);
                    CHECK(std::string(out.node->op) == (fused ? "eps_mlp" : "linear"));
                    backward_from(out, seed);
                    all.assign(out.data(), out.data() + out.numel());
                }
                all.insert(all.end(), x.grad(), x.grad() + x.numel());
                for (Param& p : params) all.insert(all.end(), p.tensor.grad(), p.tensor.grad() + p.tensor.numel());
                return all;
            };
            const std::vector<float> reference = run(true, 1);
            for (int threads : {1, 2, 3}) {
                INFO(std::string(activation_name(act)) << ", batch " << B << ", " << threads << " threads");
                CHECK(same_bits(run(false, threads), reference));
            }
        }
    set_num_threads(saved_threads);
}
