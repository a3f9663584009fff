// loss.h: the classification loss, for the classifier whose features score generated images.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ddpm {

// Softmax cross-entropy averaged over the batch: logits (B, K), labels B classes in [0, K) -> (1),
//   loss = mean over b of ( log sum_k exp(z_bk) - z_b,label_b ),
// computed with the row's maximum subtracted first (the same value, no overflow). Backward:
// d loss / d z_bk = (softmax(z_b)_k - [k = label_b]) / B.
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels);

// The index of each row's largest logit: logits (B, K) -> B classes.
std::vector<int> argmax_rows(const Tensor& logits);

}  // namespace ddpm
