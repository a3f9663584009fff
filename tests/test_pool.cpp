// The thread pool, and the promise built on it: bits that do not depend on the thread count.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <cstring>
#include <stdexcept>

#include "helpers.h"

using namespace ddpm;

namespace {

// Restores the default thread count when a test ends.
struct ThreadsGuard {
    int saved = num_threads();
    ~ThreadsGuard() { set_num_threads(saved); }
};

// One training step of the toy eps-model shape (MLP 34 -> 128 -> 128 -> 128 -> 2, GELU, batch 256,
// Adam): returns all parameters after `steps` steps, as raw floats.
std::vector<float> train_steps(int threads, int steps) {
    set_num_threads(threads);
    Rng init(1, 0);
    MLP net({34, 128, 128, 128, 2}, Activation::GELU, init);
    Params params;
    net.collect(params, "net");
    Adam adam(AdamConfig{});
    EMA ema(params, 0.99f);
    Rng data(2, 0);
    for (int s = 0; s < steps; ++s) {
        Tensor x = Tensor::zeros(Shape{256, 34});
        Tensor y = Tensor::zeros(Shape{256, 2});
        data.fill_normal(x.data(), x.numel());
        data.fill_normal(y.data(), y.numel());
        zero_grad(params);
        Tensor loss = mse(net.forward(x), y);
        backward(loss);
        clip_grad_norm(params, 1.0);
        adam.step(params);
        ema.update(params);
    }
    std::vector<float> all;
    for (const Param& p : params) all.insert(all.end(), p.tensor.data(), p.tensor.data() + p.tensor.numel());
    for (const auto& s : ema.shadow) all.insert(all.end(), s.begin(), s.end());
    return all;
}

}  // namespace

TEST_CASE("pool: every chunk runs exactly once, on any thread count") {
    ThreadsGuard guard;
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<std::atomic<int>> hits(1000);
        parallel_for(1000, [&](int64_t c) { hits[size_t(c)]++; });
        for (auto& h : hits) CHECK(h.load() == 1);
        // more chunks than one job's ticket counts (65,535): split into several jobs
        std::vector<std::atomic<int>> many(70000);
        parallel_for(70000, [&](int64_t c) { many[size_t(c)]++; });
        int64_t wrong = 0;
        for (auto& h : many) wrong += h.load() != 1;
        CHECK(wrong == 0);
    }
}

TEST_CASE("pool: an exception in a chunk reaches the caller, and the pool still works") {
    ThreadsGuard guard;
    set_num_threads(2);
    CHECK_THROWS_WITH(parallel_for(64, [](int64_t c) {
                          if (c == 17 || c == 40) throw std::runtime_error("chunk " + std::to_string(c));
                      }),
                      "chunk 17");
    std::atomic<int> n{0};
    parallel_for(10, [&](int64_t) { n++; });
    CHECK(n.load() == 10);
}

TEST_CASE("pool: a parallel_for inside a chunk runs serially") {
    ThreadsGuard guard;
    set_num_threads(2);
    std::atomic<int> n{0};
    parallel_for(4, [&](int64_t) { parallel_for(5, [&](int64_t) { n++; }); });
    CHECK(n.load() == 20);
}

TEST_CASE("pool: a training step gives bit-identical parameters with 1, 2 and 3 threads") {
    ThreadsGuard guard;
    std::vector<float> one = train_steps(1, 3);
    std::vector<float> two = train_steps(2, 3);
    std::vector<float> three = train_steps(3, 3);
    REQUIRE(one.size() == two.size());
    REQUIRE(one.size() == three.size());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(one.data(), three.data(), one.size() * sizeof(float)) == 0);
}

TEST_CASE("pool: DDPM_THREADS is validated") {
    ThreadsGuard guard;
    CHECK_THROWS_WITH(set_num_threads(0), "threads: expected 1 to 256, got 0");
}

#if defined(__linux__)
namespace {

namespace fs = std::filesystem;

// The signals blocked in thread `tid` of this process, from /proc (its "SigBlk:" line, a hex mask
// whose bit n - 1 is signal n).
unsigned long long blocked_signals(const std::string& tid) {
    std::ifstream in("/proc/self/task/" + tid + "/status");  // (a /proc file's size reads as 0)
    const std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = status.find("SigBlk:");
    REQUIRE(at != std::string::npos);
    return std::stoull(status.substr(at + 7, status.find('\n', at) - at - 7), nullptr, 16);
}

}  // namespace

TEST_CASE("pool: workers run with SIGINT, SIGTERM and SIGHUP blocked; the creating thread's mask is kept") {
    ThreadsGuard guard;
    const std::string self = std::to_string(gettid());
    const unsigned long long before = blocked_signals(self);
    const unsigned long long stop = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1)) | (1ull << (SIGHUP - 1));
    const unsigned long long usr1 = 1ull << (SIGUSR1 - 1);
    CHECK((before & (stop | usr1)) == 0);
    set_num_threads(4);
    CHECK(blocked_signals(self) == before);  // blocked only while the workers were created
    // A worker not yet started shows the C library's mask of the moment of creation (everything
    // blocked): wait until SIGUSR1 is unblocked, which means it runs with its own mask, then look.
    int workers = 0;
    for (const fs::directory_entry& e : fs::directory_iterator("/proc/self/task")) {
        const std::string tid = e.path().filename().string();
        if (tid == self) continue;
        INFO("thread " << tid);
        unsigned long long mask = blocked_signals(tid);
        for (int i = 0; i < 5000 && (mask & usr1) != 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            mask = blocked_signals(tid);
        }
        CHECK((mask & usr1) == 0);
        CHECK((mask & stop) == stop);
        ++workers;
    }
    CHECK(workers == 3);
}
#endif
