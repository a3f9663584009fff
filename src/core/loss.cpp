#include "core/loss.h"

#include <algorithm>
#include <string>

#include "core/common.h"
#include "core/dmath.h"

namespace ddpm {

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels) {
    if (logits.ndim() != 2) fail("softmax_cross_entropy: expected logits (B, K), got " + logits.shape().str());
    const int B = logits.dim(0), K = logits.dim(1);
    if (int(labels.size()) != B)
        fail("softmax_cross_entropy: " + std::to_string(labels.size()) + " labels for " + std::to_string(B) + " rows");
    for (int label : labels)
        if (label < 0 || label >= K) fail("softmax_cross_entropy: label " + std::to_string(label) + " outside [0, K)");
    Tensor out = make_output(Shape{1}, "softmax_cross_entropy", {logits});
    std::vector<float> probs(size_t(B) * K);  // softmax of each row, kept for the backward
    double total = 0.0;
    for (int b = 0; b < B; ++b) {
        const float* z = logits.data() + int64_t(b) * K;
        const double zmax = *std::max_element(z, z + K);
        double sum = 0.0;
        for (int k = 0; k < K; ++k) sum += dmath::exp(double(z[k]) - zmax);
        for (int k = 0; k < K; ++k) probs[size_t(b) * K + k] = float(dmath::exp(double(z[k]) - zmax) / sum);
        total += dmath::log(sum) + zmax - z[labels[size_t(b)]];
    }
    out.data()[0] = float(total / B);
    if (out.requires_grad()) {
        Node *o = out.node.get(), *pz = logits.node.get();
        o->backward = [o, pz, B, K, labels, probs = std::move(probs)] {
            const float g = o->grad_buffer()[0] / float(B);
            float* gz = pz->grad_buffer();
            for (int b = 0; b < B; ++b)
                for (int k = 0; k < K; ++k) {
                    const float target = k == labels[size_t(b)] ? 1.0f : 0.0f;
                    gz[int64_t(b) * K + k] += g * (probs[size_t(b) * K + k] - target);
                }
        };
    }
    return out;
}

std::vector<int> argmax_rows(const Tensor& logits) {
    if (logits.ndim() != 2) fail("argmax_rows: expected (B, K), got " + logits.shape().str());
    const int B = logits.dim(0), K = logits.dim(1);
    std::vector<int> out(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) {
        const float* z = logits.data() + int64_t(b) * K;
        out[size_t(b)] = int(std::max_element(z, z + K) - z);
    }
    return out;
}

}  // namespace ddpm
