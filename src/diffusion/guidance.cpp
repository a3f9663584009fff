#include "diffusion/guidance.h"

#include <algorithm>
#include <string>

#include "core/common.h"
#include "diffusion/image_train.h"

namespace ddpm {

void drop_labels(std::vector<int>& labels, float p_uncond, Rng& drop_rng) {
    const int B = int(labels.size());
    std::vector<float> u(static_cast<size_t>(B));
    drop_rng.fill_uniform(u.data(), B);
    for (int b = 0; b < B; ++b)
        if (u[size_t(b)] < p_uncond) labels[size_t(b)] = -1;
}

void guided_eps(float* out, const float* eps_cond, const float* eps_uncond, int64_t n, float w) {
    // BEGIN SOLUTION L11.4
    const float a = 1.0f + w;
    for (int64_t i = 0; i < n; ++i) out[i] = a * eps_cond[i] - w * eps_uncond[i];
    // END SOLUTION
}

EpsFunction guided_eps_function(const ImageModel& model, std::vector<int> labels, float w) {
    const int classes = model.classes();
    if (classes == 0) fail("guidance: the model is not class-conditional (it has no label table)");
    for (int y : labels)
        if (y < -1 || y >= classes)
            fail("guidance: label " + std::to_string(y) + " is not in 0.." + std::to_string(classes - 1));
    if (!(w >= 0.0f && w <= 100.0f)) fail("guidance: the scale w is not in [0, 100]");
    return [&model, labels = std::move(labels), w](float* eps_out, const float* x_t, int rows, int t) {
        if (size_t(rows) != labels.size())
            fail("guidance: " + std::to_string(rows) + " rows for " + std::to_string(labels.size()) + " labels");
        const int D = 28 * 28;
        for_image_batches(x_t, rows, [&](int begin, int count, const Tensor& x) {
            const std::vector<float> tt(static_cast<size_t>(count), float(t));
            const std::vector<int> asked(labels.begin() + begin, labels.begin() + begin + count);
            const Tensor cond = model.forward(x, tt, asked);
            float* out = eps_out + int64_t(begin) * D;
            const bool any_label = std::any_of(asked.begin(), asked.end(), [](int y) { return y >= 0; });
            if (w == 0.0f || !any_label) {
                std::copy(cond.data(), cond.data() + cond.numel(), out);
                return;
            }
            const Tensor uncond = model.forward(x, tt, std::vector<int>(asked.size(), -1));
            guided_eps(out, cond.data(), uncond.data(), cond.numel(), w);
            for (int b = 0; b < count; ++b)  // a row asked for no label is the unconditional model alone
                if (asked[size_t(b)] < 0) std::copy(uncond.data() + b * D, uncond.data() + (b + 1) * D, out + b * D);
        });
    };
}

}  // namespace ddpm
