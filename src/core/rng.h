// rng.h: a counter-based random number generator (Philox4x32-10, Salmon et al., SC'11).
//
// Every random number is a pure function of (seed, stream, index): no hidden state moves between
// threads, so a chunk of work can draw "its" numbers wherever it runs, and the results are the same
// for any thread count. A stream separates independent uses (the noise of the forward process, the
// timesteps of a batch, the initial weights, ...). The state to checkpoint is three integers.
#pragma once

#include <cstdint>
#include <vector>

namespace ddpm {

// The raw generator: four 32-bit words for counter (index, stream) under key seed.
void philox4x32(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);
namespace philox {
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl increments of the key
constexpr int kRounds = 10;
}  // namespace philox

// One uniform in [0, 1) with 24 random bits; one standard normal (Box-Muller on the same block).
float uniform_at(uint64_t seed, uint64_t stream, uint64_t index);
float normal_at(uint64_t seed, uint64_t stream, uint64_t index);
// out[i] = mean + std * normal_at(seed, stream, base + i) for i < n: Rng::fill_normal's work, one
// chunk at a time (core/dispatch.cpp runs src/fast/'s version, sixteen draws at once, where it is
// installed: the same values).
void fill_normal_at(float* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, float mean, float std);
namespace reference {
void fill_normal_at(float* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, float mean, float std);
}  // namespace reference

// A cursor over one stream: each draw consumes indices [counter, counter + n).
struct Rng {
    uint64_t seed = 0;
    uint64_t stream = 0;
    uint64_t counter = 0;

    Rng() = default;
    Rng(uint64_t seed_, uint64_t stream_) : seed(seed_), stream(stream_) {}

    void fill_uniform(float* out, int64_t n, float lo = 0.f, float hi = 1.f);
    void fill_normal(float* out, int64_t n, float mean = 0.f, float std = 1.f);
    float uniform();
    float normal();
    // Uniform integer in [lo, hi] (inclusive). Multiply-shift on 32 bits: the bias is below
    // (hi - lo + 1) / 2^32, i.e. under 3e-7 for T = 1000.
    int randint(int lo, int hi);
    void fill_randint(int* out, int64_t n, int lo, int hi);
};

}  // namespace ddpm
