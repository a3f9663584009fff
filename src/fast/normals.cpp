// fast/normals.cpp: Rng::fill_normal's standard normals sixteen at a time, installed as
// fast_kernels().fill_normal. Each value is what normal_at (core/rng.cpp) gives for its index: the
// same Philox rounds, the same Box-Muller, the same operations of dmath::log and dmath::cos in the
// same order (tests/test_fast.cpp compares them bit for bit).
//
// Why: one draw at a time, a normal costs a Philox block and dmath's log and cos with their
// branches and a call to frexp, about 110 cycles; sampling the toy model draws two per point and
// step, a tenth of its time, and a training step spends 30 us on them on its calling thread. Written
// without branches and over arrays of sixteen lanes, the compiler turns each step into vector
// instructions. What changes against the scalar code, and why the bits do not:
//   - frexp(u1) is read off the bits: u1 = (a + 1) / 2^24 is a positive normal double, whose
//     frexp is m = its significand with the exponent of 0.5, e = its exponent field - 1022;
//   - log's and cos's branches (m < sqrt 1/2; the quadrant n & 3) are selections between values
//     both computed the same way as the taken branch computes its one;
//   - nearbyint(y) for 0 <= y < 4 is (y + 1.5 2^52) - 1.5 2^52: at that magnitude a double's unit is
//     1, so the addition rounds y to an integer, ties to even, as nearbyint does in the default mode.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/dispatch.h"
#include "core/dmath.h"
#include "core/kernels.h"
#include "core/rng.h"

namespace ddpm {
namespace {

using namespace dmath::detail;

const int kLanes = 16;
typedef uint64_t u64v __attribute__((vector_size(8 * kLanes)));
const uint64_t kLow = 0xffffffffu;

// dmath::log(x) for a positive normal x
inline double log_of_normal(double x) {
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const int e0 = int(bits >> 52) - 1022;                            // frexp's exponent
    bits = (bits & 0x000fffffffffffffull) | 0x3fe0000000000000ull;  // frexp's m, in [0.5, 1)
    double m0;
    std::memcpy(&m0, &bits, sizeof m0);
    const bool low = m0 < kSqrtHalf;
    const double m = low ? m0 * 2.0 : m0;
    const int e = low ? e0 - 1 : e0;
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double p = kOdd[10];
    for (int i = 9; i >= 0; --i) p = p * s2 + kOdd[i];
    const double log_m = 2.0 * s * p;
    return (e * kLn2Hi + log_m) + e * kLn2Lo;
}

// dmath::cos(x) for 0 <= x < 2^51 pi / 2 (here x = 2 pi u2 < 2 pi)
inline double cos_of_nonnegative(double x) {
    const double magic = 6755399441055744.0;  // 1.5 2^52
    const double k = (x * kTwoOverPi + magic) - magic;
    const int n = int(int64_t(k) & 3);
    double r = x - k * kPio2_1;
    r = r - k * kPio2_2;
    r = r - k * kPio2_3;
    const double r2 = r * r;
    double sp = kSinTaylor[8];
    for (int i = 7; i >= 0; --i) sp = sp * r2 + kSinTaylor[i];
    sp = r * sp;
    double cp = kCosTaylor[9];
    for (int i = 8; i >= 0; --i) cp = cp * r2 + kCosTaylor[i];
    const double even = n == 0 ? cp : -cp;  // quadrants 0 and 2
    const double odd = n == 1 ? -sp : sp;   // quadrants 1 and 3
    return (n & 1) ? odd : even;
}

void fill_normal_fast(float* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t base, float mean, float std) {
    using namespace philox;
    for (int64_t i0 = 0; i0 < n; i0 += kLanes) {
        // the four words of each counter, one per 64-bit lane of a vector, so that philox4x32's
        // 32 x 32 -> 64-bit products are vector multiplies (GCC's and clang's vector extension)
        u64v c0, c1, c2, c3;
        for (int l = 0; l < kLanes; ++l) {
            const uint64_t index = base + uint64_t(i0) + uint64_t(l);
            c0[l] = index & kLow;
            c1[l] = index >> 32;
            c2[l] = stream & kLow;
            c3[l] = stream >> 32;
        }
        uint64_t k0 = seed & kLow, k1 = seed >> 32;
        for (int round = 0; round < kRounds; ++round) {  // philox4x32's rounds, word for word
            const u64v p0 = (c0 & kLow) * kM0;
            const u64v p1 = (c2 & kLow) * kM1;
            c0 = (p1 >> 32) ^ c1 ^ k0;
            c1 = p1 & kLow;
            c2 = (p0 >> 32) ^ c3 ^ k1;
            c3 = p0 & kLow;
            k0 = (k0 + kW0) & kLow;
            k1 = (k1 + kW1) & kLow;
        }
        float v[kLanes];
        for (int l = 0; l < kLanes; ++l) {  // box_muller(c0, c1) of core/rng.cpp
            const double u1 = (double(uint32_t(c0[l]) >> 8) + 1.0) / 16777216.0;
            const double u2 = double(uint32_t(c1[l]) >> 8) / 16777216.0;
            v[l] = float(std::sqrt(-2.0 * log_of_normal(u1)) * cos_of_nonnegative(2.0 * dmath::kPi * u2));
        }
        const int w = int(std::min<int64_t>(kLanes, n - i0));
        for (int l = 0; l < w; ++l) out[i0 + l] = mean + std * v[l];
    }
}

const bool kInstalled = [] {
    fast_kernels().fill_normal = fill_normal_fast;
    return true;
}();

}  // namespace
}  // namespace ddpm
