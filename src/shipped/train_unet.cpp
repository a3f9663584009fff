// make unet-checkpoint: trains lesson 09's U-Net (nets/unet.h, residual blocks) on MNIST and
// writes the checkpoint that lesson 09 and `ddpm sample` draw digits from, with its training log:
//
//   data/models/mnist_unet.ckpt          the EMA weights and the schedule (what is shipped)
//   data/models/mnist_unet_train.log     one line per epoch: losses, the classifier's figures, time
//   data/models/mnist_unet.state         the whole training state (weights, EMA, Adam, counters)
//
// The recipe: cosine schedule, T = 1000 ([003] §4), Adam at 1e-3 with batch 64 (what
// ../shared/PERFORMANCE-NOTES.md found to buy digits soonest), EMA 0.999 with its warm-up, gradient
// clipping at 1, on the 80% split of the 60,000 training images. An "epoch" is 750 steps
// (48,000 images, drawn with replacement).
//
// Training takes hours, so it saves its state every --every steps and at each epoch's end, and starts
// from the state file when there is one: stopped and resumed, it gives the same bits as one run that
// never stopped, on any thread count. After each epoch the EMA model draws --samples digits (DDIM,
// 50 steps, from one fixed x_T) and the shipped classifier scores them.
//
// --conditional trains the class-conditional U-Net of lesson 11 part 4 instead (the same recipe, plus
// a label table, each label dropped with probability 0.1: Ho and Salimans 2022) into
// data/models/mnist_unet_cond.{ckpt,state} and mnist_unet_cond_train.log. Its digits at each epoch's
// end are asked for class i % 10 with guidance w = 1, and the log adds the classifier's accuracy
// on the asked-for class.
#include <algorithm>
#include <cstdio>

#include "diffusion/ddim.h"
#include "diffusion/guidance.h"
#include "diffusion/image_train.h"
#include "diffusion/sampler.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/long_run.h"
#include "lessonkit/mnist.h"
#include "lessonkit/recipes.h"
#include "plot/plot.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

const int kStepsPerEpoch = 750, kValImages = 1000, kDdimSteps = 50;
enum Stream : uint64_t { kValTriples = 1, kSampleStart = 2, kSampleNoise = 3 };

struct Flags {
    int epochs = 30, every = 250, samples = 250, threads = default_num_threads();
    std::string score;          // --score FILE: measure a model file instead of training
    std::string sampler = "both";
    std::string note;           // --note TEXT: a "# TEXT" line added to the log at this start
    bool conditional = false;   // --conditional: lesson 11's class-conditional U-Net
    std::string state = "data/models/mnist_unet.state", model = "data/models/mnist_unet.ckpt",
                log = "data/models/mnist_unet_train.log", grids = "out/09_unet/training";
};

Flags parse_flags(int argc, char** argv) {
    Flags f;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(flag + ": missing value");
            return argv[++i];
        };
        if (flag == "--epochs") f.epochs = int(parse_int(value(), 1, 10000, "--epochs"));
        else if (flag == "--every") f.every = int(parse_int(value(), 1, 1000000, "--every"));
        else if (flag == "--samples") f.samples = int(parse_int(value(), 10, 3333, "--samples"));
        else if (flag == "--threads") f.threads = int(parse_int(value(), 1, 256, "--threads"));
        else if (flag == "--state") f.state = value();
        else if (flag == "--model") f.model = value();
        else if (flag == "--log") f.log = value();
        else if (flag == "--grids") f.grids = value();
        else if (flag == "--score") f.score = value();
        else if (flag == "--note") f.note = value();
        else if (flag == "--conditional") {
            f.conditional = true;
            f.state = "data/models/mnist_unet_cond.state";
            f.model = "data/models/mnist_unet_cond.ckpt";
            f.log = "data/models/mnist_unet_cond_train.log";
            f.grids = "out/11_likelihood/training";
        }
        else if (flag == "--sampler") {
            f.sampler = value();
            if (f.sampler != "ddim" && f.sampler != "ddpm" && f.sampler != "both")
                fail("--sampler is ddim, ddpm or both, got '" + f.sampler + "'");
        }
        else if (flag == "--help" || flag == "-h") {
            std::printf("usage: %s [--epochs N] [--every STEPS] [--samples N] [--threads N] [--state F] [--model F] "
                        "[--log F] [--grids DIR] [--conditional]\n       %s --score MODEL [--samples N] [--sampler ddim|ddpm|both] [--threads N]\n",
                        argv[0], argv[0]);
            std::exit(0);
        } else fail("unknown flag '" + flag + "' (try --help)");
    }
    return f;
}

const float kScoreGuidance = 1.0f;  // --conditional: the guidance of the epochs' digits

// The digits' labels in --conditional mode: class i % 10 for digit i.
std::vector<int> asked_labels(int n) {
    std::vector<int> labels(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) labels[size_t(i)] = i % 10;
    return labels;
}

// The share of the digits that the classifier reads as the class they were asked for.
double asked_class_accuracy(const DigitScore& d, int n) {
    int right = 0;
    for (int i = 0; i < n; ++i) right += d.labels[size_t(i)] == i % 10;
    return double(right) / n;
}

// --score: issue 18's three figures for a model file, on --samples digits from x_T ~ N(0, I)
// (Rng(0, kSampleStart)): DDPM (1000 steps, beta-tilde, x_0 clipped) and DDIM (50 steps, eta 0).
int score(const Flags& f, const ImageSet& test_set, const MnistClassifier& judge) {
    Schedule s;
    const ImageModel model = image_model_from_checkpoint(load_checkpoint(f.score), f.score, s);
    std::printf("%s: %d digits, classifier data/models/mnist_classifier.ckpt, against %d random test images; "
                "floor: %d other test images against the same (lessonkit/mnist.h)\n", f.score.c_str(), f.samples,
                f.samples, f.samples);
    for (const char* sampler : {"ddpm", "ddim"}) {
        if (f.sampler != "both" && f.sampler != sampler) continue;
        std::vector<float> x(size_t(f.samples) * 784);
        Rng(0, kSampleStart).fill_normal(x.data(), int64_t(x.size()));
        Stopwatch clock;
        if (std::string(sampler) == "ddpm") {
            SampleOptions o;
            o.seed = kSampleNoise;
            o.clip_x0 = 1.0f;
            ddpm_sample(x.data(), f.samples, 784, s, image_eps_function(model), o);
        } else {
            ddim_sample_clipped(x.data(), f.samples, 784, s, image_eps_function(model),
                                ddim_timesteps(s.T, kDdimSteps, Spacing::Uniform), 0.0f, kSampleNoise, 1.0f);
        }
        const double seconds = clock.seconds();
        for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
        const DigitScore d = score_digits(judge, x.data(), f.samples, test_set);
        std::string counts;
        for (int k = 0; k < 10; ++k) counts += (k ? " " : "") + std::to_string(d.per_class[size_t(k)]);
        std::printf("%s %s: confidence %.3f (needs >= 0.9), rarest class %.3f (needs >= 0.05), frechet %.2f, floor %.2f, "
                    "ratio %.2f (needs <= 5); per class %s; %.0f s\n",
                    sampler, std::string(sampler) == "ddpm" ? "1000 steps" : "50 steps", d.mean_confidence,
                    d.min_class_fraction, d.fd.distance, d.fd.floor, d.fd.distance / d.fd.floor, counts.c_str(), seconds);
        plot::save_image_grid(f.grids + "/score_" + sampler + ".png", x.data(), std::min(100, f.samples), 1, 28, 28, 10,
                              -1.0f, 1.0f, 2);
    }
    return 0;
}

int train(int argc, char** argv) {
    const Flags f = parse_flags(argc, argv);
    set_num_threads(f.threads);
    const ImageSet train_set = load_mnist("train"), test_set = load_mnist("test");
    const MnistClassifier judge = load_scorer(test_set);
    make_dirs(f.grids);
    if (!f.score.empty()) return score(f, test_set, judge);
    std::vector<int> train_rows, val_rows;
    split_80_20(train_set.n, 0, train_rows, val_rows);

    LongRun run;
    run.state = f.state;
    run.steps = int64_t(f.epochs) * kStepsPerEpoch;
    run.block = kStepsPerEpoch;
    run.every = f.every;
    run.progress_every = 50;
    EpochFiles files;
    files.model = f.model;
    files.log = f.log;
    files.score = [&](const ImageModel& ema, const ImageTrainer& t, int epoch) {
        EpochScore e;
        e.val_loss = image_eval_loss(ema, t.schedule, train_set, val_rows, kValImages, kValTriples);
        std::vector<float> x(size_t(f.samples) * 784);
        Rng(0, kSampleStart).fill_normal(x.data(), int64_t(x.size()));
        const EpsFunction eps = f.conditional ? guided_eps_function(ema, asked_labels(f.samples), kScoreGuidance)
                                              : image_eps_function(ema);
        ddim_sample_clipped(x.data(), f.samples, 784, t.schedule, eps,
                            ddim_timesteps(t.schedule.T, kDdimSteps, Spacing::Uniform), 0.0f, kSampleNoise, 1.0f);
        for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
        const DigitScore d = score_digits(judge, x.data(), f.samples, test_set);
        char fields[200];
        std::snprintf(fields, sizeof fields, "%.3f %.3f %.1f %.1f %d", d.mean_confidence, d.min_class_fraction,
                      d.fd.distance, d.fd.floor, f.samples);
        e.fields = fields;
        if (f.conditional) e.tail = fmt(asked_class_accuracy(d, f.samples), 3);  // the accuracy on the asked-for class
        plot::save_image_grid(f.grids + "/epoch" + std::to_string(epoch) + ".png", x.data(), 100, 1, 28, 28, 10, -1.0f,
                              1.0f, 2);
        return e;
    };
    files.model_file = [&](const ImageModel& ema, const ImageTrainer& t) {
        Checkpoint m = image_model_checkpoint(ema, t.schedule);
        m.set_meta("train.recipe", f.conditional ? "src/shipped/train_unet.cpp --conditional: cosine T=1000, Adam "
                                                   "1e-3, batch 64, EMA 0.999, 10 classes, labels dropped with p = 0.1"
                                                 : "src/shipped/train_unet.cpp: cosine T=1000, Adam 1e-3, batch 64, EMA 0.999");
        return m;
    };
    RunLog log;
    ImageTrainer tr(ImageArch::UNet, unet_recipe(0, f.conditional), cosine_schedule(1000));
    resume(run, tr, log, [&](const ImageTrainer& t) {
        if ((t.model.classes() > 0) != f.conditional)
            fail(f.state + ": a " + (f.conditional ? "unconditional" : "class-conditional") + " training state; " +
                 (f.conditional ? "leave out --conditional" : "add --conditional") + " or move the file");
    });
    if (tr.step == 0) {
        log.text = std::string(f.conditional ? "# lesson 11's class-conditional U-Net on MNIST (labels dropped with p = 0.1): "
                                        : "# lesson 09's U-Net on MNIST: ") +
              std::to_string(count_values(tr.params)) + " parameters, cosine T=1000, Adam 1e-3, batch 64, EMA 0.999, " +
              std::to_string(kStepsPerEpoch) + " steps per epoch, threads do not change the bits\n" +
              (f.conditional ? "# digits asked for class i % 10, guidance w = 1\n" : "") +
              "# epoch step train_loss val_loss(EMA) confidence min_class_fraction frechet floor samples "
              "seconds images_per_s" + (f.conditional ? " asked_class_accuracy" : "") + "\n";
    }
    if (!f.note.empty()) log.text += "# at step " + std::to_string(tr.step) + ": " + f.note + "\n";
    run_epochs(run, files, tr, train_set, train_rows, log);
    std::printf("%s", log.text.c_str());
    std::printf("wrote %s and %s (%lld steps)\n", f.model.c_str(), f.log.c_str(), (long long)tr.step);
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("train_unet", train, argc, argv); }
