// gradcheck.h: checks a backward pass against central finite differences.
//
// For a function out = f(inputs), draw a fixed random R of out's shape and differentiate the scalar
// L = sum_k R_k out_k two ways:
//   analytic:  one backward pass seeded with d L / d out = R;
//   numeric:   for every input value x_j,  (L(x_j + h) - L(x_j - h)) / (2 h),
//              whose error is O(h^2) (Taylor: the even terms cancel), against O(h) one-sided.
// A random projection checks every output at once, where a plain sum could let errors cancel.
// Values are float32, so h cannot be tiny: rounding in L grows like 1e-7 / h. h = 1e-2 balances the
// two for inputs of order one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ddpm {

struct GradcheckOptions {
    double h = 1e-2;      // step of the central difference
    double atol = 1e-3;   // an element passes if |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|)
    double rtol = 1e-2;
    uint64_t seed = 1234;
};

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0.0;
    double max_rel_error = 0.0;   // |numeric - analytic| / max(|numeric|, |analytic|), where that max >= 1e-2
    int64_t checked = 0;          // input values checked
    std::string worst;            // "input 1 [7]: numeric 0.51, analytic 0.25" for the worst element
};

using GradFunction = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks the gradient of f with respect to every input that requires grad.
GradcheckResult gradcheck(const GradFunction& f, std::vector<Tensor> inputs, GradcheckOptions options = {});

// The numeric half alone: d(sum_k R_k f_k)/d(input value) by central differences, for one input.
std::vector<double> numeric_gradient(const GradFunction& f, std::vector<Tensor>& inputs, size_t which,
                                     const std::vector<float>& projection, double h);

}  // namespace ddpm
