// Lesson 09: a U-Net that draws digits. The network of [001] 2.2 (Ho et al. 2020) cut to MNIST's
// size, walked through block by block for both kinds of block; a few minutes of training beside
// [003]'s CNN at equal wall time; DDPM against DDIM on images ([004] Q4) and the digits of the
// checkpoint this project trained and ships (data/models/mnist_unet.ckpt, make unet-checkpoint).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "diffusion/ddim.h"
#include "diffusion/image_train.h"
#include "diffusion/sampler.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/mnist.h"
#include "lessonkit/recipes.h"
#include "plot/plot.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kSampleStart = 1, kSampleNoise = 2, kEvalTriples = 3, kShippedStart = 4, kShippedNoise = 5 };
const char* kShipped = "data/models/mnist_unet.ckpt";

// "the shipped U-Net", or with --unet FILE the one of that file, as the tables name it
std::string unet_name(const LessonArgs& args) { return args.unet.empty() ? "the shipped U-Net" : "the U-Net of " + args.unet; }

std::string shape_text(const Shape& s) {
    std::string out;
    for (int i = 1; i < s.ndim; ++i) out += (i > 1 ? "x" : "") + std::to_string(s[i]);
    return out;  // without the batch
}

int64_t values_of(const Params& p, const std::string& prefix) {
    int64_t n = 0;
    for (const Param& q : p)
        if (q.name.compare(0, prefix.size() + 1, prefix + ".") == 0) n += q.tensor.numel();
    return n;
}

// ---- 1. the U-Net, block by block ---------------------------------------------------------------
// The forward pass of UNet::forward (src/nets/unet.cpp), one line per block, on one image.
void walk_through(const UNet& net, const std::string& kind, Table& table) {
    NoGrad no_grad;
    const Params p = net.params();
    const Tensor x = Tensor::zeros(Shape{1, 1, 28, 28});
    const Tensor e = silu(net.time2.forward(silu(net.time1.forward(timestep_embedding({500.0f}, 32)))));
    auto row = [&](const std::string& name, const std::string& prefix, const Tensor& in, const Tensor& out) {
        table.add_row({kind, name, shape_text(in.shape()), shape_text(out.shape()), std::to_string(values_of(p, prefix))});
    };
    table.add_row({kind, "time MLP (t -> 32 -> 128 -> 128)", "1", shape_text(e.shape()),
                   std::to_string(values_of(p, "time1") + values_of(p, "time2"))});
    const Tensor h0 = net.stem.forward(x);
    row("stem conv 3x3", "stem", x, h0);
    const Tensor s0 = net.block0.forward(h0, e);
    row("block0", "block0", h0, s0);
    const Tensor d0 = net.down0.forward(s0);
    row("down0 conv 3x3 stride 2", "down0", s0, d0);
    const Tensor s1 = net.block1.forward(d0, e);
    row("block1", "block1", d0, s1);
    const Tensor d1 = net.down1.forward(s1);
    row("down1 conv 3x3 stride 2", "down1", s1, d1);
    const Tensor m1 = net.mid1.forward(d1, e);
    row("mid1", "mid1", d1, m1);
    const Tensor a = net.attn.forward(m1);
    row("attention (4 heads, 49 positions)", "attn", m1, a);
    const Tensor m2 = net.mid2.forward(a, e);
    row("mid2", "mid2", a, m2);
    const Tensor c1 = concat({upsample2x(m2), s1});
    const Tensor u1 = net.up1.forward(c1, e);
    row("up1 (upsample x2, concat block1)", "up1", c1, u1);
    const Tensor c0 = concat({upsample2x(u1), s0});
    const Tensor u0 = net.up0.forward(c0, e);
    row("up0 (upsample x2, concat block0)", "up0", c0, u0);
    const Tensor y = net.forward(x, {500.0f});
    table.add_row({kind, "head (GroupNorm, SiLU, conv 3x3)", shape_text(u0.shape()), shape_text(y.shape()),
                   std::to_string(values_of(p, "head_norm") + values_of(p, "head"))});
    table.add_row({kind, "total", "1x28x28", shape_text(y.shape()), std::to_string(count_values(p))});
}

// ---- 2 and 3. minutes of training: the U-Net (two schedules) and the CNN at equal wall time ---------
struct Run {
    std::string name;
    Schedule schedule;
    ImageModel ema;
    int steps = 0;
    double seconds = 0.0;
    std::vector<float> at_step, train_loss, val_loss;
};

Run train_run(const LessonArgs& args, const std::string& name, ImageArch arch, Schedule s, const ImageSet& train,
              int steps) {
    std::vector<int> train_rows, val_rows;
    split_80_20(train.n, args.seed, train_rows, val_rows);
    ImageTrainer tr(arch, unet_recipe(args.seed), s);  // the shipped U-Net's recipe (lessonkit/recipes.h)
    Run run{name, s, {}, steps, 0.0, {}, {}, {}};
    const int blocks = 10, per_block = std::max(1, steps / blocks);
    Stopwatch clock;
    double block_loss = 0.0;
    double eval_seconds = 0.0;
    for (int step = 1; step <= steps; ++step) {
        block_loss += tr.train_step(train, train_rows);
        if (step % per_block == 0 || step == steps) {
            const int in_block = step % per_block == 0 ? per_block : step % per_block;
            Stopwatch eval_clock;
            run.at_step.push_back(float(step));
            run.train_loss.push_back(float(block_loss / in_block));
            run.val_loss.push_back(float(image_eval_loss(tr.ema_model(), s, train, val_rows, 256, args.seed + kEvalTriples)));
            block_loss = 0.0;
            eval_seconds += eval_clock.seconds();
            std::fprintf(stderr, "  %s: step %d/%d  train %.4f  val %.4f\n", name.c_str(), step, steps,
                         run.train_loss.back(), run.val_loss.back());
        }
    }
    run.seconds = clock.seconds() - eval_seconds;  // training alone
    run.ema = tr.ema_model();
    return run;
}

std::vector<float> ddim_digits(const ImageModel& model, const Schedule& s, int n, int steps, uint64_t seed,
                               uint64_t start_stream) {
    std::vector<float> x(size_t(n) * 784);
    Rng(seed, start_stream).fill_normal(x.data(), int64_t(x.size()));
    ddim_sample_clipped(x.data(), n, 784, s, image_eps_function(model), ddim_timesteps(s.T, steps, Spacing::Uniform), 0.0f,
                        seed, 1.0f);
    for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
    return x;
}

void compare_with_cnn(const LessonArgs& args, const ImageSet& train, const ImageSet& test, const MnistClassifier& judge,
                      const ImageModel* shipped, const Schedule& shipped_schedule, const std::string& shipped_note) {
    // Equal wall time: the bench measures the U-Net's training at about 160 images/s and the CNN's
    // at about 370 (docs/performance.md, 1 thread), so the CNN gets 2.3 times the steps. The step
    // counts are fixed, not timed, so that the tables are the same on every machine; the times
    // measured here go to wall_time.txt.
    const int unet_steps = args.full ? 22500 : 45, cnn_steps = unet_steps * 23 / 10;
    std::vector<Run> runs;
    runs.push_back(train_run(args, "U-Net, cosine", ImageArch::UNet, cosine_schedule(1000), train, unet_steps));
    runs.push_back(train_run(args, "U-Net, linear", ImageArch::UNet, linear_schedule(1000), train, unet_steps));
    runs.push_back(train_run(args, "CNN [003], cosine", ImageArch::CNN, cosine_schedule(1000), train, cnn_steps));

    plot::Figure fig(1, 1, 600, 380);
    plot::Axes& ax = fig.at(0, 0);
    for (size_t r = 0; r < runs.size(); ++r) {
        std::vector<float> images;
        for (float s : runs[r].at_step) images.push_back(s * 64.0f);
        ax.line(images, runs[r].train_loss, plot::palette(int(r)), 1.5f, runs[r].name + " (training)");
        ax.line(images, runs[r].val_loss, plot::with_alpha(plot::palette(int(r)), 140), 1.0f, "validation, EMA");
    }
    ax.title("L_simple while training (batch 64, Adam 1e-3)");
    ax.xlabel("training images seen");
    ax.ylabel("loss");
    ax.logy();
    fig.save(args.out("loss.png"));

    const int n = args.full ? 1000 : 128, ddim_steps = 25;
    std::vector<int> test_rows(static_cast<size_t>(test.n));
    for (int i = 0; i < test.n; ++i) test_rows[size_t(i)] = i;
    Table table({"model", "schedule", "steps", "images_seen", "test_loss", "frechet", "frechet_floor", "confidence"});
    std::vector<float> grid;
    std::vector<std::string> grid_rows;
    FILE* times = std::fopen(args.out("wall_time.txt").c_str(), "w");
    auto score = [&](const std::string& name, const ImageModel& model, const Schedule& s, const std::string& steps,
                     const std::string& seen) {
        const double loss = image_eval_loss(model, s, test, test_rows, 1024, args.seed + kEvalTriples);
        const std::vector<float> x = ddim_digits(model, s, n, ddim_steps, args.seed + kSampleNoise, kSampleStart);
        const DigitScore d = score_digits(judge, x.data(), n, test);
        table.add_row({name, s.name, steps, seen, fmt(loss, 4), fmt(d.fd.distance, 1), fmt(d.fd.floor, 1),
                       fmt(d.mean_confidence, 3)});
        grid.insert(grid.end(), x.begin(), x.begin() + 10 * 784);
        grid_rows.push_back(name);
    };
    for (const Run& run : runs) {
        score(run.name, run.ema, run.schedule, std::to_string(run.steps), std::to_string(run.steps * 64));
        if (times) std::fprintf(times, "%s: %d steps of batch 64 in %.1f s (%.0f images/s, %d threads)\n",
                                run.name.c_str(), run.steps, run.seconds, run.steps * 64 / run.seconds, args.threads);
    }
    if (shipped) score(args.unet.empty() ? "U-Net, shipped" : "U-Net, --unet", *shipped, shipped_schedule, shipped_note, "-");
    if (times) std::fclose(times);
    table.print("Table 9.2: the U-Net and [003]'s CNN trained for the same wall time (the CNN takes 2.3x the steps), "
                "and " + unet_name(args) + ": test loss (L_simple, 1024 fixed test triples), Frechet distance of " +
                std::to_string(n) + " samples (DDIM, " + std::to_string(ddim_steps) +
                " steps) with its floor, and the classifier's mean top-class probability");
    table.save_tsv(args.out("cnn_vs_unet.tsv"));
    plot::save_image_grid(args.out("cnn_vs_unet.png"), grid.data(), int(grid.size() / 784), 1, 28, 28, 10, -1.0f,
                          1.0f, 2, grid_rows);
}

// ---- 4. DDPM against DDIM on images ([004] Q4), 5. the shipped model's digits ----------------------
void samplers_and_digits(const LessonArgs& args, const ImageSet& test,
                         const MnistClassifier& judge, const ImageModel& model, const Schedule& s) {
    // Quick: 16 images (DDPM's 1000 steps on 16 images take about half a minute on 2 cores); a
    // Frechet distance of 128 features needs more images than that, so quick mode prints "-" for it.
    const int n = args.full ? 1000 : 16;
    const bool with_fd = n >= 128;
    std::vector<float> x_T(size_t(n) * 784);
    Rng(args.seed, kShippedStart).fill_normal(x_T.data(), int64_t(x_T.size()));
    const EpsFunction eps = image_eps_function(model);
    Table table({"sampler", "steps", "network_evals", "frechet", "frechet_floor", "confidence", "min_class_fraction"});
    std::vector<float> grid, strips;
    std::vector<std::string> grid_rows;
    const std::vector<int> strip_t = {1000, 800, 600, 400, 300, 200, 100, 50, 0};
    FILE* times = std::fopen(args.out("sampler_time.txt").c_str(), "w");
    auto finish = [&](std::vector<float>& x, const std::string& name, int steps, double seconds) {
        for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
        const DigitScore d = score_digits(judge, x.data(), n, test);
        table.add_row({name, std::to_string(steps), std::to_string(steps), with_fd ? fmt(d.fd.distance, 1) : "-",
                       with_fd ? fmt(d.fd.floor, 1) : "-", fmt(d.mean_confidence, 3), fmt(d.min_class_fraction, 3)});
        grid.insert(grid.end(), x.begin(), x.begin() + 10 * 784);
        grid_rows.push_back(name + " " + std::to_string(steps));
        if (times) std::fprintf(times, "%s %d steps: %d images in %.1f s (%d threads)\n", name.c_str(), steps, n,
                                seconds, args.threads);
        std::fprintf(stderr, "  %s %d steps: %.1f s\n", name.c_str(), steps, seconds);
    };
    {
        std::vector<float> x = x_T;
        SampleOptions o;
        o.seed = args.seed + kShippedNoise;
        o.clip_x0 = 1.0f;
        const int shown = 6;
        std::vector<std::vector<float>> frames(strip_t.size());
        Stopwatch clock;
        ddpm_sample(x.data(), n, 784, s, eps, o, [&](int t, const float* xt) {
            for (size_t k = 0; k < strip_t.size(); ++k)
                if (strip_t[k] == t) frames[k].assign(xt, xt + shown * 784);
        });
        const double seconds = clock.seconds();
        for (int i = 0; i < shown; ++i)  // one row per image: x_T ... x_0
            for (const std::vector<float>& f : frames) strips.insert(strips.end(), f.begin() + i * 784, f.begin() + (i + 1) * 784);
        finish(x, "ddpm", s.T, seconds);
    }
    for (int steps : {100, 50, 10}) {
        std::vector<float> x = x_T;
        Stopwatch clock;
        ddim_sample_clipped(x.data(), n, 784, s, eps, ddim_timesteps(s.T, steps, Spacing::Uniform), 0.0f, args.seed, 1.0f);
        finish(x, "ddim", steps, clock.seconds());
    }
    if (times) std::fclose(times);
    table.print("Table 9.3: " + unet_name(args) + " from one fixed x_T (" + std::to_string(n) +
                " images): DDPM (1000 steps, beta-tilde, x_0 clipped) and DDIM (eta 0); Frechet distance with its "
                "floor, the classifier's mean top-class probability and the rarest class's share");
    table.save_tsv(args.out("samplers.tsv"));
    plot::save_image_grid(args.out("samplers.png"), grid.data(), int(grid.size() / 784), 1, 28, 28, 10, -1.0f, 1.0f, 2,
                          grid_rows);
    for (float& v : strips) v = std::min(1.5f, std::max(-1.5f, v));
    std::vector<std::string> cols;
    for (int t : strip_t) cols.push_back("t=" + std::to_string(t));
    plot::save_image_grid(args.out("reverse_strips.png"), strips.data(), int(strips.size() / 784), 1, 28, 28,
                          int(strip_t.size()), -1.5f, 1.5f, 2, {}, cols);

    // 5. a 10 x 10 grid of DDIM-50 digits, each row labelled with the classifier's reading of it
    const std::vector<float> digits = ddim_digits(model, s, 100, 50, args.seed + kShippedNoise, kShippedStart + 10);
    const DigitScore d = score_digits(judge, digits.data(), 100, test);
    std::vector<std::string> rows;
    for (int r = 0; r < 10; ++r) {
        std::string labels;
        for (int c = 0; c < 10; ++c) labels += std::to_string(d.labels[size_t(r * 10 + c)]) + (c < 9 ? " " : "");
        rows.push_back(labels);
    }
    plot::save_image_grid(args.out("digits.png"), digits.data(), 100, 1, 28, 28, 10, -1.0f, 1.0f, 2, rows);
    Table hist({"digit", "samples", "test_set_share"});
    std::vector<int> test_count(10, 0);
    for (int label : test.labels) test_count[size_t(label)] += 1;
    for (int k = 0; k < 10; ++k)
        hist.add_row({std::to_string(k), std::to_string(d.per_class[size_t(k)]), fmt(double(test_count[size_t(k)]) / test.n, 3)});
    hist.print("Table 9.4: what the classifier reads in 100 DDIM-50 digits of " + unet_name(args) + " (mean top-class "
               "probability " + fmt(d.mean_confidence, 3) + "), beside each digit's share of the test set");
    hist.save_tsv(args.out("digit_histogram.tsv"));
    plot::Figure fig(1, 1, 480, 320);
    std::vector<float> labels(d.labels.begin(), d.labels.end());
    fig.at(0, 0).hist(labels, 10, plot::colors::blue, false, "", -0.5f, 9.5f);
    fig.at(0, 0).title("the classifier's label of 100 samples");
    fig.at(0, 0).xlabel("digit");
    fig.at(0, 0).ylabel("samples");
    fig.save(args.out("digit_histogram.png"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "09_unet");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    {
        Table table({"kind", "block", "input", "output", "parameters"});
        Rng rng(args.seed, 0);
        walk_through(UNet(unet_residual_config(), rng), "residual", table);
        walk_through(UNet(unet_convnext_config(), rng), "convnext", table);
        table.print("Table 9.1: the two U-Nets of src/nets/unet.h, block by block, on one 28 x 28 image "
                    "(shapes without the batch: channels x height x width)");
        table.save_tsv(args.out("unet_blocks.tsv"));
    }
    const ImageSet test = load_mnist("test"), train = load_mnist("train");
    const MnistClassifier judge = load_scorer(test);
    // --unet FILE: a U-Net trained elsewhere (ddpm train, or src/torch/train.py through ddpm import) in
    // the place of the shipped one, for the tables below (docs/next-steps.md, "Past one machine")
    const std::string unet_file = args.unet.empty() ? kShipped : args.unet;
    if (args.unet.empty() && !std::filesystem::exists(kShipped))
        fail(std::string(kShipped) + ": missing; it is tracked in git (git checkout it), or retrain it with make "
             "unet-checkpoint (hours)");
    Schedule s;
    std::string note;
    const ImageModel shipped = load_eps_image_model(unet_file, s, note);
    if (shipped.arch != ImageArch::UNet) fail(unet_file + ": a " + arch_name(shipped.arch) + ", not a U-Net");
    std::fprintf(stderr, "  %s: %s U-Net, %s schedule, %s training steps\n", unet_file.c_str(),
                 unet_block_name(shipped.unet.config.block), s.name.c_str(), note.c_str());
    compare_with_cnn(args, train, test, judge, &shipped, s, note);
    samplers_and_digits(args, test, judge, shipped, s);
    std::fprintf(stderr, "[09_unet] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("09_unet", lesson, argc, argv); }
