// madd.h: a * b + c with one rounding, the fused multiply-add of IEEE 754 (fusedMultiplyAdd).
//
// The arithmetic rule (docs/reproducibility.md, rule 1): every product that a kernel adds into a sum
// (a matrix product, a convolution, attention, a filter, a polynomial by Horner's rule) is one
// madd, written out here in the source; the build's -ffp-contract=off keeps the compiler from fusing
// anything else. madd is exact up to its one rounding, so every machine computes the same bits:
// with a hardware FMA (x86-64 since Haswell and Zen, every aarch64) it is one instruction; on a
// target without one (an SSE2-only x86-64 build) the C library's fmaf computes the same value in
// software, slowly. src/fast/ uses the FMA instruction of its vectors (fast/fma.h) in the same order.
#pragma once

#include <cmath>

namespace ddpm {

inline float madd(float a, float b, float c) { return std::fma(a, b, c); }
inline double madd(double a, double b, double c) { return std::fma(a, b, c); }

}  // namespace ddpm
