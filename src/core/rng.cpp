#include "core/rng.h"

#include <cmath>

#include "core/common.h"
#include "core/dmath.h"
#include "core/kernels.h"
#include "core/pool.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Philox4x32-10: ten rounds of two 32x32->64 multiplications, key bumped by Weyl constants.
// ---------------------------------------------------------------------------------------------
void philox4x32(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]) {
    using namespace philox;
    uint32_t c0 = uint32_t(index), c1 = uint32_t(index >> 32);
    uint32_t c2 = uint32_t(stream), c3 = uint32_t(stream >> 32);
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int round = 0; round < kRounds; ++round) {
        uint64_t p0 = uint64_t(kM0) * c0;
        uint64_t p1 = uint64_t(kM1) * c2;
        uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = uint32_t(p1);
        uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = uint32_t(p0);
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += kW0; k1 += kW1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

namespace {

// 24 random bits -> a float in [0, 1), exactly representable.
float to_unit(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

// Box-Muller: u1 in (0, 1] so that log(u1) is finite.
float box_muller(uint32_t a, uint32_t b) {
    double u1 = (double(a >> 8) + 1.0) / 16777216.0;
    double u2 = double(b >> 8) / 16777216.0;
    return float(std::sqrt(-2.0 * dmath::log(u1)) * dmath::cos(2.0 * dmath::kPi * u2));
}

// Draws per chunk when filling large buffers. Each value is a function of its index alone, so the
// chunks change which thread draws it, never what it is. Small enough that sampling's 20,000
// normals a step (10,000 rows of 2 columns) make ten chunks: two threads get five each, where
// chunks of 16,384 gave one thread four fifths of the work.
const int64_t kRngGrain = 2048;

}  // namespace

float uniform_at(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t r[4];
    philox4x32(seed, stream, index, r);
    return to_unit(r[0]);
}

float normal_at(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t r[4];
    philox4x32(seed, stream, index, r);
    return box_muller(r[0], r[1]);
}

// ---------------------------------------------------------------------------------------------
// Rng: a cursor. Fills are split in fixed chunks; element i always gets index counter + i.
// ---------------------------------------------------------------------------------------------
void Rng::fill_uniform(float* out, int64_t n, float lo, float hi) {
    const uint64_t base = counter;
    parallel_range(n, kRngGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = lo + (hi - lo) * uniform_at(seed, stream, base + i);
    });
    counter += uint64_t(n);
}

void reference::fill_normal_at(float* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, float mean,
                               float std) {
    for (int64_t i = 0; i < n; ++i) out[i] = mean + std * normal_at(seed, stream, base + uint64_t(i));
}

void Rng::fill_normal(float* out, int64_t n, float mean, float std) {
    const uint64_t base = counter;
    parallel_range(n, kRngGrain, [&](int64_t begin, int64_t end) {
        fill_normal_at(out + begin, end - begin, seed, stream, base + uint64_t(begin), mean, std);
    });
    counter += uint64_t(n);
}

float Rng::uniform() { return uniform_at(seed, stream, counter++); }
float Rng::normal() { return normal_at(seed, stream, counter++); }

int Rng::randint(int lo, int hi) {
    if (hi < lo) fail("randint: empty range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    uint32_t r[4];
    philox4x32(seed, stream, counter++, r);
    uint64_t span = uint64_t(int64_t(hi) - lo + 1);
    return int(lo + int64_t((uint64_t(r[0]) * span) >> 32));
}

void Rng::fill_randint(int* out, int64_t n, int lo, int hi) {
    for (int64_t i = 0; i < n; ++i) out[i] = randint(lo, hi);
}

}  // namespace ddpm
