// Lesson 10: cold diffusion. [003] §3.3 and §4 after Bansal et al. (2022): a Gaussian blur in place
// of the noise, a network that predicts x from its blurred copy, and Bansal's sampler; then [003]'s
// Table 2, the blur model against the DDPM noise model on the same ConvNeXt U-Net. The two models
// are trained by this project and shipped (data/models/mnist_cold_{blur,noise}.ckpt, make
// cold-checkpoints); quick mode trains the blur model for a minute to show its loss fall.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/image_ops.h"
#include "diffusion/cold.h"
#include "diffusion/ddim.h"
#include "diffusion/image_metrics.h"
#include "diffusion/image_train.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/long_run.h"
#include "lessonkit/mnist.h"
#include "lessonkit/recipes.h"
#include "plot/plot.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kEvalPairs = 1, kUncondLevel = 2, kUncondNoise = 3, kNoiseStart = 4, kNoiseSampler = 5,
                         kNoiseRecon = 6 };
const char* kBlurModel = "data/models/mnist_cold_blur.ckpt";
const char* kNoiseModel = "data/models/mnist_cold_noise.ckpt";
const int D = 784;

std::vector<float> first_images(const ImageSet& set, int n) {
    return std::vector<float>(set.x.begin(), set.x.begin() + int64_t(n) * D);
}

void clip_pixels(std::vector<float>& x) {
    for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

// ---- 1. the degradation: iterated blur against its closed form ------------------------------------
void degradation(const LessonArgs& args, const ImageSet& test, const BlurProcess& p) {
    const int n = 16;
    const std::vector<float> x = first_images(test, n);
    Table table({"t", "composed_taps", "variance", "t_beta", "iterated_vs_composed", "vs_one_11x11_periodic",
                 "vs_one_11x11_reflect", "pixel_std_of_z_t"});
    for (int t : {1, 2, 5, 10, 25, 50, 100}) {
        std::vector<float> iterated(x.size()), composed(x.size());
        blur_iterate(iterated.data(), x.data(), n, t, p);
        const std::vector<double> k = composed_kernel(p.g, t);  // task L10.1
        blur_periodic(composed.data(), x.data(), n, 28, 28, k);
        double variance = 0.0;
        const double c = double(k.size() / 2);
        for (size_t i = 0; i < k.size(); ++i) variance += k[i] * (double(i) - c) * (double(i) - c);
        // what a single 11 x 11 Gaussian of variance t beta does instead: periodic (the truncation
        // alone), and core/image_ops.h's op with reflect padding (truncation and padding)
        std::vector<float> single(x.size());
        blur_periodic(single.data(), x.data(), n, 28, 28, blur_kernel_1d(p.taps, t * p.beta));
        const Tensor one = gaussian_blur(Tensor::from(Shape{n, 1, 28, 28}, x), p.taps,
                                         float(std::sqrt(t * p.beta)), true);
        const std::vector<float> reflected(one.data(), one.data() + one.numel());
        double spread = 0.0;  // how far z_t is from a uniform image: its pixels' std, mean over images
        for (int i = 0; i < n; ++i) {
            double m = 0.0, v = 0.0;
            for (int j = 0; j < D; ++j) m += iterated[size_t(i * D + j)];
            m /= D;
            for (int j = 0; j < D; ++j) v += (iterated[size_t(i * D + j)] - m) * (iterated[size_t(i * D + j)] - m);
            spread += std::sqrt(v / D) / n;
        }
        table.add_row({std::to_string(t), std::to_string(k.size()), fmt(variance, 4), fmt(t * p.beta, 4),
                       fmt_sci(max_abs_diff(iterated, composed), 2), fmt(max_abs_diff(iterated, single), 3),
                       fmt(max_abs_diff(iterated, reflected), 3), fmt(spread, 4)});
    }
    table.print("Table 10.1: [003] eq. (5) on 16 test images, periodic boundaries: blurring t times with the 11-tap "
                "kernel of variance beta = 1 against one blur with the composed kernel G~_t (its taps and variance), "
                "and against one 11 x 11 Gaussian of variance t beta (periodic, and reflect-padded by core/image_ops.h's "
                "gaussian_blur): max |difference| over all pixels; the pixel std left in z_t");
    table.save_tsv(args.out("blur_check.tsv"));

    // the strip: six test images at several t
    const std::vector<int> ts = {0, 1, 2, 5, 10, 25, 50, 100};
    std::vector<float> grid;
    for (int i = 0; i < 6; ++i)
        for (int t : ts) {
            std::vector<float> z(D);
            blur_degrade(z.data(), test.image(i), 1, t, p);
            grid.insert(grid.end(), z.begin(), z.end());
        }
    std::vector<std::string> cols;
    for (int t : ts) cols.push_back("t=" + std::to_string(t));
    plot::save_image_grid(args.out("blur_strip.png"), grid.data(), int(grid.size() / D), 1, 28, 28, int(ts.size()),
                          -1.0f, 1.0f, 2, {}, cols);
}

// ---- 2. [003]'s third condition: is z_T unique for each image? -----------------------------------
void uniqueness(const LessonArgs& args, const ImageSet& test, const BlurProcess& p) {
    const int n = test.n;
    std::vector<float> z(size_t(n) * D);
    blur_degrade(z.data(), test.x.data(), n, p.T, p);
    std::vector<std::pair<float, int>> means(static_cast<size_t>(n));
    double mean_kept = 0.0, spread = 0.0;
    for (int i = 0; i < n; ++i) {
        double mx = 0.0, mz = 0.0;
        for (int j = 0; j < D; ++j) {
            mx += test.image(i)[j];
            mz += z[size_t(i) * D + size_t(j)];
        }
        mx /= D;
        mz /= D;
        double v = 0.0;
        for (int j = 0; j < D; ++j) v += (z[size_t(i) * D + size_t(j)] - mz) * (z[size_t(i) * D + size_t(j)] - mz);
        spread += std::sqrt(v / D) / n;
        mean_kept = std::max(mean_kept, std::fabs(mz - mx));
        means[size_t(i)] = {float(mz), i};
    }
    std::sort(means.begin(), means.end());
    int sharing = 0, groups = 0, same_z = 0;
    for (size_t a = 0; a < means.size();) {
        size_t b = a;
        while (b < means.size() && means[b].first == means[a].first) ++b;
        if (b - a > 1) {
            sharing += int(b - a);
            ++groups;
            for (size_t i = a; i < b; ++i)  // does any other of the group have the same z_T?
                for (size_t j = a; j < b; ++j) {
                    if (i == j) continue;
                    double diff = 0.0;
                    for (int k = 0; k < D; ++k)
                        diff = std::max(diff, double(std::fabs(z[size_t(means[i].second) * D + size_t(k)] -
                                                               z[size_t(means[j].second) * D + size_t(k)])));
                    if (diff < 1e-6) {
                        ++same_z;
                        break;
                    }
                }
        }
        a = b;
    }
    Table table({"images", "distinct_means", "images_sharing_a_mean", "groups", "sharing_z_T_within_1e-6",
                 "max_mean_change", "pixel_std_of_z_T"});
    table.add_row({std::to_string(n), std::to_string(n - sharing + groups), std::to_string(sharing),
                   std::to_string(groups), std::to_string(same_z), fmt_sci(mean_kept, 2), fmt(spread, 4)});
    table.print("Table 10.2: [003]'s third condition on the 10,000 test images: the float mean of z_T (T = 100), "
                "how many images share theirs with another (MNIST's pixels are multiples of 2/255, so equal pixel "
                "sums give equal means), how many of those have the same whole z_T, and how much of each image the "
                "blur leaves");
    table.save_tsv(args.out("uniqueness.tsv"));
}

// ---- 3. a minute of training (quick), [003]'s 50 epochs (--full) ------------------------------------
// With --full the state (lessonkit/long_run.h) is saved to out/10_cold/blur_training.state at
// every block's end, and a rerun goes on from it with the same bits.
void blur_training(const LessonArgs& args, const ImageSet& train) {
    const ImageTrainConfig c = cold_recipe(args.seed, true);  // the shipped blur model's (lessonkit/recipes.h)
    std::vector<int> train_rows, val_rows;
    split_80_20(train.n, args.seed, train_rows, val_rows);
    ImageTrainer tr(ImageArch::UNet, c, Schedule{});
    const int every = args.full ? 375 : 3;
    LongRun run;
    run.state = args.full ? args.out("blur_training.state") : "";
    run.steps = args.full ? 50 * 375 : 15;
    run.block = every;
    run.at_block = [&](const ImageTrainer& t, const BlockEnd& end) {
        const double val = cold_eval_loss(t.ema_model(), t.blur, train, val_rows, 256, args.seed + kEvalPairs);
        std::fprintf(stderr, "  blur model: step %lld/%lld  train %.4f  val %.4f  (%.0f s)\n", (long long)end.step,
                     (long long)run.steps, end.train_loss, val, end.seconds);
        return fmt_exact(end.train_loss) + " " + fmt_exact(val);
    };
    RunLog log;
    resume(run, tr, log);
    run_blocks(run, tr, train, train_rows, log);
    Table table({"step", "train_loss", "val_loss_ema"});
    std::vector<float> at, tl, vl;
    const auto rows = log_rows(log.text);
    for (size_t k = 0; k < rows.size(); ++k) {
        const double train_loss = std::strtod(rows[k].at(0).c_str(), nullptr), val_loss = std::strtod(rows[k].at(1).c_str(), nullptr);
        at.push_back(float((k + 1) * every));
        tl.push_back(float(train_loss));
        vl.push_back(float(val_loss));
        table.add_row({std::to_string((k + 1) * every), fmt(train_loss, 4), fmt(val_loss, 4)});
    }
    table.print("Table 10.3: the blur model learning (ConvNeXt U-Net, Adam 2e-4, batch 128): mean training loss per "
                "block and the EMA weights' loss on 256 fixed validation pairs, || R(z_t, t) - x ||^2 per pixel");
    table.save_tsv(args.out("training.tsv"));
    plot::Figure fig(1, 1, 560, 360);
    fig.at(0, 0).line(at, tl, plot::colors::blue, 1.5f, "training");
    fig.at(0, 0).line(at, vl, plot::colors::orange, 1.5f, "validation (EMA)");
    fig.at(0, 0).title(args.full ? "the blur model, [003]'s 50 epochs" : "the blur model's first steps (quick mode)");
    fig.at(0, 0).xlabel("step (batch 128)");
    fig.at(0, 0).ylabel("MSE against x");
    fig.save(args.out("training_loss.png"));
}

// The shipped model's training log ([003] Fig. 6): one line per epoch.
void shipped_loss_curve(const LessonArgs& args, const std::string& log_path) {
    const std::string text = read_file(log_path);
    std::vector<float> epoch, train_loss, val_loss;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line[0] == '#') continue;
        int e = 0;
        long long step = 0;
        char tl[32] = {0};
        double vl = 0.0;
        if (std::sscanf(line.c_str(), "%d %lld %31s %lf", &e, &step, tl, &vl) != 4) continue;
        if (tl[0] == '-') continue;
        epoch.push_back(float(e));
        train_loss.push_back(float(std::strtod(tl, nullptr)));
        val_loss.push_back(float(vl));
    }
    if (epoch.empty()) return;
    plot::Figure fig(1, 1, 560, 360);
    fig.at(0, 0).line(epoch, train_loss, plot::colors::blue, 1.5f, "training (mean over the epoch)");
    fig.at(0, 0).line(epoch, val_loss, plot::colors::orange, 1.5f, "validation (EMA, 1000 images)");
    fig.at(0, 0).title("the shipped blur model ([003] Fig. 6)");
    fig.at(0, 0).xlabel("epoch (375 steps of 128)");
    fig.at(0, 0).ylabel("MSE against x");
    fig.save(args.out("shipped_loss.png"));
}

// ---- 4. sampling: Bansal's Algorithm 2 against the naive Algorithm 1 ------------------------------
struct Metrics {
    double rmse = 0, ssim = 0, psnr = 0, agreement = 0;
};

Metrics against(const std::vector<float>& x, const ImageSet& test, int n, const MnistClassifier& judge) {
    Metrics m;
    for (int i = 0; i < n; ++i) {
        const float* a = test.image(i);
        const float* b = x.data() + int64_t(i) * D;
        m.rmse += rmse(a, b, D) / n;
        m.ssim += ssim(a, b, 28, 28, 2.0) / n;
        m.psnr += psnr(a, b, D, 2.0) / n;
    }
    const std::vector<int> labels = classifier_labels(judge, x.data(), n);
    for (int i = 0; i < n; ++i) m.agreement += (labels[size_t(i)] == test.labels[size_t(i)]) ? 1.0 / n : 0.0;
    return m;
}

// Test images blurred to z_from and brought back.
std::vector<float> blur_reconstruct(const ImageModel& model, const BlurProcess& p, const ImageSet& test, int n,
                                    int from, bool improved) {
    std::vector<float> x(size_t(n) * D);
    blur_degrade(x.data(), test.x.data(), n, from, p);
    cold_sample(x.data(), n, from, p, image_eps_function(model), improved);  // the network predicts x_0
    clip_pixels(x);
    return x;
}

// Uniform images whose level is drawn from N(mu, sd) fitted to the training set's z_T means (which
// the periodic blur keeps equal to the image means), plus N(0, noise^2) per pixel, brought back.
std::vector<float> blur_unconditional(const ImageModel& model, const BlurProcess& p, const ImageSet& train, int n,
                                      float noise, uint64_t seed) {
    double mu = 0.0, m2 = 0.0;
    for (int i = 0; i < train.n; ++i) {
        double m = 0.0;
        for (int j = 0; j < D; ++j) m += train.image(i)[j];
        m /= D;
        mu += m / train.n;
        m2 += m * m / train.n;
    }
    const double sd = std::sqrt(std::max(0.0, m2 - mu * mu));
    std::vector<float> level(static_cast<size_t>(n)), x(size_t(n) * D);
    Rng(seed, kUncondLevel).fill_normal(level.data(), n);
    Rng(seed, kUncondNoise).fill_normal(x.data(), int64_t(x.size()));
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < D; ++j)
            x[size_t(i) * D + size_t(j)] = float(mu + sd * level[size_t(i)]) + noise * x[size_t(i) * D + size_t(j)];
    cold_sample(x.data(), n, p.T, p, image_eps_function(model), true);
    clip_pixels(x);
    return x;
}

void sampling(const LessonArgs& args, const ImageSet& train, const ImageSet& test, const MnistClassifier& judge,
              const ImageModel& model, const BlurProcess& p) {
    const int n = args.images > 0 ? args.images : args.full ? 1000 : 16;
    Table table({"sampler", "from", "rmse", "ssim", "psnr", "class_agreement"});
    for (int from : {50, 100})
        for (bool improved : {true, false}) {
            const std::vector<float> x = blur_reconstruct(model, p, test, n, from, improved);
            const Metrics m = against(x, test, n, judge);
            table.add_row({improved ? "Algorithm 2" : "Algorithm 1 (naive)", "z_" + std::to_string(from), fmt(m.rmse, 4),
                           fmt(m.ssim, 4), fmt(m.psnr, 2), fmt(m.agreement, 3)});
        }
    table.print("Table 10.4: " + std::to_string(n) + " test images blurred to z_t and brought back by the shipped "
                "blur model: Bansal et al.'s Algorithm 2 (x_{s-1} = x_s - D(x0, s) + D(x0, s-1)) against the naive "
                "x_{s-1} = D(x0, s-1); the classifier's reading of the result against the true label");
    table.save_tsv(args.out("samplers.tsv"));

    // [003] Fig. 8: eight test images, z_t at three t, and what Algorithm 2 makes of each
    const int shown = 8;
    std::vector<float> grid(first_images(test, shown));
    std::vector<std::string> rows = {"x"};
    for (int from : {25, 50, 100}) {
        std::vector<float> z(size_t(shown) * D);
        blur_degrade(z.data(), test.x.data(), shown, from, p);
        grid.insert(grid.end(), z.begin(), z.end());
        rows.push_back("z_" + std::to_string(from));
        const std::vector<float> back = blur_reconstruct(model, p, test, shown, from, true);
        grid.insert(grid.end(), back.begin(), back.end());
        rows.push_back("from z_" + std::to_string(from));
    }
    const std::vector<float> naive = blur_reconstruct(model, p, test, shown, 100, false);
    grid.insert(grid.end(), naive.begin(), naive.end());
    rows.push_back("naive, z_100");
    plot::save_image_grid(args.out("conditional.png"), grid.data(), int(grid.size() / D), 1, 28, 28, shown, -1.0f,
                          1.0f, 2, rows);

    // [003] Fig. 7: unconditional samples from a uniform image, without and with a little noise
    std::vector<float> ugrid;
    std::vector<std::string> urows;
    for (float noise : {0.0f, 0.05f}) {
        const std::vector<float> x = blur_unconditional(model, p, train, 10, noise, args.seed);
        ugrid.insert(ugrid.end(), x.begin(), x.end());
        urows.push_back("noise " + fmt(noise, 2));
    }
    plot::save_image_grid(args.out("unconditional.png"), ugrid.data(), int(ugrid.size() / D), 1, 28, 28, 10, -1.0f,
                          1.0f, 2, urows);
}

// ---- 5. [003] Table 2: the blur model against the noise model on the same U-Net ---------------------
std::vector<float> noise_samples(const ImageModel& model, const Schedule& s, const ImageSet& test, int n, int from,
                                 uint64_t seed) {
    std::vector<float> x(size_t(n) * D);
    if (from < s.T) {  // conditional: z_t of the first n test images
        std::vector<float> eps(x.size());
        Rng(seed, kNoiseRecon).fill_normal(eps.data(), int64_t(eps.size()));
        q_sample(x.data(), test.x.data(), eps.data(), int64_t(x.size()), s, from);
    } else {
        Rng(seed, kNoiseStart).fill_normal(x.data(), int64_t(x.size()));
    }
    const Schedule cut = cut_schedule(s, from);
    ddim_sample_clipped(x.data(), n, D, cut, image_eps_function(model), ddim_timesteps(from, std::min(from, 50), Spacing::Uniform),
                        0.0f, seed + kNoiseSampler, 1.0f);
    clip_pixels(x);
    return x;
}

void comparison(const LessonArgs& args, const ImageSet& train, const ImageSet& test, const MnistClassifier& judge,
                const ImageModel& blur, const BlurProcess& p, const ImageModel& noise, const Schedule& s) {
    // quick: 32 images (about 40 s of sampling on 2 cores); at 32 images the Frechet distance of 128
    // features rests on a rank-31 covariance, so read it against its floor, which is computed the
    // same way
    const int n = args.images > 0 ? args.images : args.full ? 1000 : 32;
    std::vector<int> test_rows(static_cast<size_t>(test.n));
    for (int i = 0; i < test.n; ++i) test_rows[size_t(i)] = i;
    const double blur_loss = cold_eval_loss(blur, p, test, test_rows, 1024, args.seed + kEvalPairs);
    const double noise_loss = image_eval_loss(noise, s, test, test_rows, 1024, args.seed + kEvalPairs);
    int t_half = 1;
    while (t_half < s.T && s.alpha_bar[size_t(t_half)] >= 0.5) ++t_half;
    Table table({"model", "samples", "test_loss", "rmse", "ssim", "psnr", "class_agreement", "frechet",
                 "frechet_floor", "confidence"});
    std::vector<float> grid;
    std::vector<std::string> rows;
    auto add = [&](const std::string& model, const std::string& what, double loss, const std::vector<float>& x,
                   bool conditional) {
        const DigitScore d = score_digits(judge, x.data(), n, test);
        const Metrics m = conditional ? against(x, test, n, judge) : Metrics{};
        table.add_row({model, what, fmt(loss, 4), conditional ? fmt(m.rmse, 4) : "-", conditional ? fmt(m.ssim, 4) : "-",
                       conditional ? fmt(m.psnr, 2) : "-", conditional ? fmt(m.agreement, 3) : "-",
                       fmt(d.fd.distance, 1), fmt(d.fd.floor, 1), fmt(d.mean_confidence, 3)});
        grid.insert(grid.end(), x.begin(), x.begin() + 10 * D);
        rows.push_back(model + ", " + what);
        std::fprintf(stderr, "  %s, %s: done\n", model.c_str(), what.c_str());
    };
    std::map<int, std::vector<float>> from_noise;  // the noise model's conditional samples by start t
    auto noise_from = [&](int t) -> const std::vector<float>& {
        if (!from_noise.count(t)) from_noise[t] = noise_samples(noise, s, test, n, t, args.seed);
        return from_noise[t];
    };
    const std::vector<float> blur_back = blur_reconstruct(blur, p, test, n, p.T, true);
    add("blur", "from z_100", blur_loss, blur_back, true);
    add("blur", "uniform + noise 0.05", blur_loss, blur_unconditional(blur, p, train, n, 0.05f, args.seed), false);
    add("noise", "from z_" + std::to_string(t_half) + " (DDIM 50)", noise_loss, noise_from(t_half), true);
    add("noise", "from z_800 (DDIM 50)", noise_loss, noise_from(800), true);
    add("noise", "from x_T (DDIM 50)", noise_loss, noise_samples(noise, s, test, n, s.T, args.seed), false);
    table.print("Table 10.5: [003] Table 2 on " + std::to_string(n) + " test images, the shipped blur model (T = 100) "
                "against the shipped noise model (cosine, T = 1000) on the same ConvNeXt U-Net: test loss (1024 fixed "
                "test pairs; the blur model's is || R(z_t, t) - x ||^2, the noise model's L_simple), RMSE / SSIM / "
                "PSNR and class agreement of conditional samples, Frechet distance with its floor and the "
                "classifier's confidence for every row");
    table.save_tsv(args.out("table2.tsv"));
    plot::save_image_grid(args.out("blur_vs_noise.png"), grid.data(), int(grid.size() / D), 1, 28, 28, 10, -1.0f,
                          1.0f, 2, rows);

    // Table 10.6: where the noise model starts decides the conditional rows (z_497 and z_800 above
    // disagree), so sweep the start, and match it to the blur's z_100 by what the degradation keeps
    // of the image: the mean SSIM of z with x (the noise model's z_t from noise_samples' own eps).
    auto kept = [&](const std::vector<float>& z) {
        double m = 0.0;
        for (int i = 0; i < n; ++i) m += ssim(test.image(i), z.data() + int64_t(i) * D, 28, 28, 2.0) / n;
        return m;
    };
    auto noised = [&](int t) {
        std::vector<float> z(size_t(n) * D), eps(z.size());
        Rng(args.seed, kNoiseRecon).fill_normal(eps.data(), int64_t(eps.size()));
        q_sample(z.data(), test.x.data(), eps.data(), int64_t(z.size()), s, t);
        return z;
    };
    std::vector<float> z_blur(size_t(n) * D);
    blur_degrade(z_blur.data(), test.x.data(), n, p.T, p);
    const double blur_kept = kept(z_blur);
    int lo = 1, hi = s.T - 1;  // the first t whose z_t keeps no more than z_100 of the blur (SSIM falls with t)
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (kept(noised(mid)) <= blur_kept) hi = mid;
        else lo = mid + 1;
    }
    const int matched = lo;
    Table sweep({"model", "start", "alpha_bar", "ssim_z_with_x", "rmse", "ssim", "class_agreement"});
    const Metrics mb = against(blur_back, test, n, judge);
    sweep.add_row({"blur", "z_100", "-", fmt(blur_kept, 4), fmt(mb.rmse, 4), fmt(mb.ssim, 4), fmt(mb.agreement, 3)});
    std::vector<int> starts = {t_half, 800, 900, matched};
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    for (int t : starts) {
        const Metrics m = against(noise_from(t), test, n, judge);
        sweep.add_row({"noise", "z_" + std::to_string(t) + (t == matched ? " (matched)" : ""),
                       fmt_sci(s.alpha_bar[size_t(t)], 2), fmt(kept(noised(t)), 4), fmt(m.rmse, 4), fmt(m.ssim, 4),
                       fmt(m.agreement, 3)});
    }
    sweep.print("Table 10.6: the noise model's conditional samples from a sweep of starts (DDIM 50, the cut schedule) "
                "beside the blur model's from z_100, on the same " + std::to_string(n) + " test images: what the start "
                "keeps of the image (mean SSIM of z with x, data range 2), and RMSE / SSIM / class agreement of the "
                "samples; 'matched' is the first t whose z_t keeps no more than the blur's z_100");
    sweep.save_tsv(args.out("start_sweep.tsv"));
}

void require_shipped(const char* path, const char* what) {
    if (!std::filesystem::exists(path))
        fail(std::string(path) + ": missing; it is tracked in git (git checkout it), or retrain the " + what +
             " model with make cold-checkpoints (hours)");
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "10_cold");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    const BlurProcess p = blur_process();  // [003]: T = 100, beta = 1, 11 x 11
    const ImageSet test = load_mnist("test"), train = load_mnist("train");
    const MnistClassifier judge = load_scorer(test);
    degradation(args, test, p);
    uniqueness(args, test, p);
    blur_training(args, train);

    require_shipped(kBlurModel, "blur");
    require_shipped(kNoiseModel, "noise");
    BlurProcess shipped_p;
    const ImageModel blur = cold_model_from_checkpoint(load_checkpoint(kBlurModel), kBlurModel, shipped_p);
    Schedule s;
    const ImageModel noise = image_model_from_checkpoint(load_checkpoint(kNoiseModel), kNoiseModel, s);
    shipped_loss_curve(args, "data/models/mnist_cold_blur_train.log");
    sampling(args, train, test, judge, blur, shipped_p);
    comparison(args, train, test, judge, blur, shipped_p, noise, s);
    std::fprintf(stderr, "[10_cold] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("10_cold", lesson, argc, argv); }
