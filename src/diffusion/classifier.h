// classifier.h: a small MNIST classifier whose features score generated digits.
//
// The Frechet distance of generated images needs features that tell digits apart. Inception's (the
// "FID" of Heusel et al. 2017) are far too large for this project and were trained on other images,
// so the project trains its own LeNet-like network (after LeCun et al. 1998) with its own core:
//
//   conv 5x5, 1 -> 16, pad 2, ReLU, average pool 2   (16, 14, 14)
//   conv 5x5, 16 -> 32, pad 2, ReLU, average pool 2  (32, 7, 7)
//   flatten, linear 1568 -> 128, ReLU                 the features (128)
//   linear 128 -> 10                                  the logits
//
// Trained with Adam and softmax cross-entropy; data/models/ ships its weights (README there).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/image_nn.h"
#include "diffusion/images.h"

namespace ddpm {

const int kClassifierFeatures = 128;

// The random streams of the classifier: its initial weights (a reader builds the network from stream 70
// before it loads the file's weights into it) and the order of its training batches.
enum ClassifierStream : uint64_t { kClassifierInit = 70, kClassifierShuffle = 71 };

struct MnistClassifier {
    Conv2d conv1, conv2;
    Linear fc1, fc2;

    MnistClassifier() = default;
    explicit MnistClassifier(Rng& rng);
    Tensor features(const Tensor& x) const;  // (B, 1, 28, 28) -> (B, 128)
    Tensor logits(const Tensor& x) const;    // (B, 1, 28, 28) -> (B, 10)
    Params params() const;
};

struct ClassifierConfig {
    int epochs = 3;
    int batch = 128;
    float lr = 1e-3f;
    uint64_t seed = 0;
};

// Trains on `train` (shuffled each epoch by the seed); progress(step, steps, loss) after each step.
MnistClassifier train_classifier(const ImageSet& train, const ClassifierConfig& config,
                                 const std::function<void(int, int, float)>& progress = {});

// The fraction of `set` classified right.
double classifier_accuracy(const MnistClassifier& model, const ImageSet& set);
// The features of n images (n, 1, 28, 28): (n, 128) row-major, in batches without a graph.
std::vector<float> classifier_features(const MnistClassifier& model, const float* images, int n);
// The class probabilities (softmax of the logits) of n images: (n, 10) row-major.
std::vector<double> classifier_probabilities(const MnistClassifier& model, const float* images, int n);


}  // namespace ddpm
