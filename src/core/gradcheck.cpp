#include "core/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/common.h"
#include "core/rng.h"

namespace ddpm {

namespace {

// L = sum_k R_k out_k, in double.
double projected(const Tensor& out, const std::vector<float>& projection) {
    double s = 0.0;
    for (int64_t k = 0; k < out.numel(); ++k) s += double(projection[size_t(k)]) * double(out.data()[k]);
    return s;
}

}  // namespace

std::vector<double> numeric_gradient(const GradFunction& f, std::vector<Tensor>& inputs, size_t which,
                                     const std::vector<float>& projection, double h) {
    NoGrad no_grad;  // only values are needed here
    Tensor& x = inputs[which];
    std::vector<double> grad(size_t(x.numel()), 0.0);
    // BEGIN SOLUTION L00.1
    for (int64_t j = 0; j < x.numel(); ++j) {
        const float saved = x.data()[j];
        x.data()[j] = float(double(saved) + h);
        const double plus = projected(f(inputs), projection);
        x.data()[j] = float(double(saved) - h);
        const double minus = projected(f(inputs), projection);
        x.data()[j] = saved;
        grad[size_t(j)] = (plus - minus) / (2.0 * h);
    }
    // END SOLUTION
    return grad;
}

GradcheckResult gradcheck(const GradFunction& f, std::vector<Tensor> inputs, GradcheckOptions options) {
    // Analytic gradients: one backward pass seeded with R.
    for (Tensor& x : inputs)
        if (x.requires_grad()) std::fill(x.grad(), x.grad() + x.numel(), 0.0f);
    Tensor out = f(inputs);
    std::vector<float> projection(size_t(out.numel()));
    Rng rng(options.seed, 0);
    rng.fill_normal(projection.data(), out.numel());
    backward_from(out, projection);

    GradcheckResult result;
    double worst_excess = -1.0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        std::vector<float> analytic(inputs[i].grad(), inputs[i].grad() + inputs[i].numel());
        std::vector<double> numeric = numeric_gradient(f, inputs, i, projection, options.h);
        for (size_t j = 0; j < analytic.size(); ++j) {
            const double a = analytic[j], n = numeric[j];
            const double err = std::fabs(n - a);
            const double bound = options.atol + options.rtol * std::max(std::fabs(n), std::fabs(a));
            result.max_abs_error = std::max(result.max_abs_error, err);
            const double magnitude = std::max(std::fabs(n), std::fabs(a));
            if (magnitude >= 1e-2) result.max_rel_error = std::max(result.max_rel_error, err / magnitude);
            if (err > bound) result.ok = false;
            if (err - bound > worst_excess) {
                worst_excess = err - bound;
                char buf[160];
                std::snprintf(buf, sizeof buf, "input %zu [%zu]: numeric %.6g, analytic %.6g", i, j, n, a);
                result.worst = buf;
            }
            ++result.checked;
        }
    }
    if (result.checked == 0) fail("gradcheck: no input requires grad");
    return result;
}

}  // namespace ddpm
