// make cold-checkpoints: trains the two models of lesson 10 on MNIST, [003]'s ConvNeXt U-Net with
// [003]'s recipe (§3.3 and §4: Adam 2e-4, batch 128, the 80/20 split), and writes for each
//
//   data/models/mnist_cold_<kind>.ckpt        the EMA weights and the process (what is shipped)
//   data/models/mnist_cold_<kind>_train.log   one line per epoch: losses, a quick score, time
//   data/models/mnist_cold_<kind>.state       the whole training state, for resuming
//
// --kind blur:  cold diffusion, z_t = G~_t * x with T = 100, beta = 1, 11 x 11 kernels; the network
//               predicts x (MSE against x).
// --kind noise: DDPM on the same network, cosine schedule, T = 1000, predicting eps.
//
// An "epoch" is 375 steps (48,000 images drawn with replacement). The state is saved every --every
// steps and at each epoch's end; rerun, the program goes on from it with the same bits as one run
// that never stopped, on any thread count. After each epoch the EMA model is scored on 100 held-out
// images: blur, the RMSE of their reconstructions from z_T (Algorithm 2); noise, the classifier's
// confidence in 100 DDIM-50 samples.
#include <cstdio>

#include "diffusion/cold.h"
#include "diffusion/ddim.h"
#include "diffusion/image_metrics.h"
#include "diffusion/image_train.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/long_run.h"
#include "lessonkit/mnist.h"
#include "lessonkit/recipes.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

const int kStepsPerEpoch = 375, kValImages = 1000, kScoreImages = 100;
enum Stream : uint64_t { kValTriples = 1, kSampleStart = 2, kSampleNoise = 3 };

struct Flags {
    std::string kind;
    int epochs = 50, every = 125, threads = default_num_threads();
};

Flags parse_flags(int argc, char** argv) {
    Flags f;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(flag + ": missing value");
            return argv[++i];
        };
        if (flag == "--kind") {
            f.kind = value();
            if (f.kind != "blur" && f.kind != "noise") fail("--kind is blur or noise, got '" + f.kind + "'");
        } else if (flag == "--epochs") f.epochs = int(parse_int(value(), 1, 10000, "--epochs"));
        else if (flag == "--every") f.every = int(parse_int(value(), 1, 1000000, "--every"));
        else if (flag == "--threads") f.threads = int(parse_int(value(), 1, 256, "--threads"));
        else if (flag == "--help" || flag == "-h") {
            std::printf("usage: %s --kind blur|noise [--epochs N] [--every STEPS] [--threads N]\n", argv[0]);
            std::exit(0);
        } else fail("unknown flag '" + flag + "' (try --help)");
    }
    if (f.kind.empty()) fail("--kind blur|noise is required (try --help)");
    return f;
}

int train(int argc, char** argv) {
    const Flags f = parse_flags(argc, argv);
    const bool blur = f.kind == "blur";
    set_num_threads(f.threads);
    const std::string base = "data/models/mnist_cold_" + f.kind;
    const std::string state = base + ".state", model_path = base + ".ckpt", log_path = base + "_train.log";
    const ImageSet train_set = load_mnist("train"), test_set = load_mnist("test");
    const MnistClassifier judge = load_scorer(test_set);
    std::vector<int> train_rows, val_rows;
    split_80_20(train_set.n, 0, train_rows, val_rows);

    LongRun run;
    run.state = state;
    run.steps = int64_t(f.epochs) * kStepsPerEpoch;
    run.block = kStepsPerEpoch;
    run.every = f.every;
    run.progress_every = 25;
    EpochFiles files;
    files.model = model_path;
    files.log = log_path;
    files.score = [&](const ImageModel& ema, const ImageTrainer& t, int) {
        EpochScore e;
        double score = 0.0;
        std::vector<float> x(size_t(kScoreImages) * 784);
        if (blur) {
            e.val_loss = cold_eval_loss(ema, t.blur, train_set, val_rows, kValImages, kValTriples);
            std::vector<float> x0(x.size());
            for (int i = 0; i < kScoreImages; ++i)
                std::copy(train_set.image(val_rows[size_t(i)]), train_set.image(val_rows[size_t(i)]) + 784,
                          x0.begin() + int64_t(i) * 784);
            blur_degrade(x.data(), x0.data(), kScoreImages, t.blur.T, t.blur);
            cold_sample(x.data(), kScoreImages, t.blur.T, t.blur, image_eps_function(ema), true);
            score = rmse(x.data(), x0.data(), int64_t(x.size()));
        } else {
            e.val_loss = image_eval_loss(ema, t.schedule, train_set, val_rows, kValImages, kValTriples);
            Rng(0, kSampleStart).fill_normal(x.data(), int64_t(x.size()));
            ddim_sample_clipped(x.data(), kScoreImages, 784, t.schedule, image_eps_function(ema),
                                ddim_timesteps(t.schedule.T, 50, Spacing::Uniform), 0.0f, kSampleNoise, 1.0f);
            for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
            score = score_digits(judge, x.data(), kScoreImages, test_set).mean_confidence;
        }
        e.fields = fmt(score, 4);
        return e;
    };
    files.model_file = [&](const ImageModel& ema, const ImageTrainer& t) {
        Checkpoint m = blur ? cold_model_checkpoint(ema, t.blur) : image_model_checkpoint(ema, t.schedule);
        m.set_meta("train.recipe", "src/shipped/train_cold.cpp --kind " + f.kind +
                                       ": ConvNeXt U-Net, Adam 2e-4, batch 128, EMA 0.999");
        return m;
    };
    RunLog log;
    ImageTrainer tr(ImageArch::UNet, cold_recipe(0, blur), blur ? Schedule{} : cosine_schedule(1000));
    resume(run, tr, log, [&](const ImageTrainer& t) {
        if ((t.config.blur_T > 0) != blur) fail(state + ": holds the other kind of model (delete it to start again)");
    });
    if (tr.step == 0) {
        log.text = "# lesson 10's " + f.kind + " model: ConvNeXt U-Net, " + std::to_string(count_values(tr.params)) +
              " parameters, " + (blur ? "blur T=100 beta=1 11 taps, predicts x_0" : "cosine T=1000, predicts eps") +
              ", Adam 2e-4, batch 128, EMA 0.999, " + std::to_string(kStepsPerEpoch) +
              " steps per epoch, threads do not change the bits\n# epoch step train_loss val_loss(EMA) " +
              (blur ? "rmse_from_z_T(100 held-out)" : "confidence(100 DDIM-50 samples)") + " seconds images_per_s\n";
    }
    run_epochs(run, files, tr, train_set, train_rows, log);
    std::printf("%s", log.text.c_str());
    std::printf("wrote %s and %s (%lld steps)\n", model_path.c_str(), log_path.c_str(), (long long)tr.step);
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("train_cold", train, argc, argv); }
