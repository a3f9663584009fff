// make classifier: trains the MNIST classifier of diffusion/classifier.h on the 60,000 training
// images and writes data/models/mnist_classifier.ckpt, the file lesson 08 and `ddpm eval` use to
// score digits (data/models/README.md has its sha256 and accuracy). Deterministic: the same file,
// byte for byte, on any machine and thread count.
#include <cstdio>

#include "diffusion/classifier.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/mnist.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

int train(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "08_mnist_classifier");
    const ImageSet train_set = load_mnist("train"), test_set = load_mnist("test");
    ClassifierConfig config;
    config.seed = args.seed;
    Stopwatch clock;
    const MnistClassifier model = train_classifier(train_set, config, [&](int step, int steps, float loss) {
        if (step % 100 == 0 || step == steps)
            std::fprintf(stderr, "  classifier step %d/%d  loss %.4f  %.0f images/s\n", step, steps, loss,
                         step * config.batch / clock.seconds());
    });
    const double accuracy = classifier_accuracy(model, test_set);
    std::printf("test accuracy %.4f (%d test images), %d epochs, %.0f s\n", accuracy, test_set.n, config.epochs,
                clock.seconds());
    // --full: write into --out instead (to compare a retraining with the shipped file)
    const std::string path = args.full ? args.out("mnist_classifier.ckpt") : "data/models/mnist_classifier.ckpt";
    make_dirs("data/models");
    save_checkpoint(path, classifier_checkpoint(model, config, accuracy));
    std::printf("wrote %s\n", path.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("train_classifier", train, argc, argv); }
