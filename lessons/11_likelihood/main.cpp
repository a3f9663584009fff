// Lesson 11: the likelihood. The variational bound of Ho et al. (2020, eq. 5; [001] eq. 4-7) term by
// term, for lesson 03's models and for the exact oracle of lesson 05, beside the true negative
// log-likelihood of the Gaussian-mixture toy sets; the same bound in bits per dimension for lesson 09's
// U-Net on MNIST with the discretised decoder (Ho et al. sec. 3.3). Then a learned variance (Nichol
// and Dhariwal 2021, [004] Q2.4) and other targets (x_0, v: Salimans and Ho 2022; min-SNR weighting:
// Hang et al. 2023) on toy data. Last, classifier-free guidance (Ho and Salimans 2022) with a
// class-conditional U-Net on MNIST.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "diffusion/ddim.h"
#include "diffusion/guidance.h"
#include "diffusion/image_train.h"
#include "diffusion/likelihood.h"
#include "diffusion/metrics.h"
#include "nets/eps_mlp.h"
#include "diffusion/objectives.h"
#include "diffusion/oracle.h"
#include "diffusion/sampler.h"
#include "diffusion/train.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "lessonkit/mnist.h"
#include "plot/plot.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t {
    kBoundNoise = 1, kMnistBound = 2, kStart = 30, kTriples = 31, kTriplesT = 32, kSampleNoise = 33, kGuideStart = 40
};  // kHeldOut: lessonkit/evaluate.h

const double kLn2 = 0.6931471805599453;

bool is_mixture(const std::string& set, GaussianMixture* gm) {
    if (set == "bimodal1d") *gm = bimodal_1d_mixture();
    else if (set == "two_clusters") *gm = two_clusters_mixture();
    else if (set == "eight_gaussians") *gm = eight_gaussians_mixture();
    else return false;
    return true;
}

// sum of term[t - 1] for t in [lo, hi]
double term_sum(const BoundTerms& b, int lo, int hi) {
    double s = 0.0;
    for (int t = lo; t <= hi; ++t) s += b.term[size_t(t - 1)];
    return s;
}

// the standard error of mean(a - b), a and b paired row by row
double paired_se(const std::vector<double>& a, const std::vector<double>& b) {
    const size_t n = a.size();
    double mean = 0.0;
    for (size_t i = 0; i < n; ++i) mean += a[i] - b[i];
    mean /= double(n);
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) ss += dmath::square(a[i] - b[i] - mean);
    return std::sqrt(ss / double(n - 1) / double(n));
}

// ---- 1. the bound on the toy sets, beside the true NLL -------------------------------------------
void toy_bounds(const LessonArgs& args, Table& bound_table, Table& terms_table) {
    const std::vector<std::string> sets = {"bimodal1d", "two_clusters", "eight_gaussians", "swiss_roll"};
    const int n = args.full ? 20000 : 4000;
    plot::Figure fig(2, int(sets.size()), 380, 330);
    fig.suptitle("Top: the terms L_{t-1} of the bound for t = 2..T (nats per dimension), lesson 03's model and the exact "
                 "oracle. Bottom: the model's excess over the oracle, term by term (its fault; beta_tilde)");
    int column = 0;
    for (const std::string& set : sets) {
        Trainer tr = lesson03_model(args, set);
        const EpsModel model = tr.ema_model();
        const Schedule& s = tr.schedule;
        const Dataset held = make_dataset(set, n, args.seed + kHeldOut);
        const int dim = held.dim;
        Stopwatch clock;
        const std::vector<BoundVariance> both = {BoundVariance::BetaTilde, BoundVariance::Beta};
        const std::vector<BoundTerms> mb = variational_bound(held.x.data(), n, dim, s,
                                                             fixed_variance_prediction(model_eps_function(model)), both,
                                                             Decoder::Gaussian, args.seed + kBoundNoise);
        GaussianMixture gm;
        const bool mixture = is_mixture(set, &gm);
        std::vector<BoundTerms> ob;
        double nll = 0.0, nll_se = 0.0;
        std::vector<double> true_per_row;
        if (mixture) {
            const EpsFunction oracle = [&](float* out, const float* xt, int rows, int t) { oracle_eps(out, xt, rows, gm, s, t); };
            ob = variational_bound(held.x.data(), n, dim, s, fixed_variance_prediction(oracle), both, Decoder::Gaussian,
                                   args.seed + kBoundNoise);
            std::vector<double> per(static_cast<size_t>(n));
            for (int i = 0; i < n; ++i) per[size_t(i)] = -mixture_log_density(gm, held.x.data() + int64_t(i) * dim) / dim;
            for (double v : per) nll += v;
            nll /= n;
            double ss = 0.0;
            for (double v : per) ss += (v - nll) * (v - nll);
            nll_se = std::sqrt(ss / (n - 1) / n);
            true_per_row = per;
        }
        std::fprintf(stderr, "  %s: bounds of %d held-out points in %.1f s\n", set.c_str(), n, clock.seconds());
        for (size_t k = 0; k < both.size(); ++k) {
            const double m = mb[k].total();
            if (mixture) {
                const double o = ob[k].total();
                bound_table.add_row({set, std::to_string(dim), std::to_string(n), bound_variance_name(both[k]), fmt(nll, 4),
                                     fmt(nll_se, 4), fmt(o, 4), fmt(m, 4), fmt(o - nll, 4),
                                     fmt(paired_se(ob[k].row_total, true_per_row), 4), fmt(m - o, 4),
                                     fmt(paired_se(mb[k].row_total, ob[k].row_total), 4)});
            } else {
                bound_table.add_row({set, std::to_string(dim), std::to_string(n), bound_variance_name(both[k]), "-", "-",
                                     "-", fmt(m, 4), "-", "-", "-", "-"});
            }
            const int T = s.T;
            auto add_terms = [&](const std::string& who, const BoundTerms& b) {
                terms_table.add_row({set, who, bound_variance_name(both[k]), fmt(b.term[size_t(T)], 5), fmt(b.term[0], 4),
                                     fmt(term_sum(b, 2, 10), 4), fmt(term_sum(b, 11, 100), 4), fmt(term_sum(b, 101, T), 4),
                                     fmt(b.total(), 4)});
            };
            add_terms("model", mb[k]);
            if (mixture) add_terms("oracle", ob[k]);
        }
        // the figure: per-t terms for t >= 2 (L_0 is a log-density and may be negative), log axes
        plot::Axes& ax = fig.at(0, column++);
        auto curve = [&](const BoundTerms& b, plot::Color c, const std::string& label) {
            std::vector<float> xs, ys;
            for (int t = 2; t <= s.T; ++t) {
                xs.push_back(float(std::log10(double(t))));
                ys.push_back(float(b.term[size_t(t - 1)]));
            }
            ax.line(xs, ys, c, 1.3f, label);
        };
        curve(mb[0], plot::palette(0), "model, beta_tilde");
        curve(mb[1], plot::palette(1), "model, beta");
        if (mixture) curve(ob[0], plot::colors::black, "oracle, beta_tilde");
        ax.logy();
        ax.ylim(1e-7f, 10.0f);
        ax.title(set);
        ax.xlabel("log10 t");
        ax.ylabel("L_{t-1}, nats per dimension");
        plot::Axes& ex = fig.at(1, column - 1);
        if (mixture) {
            std::vector<float> xs, ys;
            for (int t = 2; t <= s.T; ++t) {
                xs.push_back(float(std::log10(double(t))));
                ys.push_back(float(mb[0].term[size_t(t - 1)] - ob[0].term[size_t(t - 1)]));
            }
            ex.line(xs, ys, plot::palette(3), 1.0f, "model minus oracle (points below 0 not drawn)");
            ex.logy();
            ex.ylim(1e-8f, 1.0f);
            ex.title(set + ": the model's excess");
        } else {
            ex.title(set + ": no oracle (not a mixture)");
        }
        ex.xlabel("log10 t");
        ex.ylabel("nats per dimension");
    }
    fig.save(args.out("bound_terms.png"));
}

// ---- 1b. bits per dimension on MNIST ---------------------------------------------------------------
void mnist_bound(const LessonArgs& args) {
    const char* path = "data/models/mnist_unet.ckpt";
    if (!std::filesystem::exists(path) || !std::filesystem::exists("data/mnist")) {
        std::fprintf(stderr, "  MNIST: %s or data/mnist missing (make data; the U-Net ships in git): part skipped\n", path);
        return;
    }
    const ImageSet test = load_mnist("test");
    const Checkpoint file = load_checkpoint(path);
    Schedule s;
    const ImageModel model = image_model_from_checkpoint(file, path, s);
    const std::string steps = file.has_meta("train.step") ? file.get_meta("train.step") : "?";
    const int n = args.full ? 128 : 8;
    const int dim = int(test.image_size());
    Stopwatch clock;
    // the first n test images
    const std::vector<BoundTerms> b =
        variational_bound(test.x.data(), n, dim, s, fixed_variance_prediction(image_eps_function(model)),
                          {BoundVariance::BetaTilde, BoundVariance::Beta}, Decoder::Discretised, args.seed + kMnistBound);
    const double seconds = clock.seconds();
    Table table({"model", "schedule", "train_steps", "images", "variance", "L_T", "L_0", "sum_L_t-1_2..10",
                 "sum_L_t-1_11..100", "sum_L_t-1_101..T", "bits_per_dim", "se"});
    for (const BoundTerms& t : b) {
        table.add_row({"unet (mnist_unet.ckpt)", s.name, steps, std::to_string(n), bound_variance_name(t.variance),
                       fmt(t.term[size_t(s.T)] / kLn2, 5), fmt(t.term[0] / kLn2, 4), fmt(term_sum(t, 2, 10) / kLn2, 4),
                       fmt(term_sum(t, 11, 100) / kLn2, 4), fmt(term_sum(t, 101, s.T) / kLn2, 4), fmt(t.total() / kLn2, 4),
                       fmt(t.standard_error() / kLn2, 4)});
    }
    table.print("Table 11.3: the bound on MNIST test images in bits per dimension, discretised decoder (Ho et al. sec. 3.3), "
                "T network evaluations per image");
    table.save_tsv(args.out("mnist_bound.tsv"));
    std::fprintf(stderr, "  MNIST: %d images x %d steps in %.1f s\n", n, s.T, seconds);
}


// ---- 2 and 3. a learned variance, other targets, min-SNR weighting -------------------------------
const char* kVariantSet = "eight_gaussians";
const int kVariantQuickSteps = 6000, kVariantFullSteps = 24000;  // every variant, the eps baseline included

struct Variant {
    std::string name;
    ObjectiveConfig objective;
    EpsModel model;  // EMA weights
};

Variant train_variant(const LessonArgs& args, const std::string& set, const std::string& name, const ObjectiveConfig& o) {
    const Dataset data = make_dataset(set, kToyRows, args.seed);  // lesson 03's training set and recipe
    EpsModelConfig mc;
    mc.dim = data.dim;
    TrainConfig tc;
    tc.seed = args.seed;
    ObjectiveTrainer tr(mc, o, tc, linear_schedule(1000));
    const int steps = args.full ? kVariantFullSteps : kVariantQuickSteps;
    Stopwatch clock;
    for (int i = 0; i < steps; ++i) tr.train_step(data.x.data(), data.n());
    std::fprintf(stderr, "  %s: %s trained for %d steps in %.1f s\n", set.c_str(), name.c_str(), steps, clock.seconds());
    return {name, o, tr.ema_model()};
}

double swd_ratio_of(const LessonArgs& args, const Schedule& s, const ReversePrediction& p,
                    BoundVariance variance, int steps, int n, const DistanceFloor& floor, const Dataset& reference) {
    const int dim = reference.dim;
    std::vector<float> x(static_cast<size_t>(n) * dim);
    Rng(args.seed, kStart).fill_normal(x.data(), int64_t(x.size()));
    respaced_sample(x.data(), n, dim, s, p, variance, ddim_timesteps(s.T, steps, Spacing::Uniform),
                    args.seed + kSampleNoise);
    return sliced_wasserstein1(x.data(), n, reference.x.data(), n, dim, 256, args.seed) / floor.swd_mean;
}

void learned_variance(const LessonArgs& args, const Variant& base, const Variant& learned, Table& table, Table& v_table) {
    const std::string set = kVariantSet;
    const Schedule s = linear_schedule(1000);
    const int n_bound = args.full ? 4000 : 1000, n = args.full ? 8000 : 2000;
    const Dataset held = make_dataset(set, n_bound, args.seed + kHeldOut);
    const Dataset reference = make_dataset(set, n, args.seed + kHeldOut);
    std::vector<float> x_T(static_cast<size_t>(n) * held.dim);
    const DistanceFloor floor = score_against_set(x_T.data(), n, set, args.seed).floor;
    struct Row {
        const Variant* v;
        BoundVariance variance;
    };
    const std::vector<BoundTerms> base_b =
        variational_bound(held.x.data(), n_bound, held.dim, s, objective_prediction(base.model, base.objective, s),
                          {BoundVariance::Beta, BoundVariance::BetaTilde}, Decoder::Gaussian, args.seed + kBoundNoise);
    const std::vector<BoundTerms> learned_b = variational_bound(
        held.x.data(), n_bound, held.dim, s, objective_prediction(learned.model, learned.objective, s),
        {BoundVariance::Beta, BoundVariance::BetaTilde, BoundVariance::Learned}, Decoder::Gaussian, args.seed + kBoundNoise);
    auto add = [&](const Variant& v, const BoundTerms& b) {
        std::vector<std::string> row = {set, v.name, bound_variance_name(b.variance), fmt(b.total(), 4),
                                        fmt(b.standard_error(), 4), fmt(floor.swd_sd / floor.swd_mean, 2)};
        for (int steps : {1000, 100, 50})
            row.push_back(fmt(swd_ratio_of(args, s, objective_prediction(v.model, v.objective, s), b.variance, steps,
                                           n, floor, reference),
                              2));
        table.add_row(row);
    };
    for (const BoundTerms& b : base_b) add(base, b);
    for (const BoundTerms& b : learned_b) add(learned, b);

    // what the network learned: the mean v over held-out x_t, per t-bucket and per t (the figure)
    const ReversePrediction p = objective_prediction(learned.model, learned.objective, s);
    std::vector<float> noise(held.x.size()), x_t(held.x.size()), e(held.x.size()), v(held.x.size());
    Rng rng(args.seed, kTriplesT);
    std::vector<float> ts, mean_v;
    for (int t = 1; t <= s.T; ++t) {
        rng.fill_normal(noise.data(), int64_t(noise.size()));
        const double ab = s.alpha_bar[size_t(t)];
        for (size_t i = 0; i < x_t.size(); ++i) x_t[i] = float(std::sqrt(ab) * held.x[i] + std::sqrt(1.0 - ab) * noise[i]);
        p(e.data(), v.data(), x_t.data(), n_bound, t);
        double m = 0.0;
        for (float x : v) m += x;
        ts.push_back(float(std::log10(double(t))));
        mean_v.push_back(float(m / double(v.size())));
    }
    for (const auto& [lo, hi] : std::vector<std::pair<int, int>>{{1, 1}, {2, 10}, {11, 100}, {101, 500}, {501, 1000}}) {
        double m = 0.0;
        for (int t = lo; t <= hi; ++t) m += mean_v[size_t(t - 1)];
        v_table.add_row({set, std::to_string(lo) + "-" + std::to_string(hi), fmt(m / (hi - lo + 1), 3)});
    }
    plot::Figure fig(1, 2, 460, 340);
    fig.suptitle("The learned variance on " + set + ": sigma_t^2 = exp(v log beta_t + (1 - v) log beta_tilde_t)");
    plot::Axes& a0 = fig.at(0, 0);
    a0.line(ts, mean_v, plot::palette(0), 1.5f, "mean v over held-out x_t");
    a0.hline(0.0f, plot::colors::gray, 1.0f, true, "v = 0: beta_tilde");
    a0.hline(1.0f, plot::colors::black, 1.0f, true, "v = 1: beta");
    a0.title("v against t");
    a0.xlabel("log10 t");
    a0.ylabel("v");
    plot::Axes& a1 = fig.at(0, 1);
    auto curve = [&](const BoundTerms& b, plot::Color c, const std::string& label) {
        std::vector<float> xs, ys;
        for (int t = 2; t <= s.T; ++t) {
            xs.push_back(float(std::log10(double(t))));
            ys.push_back(float(b.term[size_t(t - 1)]));
        }
        a1.line(xs, ys, c, 1.3f, label);
    };
    curve(learned_b[1], plot::palette(1), "beta_tilde");
    curve(learned_b[0], plot::palette(2), "beta");
    curve(learned_b[2], plot::colors::black, "learned");
    a1.logy();
    a1.ylim(1e-7f, 10.0f);
    a1.title("L_{t-1} of the L_hybrid model, three variances");
    a1.xlabel("log10 t");
    a1.ylabel("nats per dimension");
    fig.save(args.out("learned_variance.png"));
}

void targets(const LessonArgs& args, const std::vector<Variant>& variants, Table& table) {
    const std::string set = kVariantSet;
    const Schedule s = linear_schedule(1000);
    const int n = args.full ? 8000 : 2000, per_t = args.full ? 16 : 4, dim = 2;
    const Dataset reference = make_dataset(set, n, args.seed + kHeldOut);
    std::vector<float> x_T(static_cast<size_t>(n) * dim);
    const DistanceFloor floor = score_against_set(x_T.data(), n, set, args.seed).floor;
    // fixed triples: per_t held-out points and noises at every t
    const Dataset held = make_dataset(set, per_t * s.T, args.seed + kHeldOut + 1);
    std::vector<float> noise(held.x.size());
    Rng(args.seed, kTriples).fill_normal(noise.data(), int64_t(noise.size()));
    GaussianMixture gm;
    is_mixture(set, &gm);
    const std::vector<std::pair<int, int>> buckets = {{1, 10}, {11, 100}, {101, 500}, {501, 1000}};
    plot::Figure fig(1, 1, 700, 460);
    plot::Axes& ax = fig.at(0, 0);
    int colour = 0;
    // the error per t, averaged over groups of 10 consecutive t, as a curve
    auto bucket_mse = [&](const ReversePrediction& p, const std::string& label, plot::Color c) {
        std::vector<double> out(buckets.size(), 0.0);
        std::vector<float> xs, ys;
        double group = 0.0;
        std::vector<float> x_t(static_cast<size_t>(per_t) * dim), e(x_t.size());
        for (int t = 1; t <= s.T; ++t) {
            const double ab = s.alpha_bar[size_t(t)];
            const size_t off = size_t(t - 1) * per_t * dim;
            for (size_t i = 0; i < x_t.size(); ++i)
                x_t[i] = float(std::sqrt(ab) * held.x[off + i] + std::sqrt(1.0 - ab) * noise[off + i]);
            p(e.data(), nullptr, x_t.data(), per_t, t);
            double se = 0.0;
            for (size_t i = 0; i < x_t.size(); ++i) se += dmath::square(double(e[i]) - noise[off + i]);
            for (size_t k = 0; k < buckets.size(); ++k)
                if (t >= buckets[k].first && t <= buckets[k].second)
                    out[k] += se / double(x_t.size()) / double(buckets[k].second - buckets[k].first + 1);
            group += se / double(x_t.size()) / 10.0;
            if (t % 10 == 0) {
                xs.push_back(float(std::log10(double(t) - 4.5)));
                ys.push_back(float(group));
                group = 0.0;
            }
        }
        ax.line(xs, ys, c, 1.3f, label);
        return out;
    };
    {
        const EpsFunction oracle = [&](float* out, const float* xt, int rows, int t) { oracle_eps(out, xt, rows, gm, s, t); };
        const std::vector<double> m = bucket_mse(fixed_variance_prediction(oracle), "oracle eps* (the floor)", plot::colors::black);
        std::vector<std::string> row = {set, "oracle eps* (the floor)"};
        for (double v : m) row.push_back(fmt(v, 4));
        for (int k = 0; k < 4; ++k) row.push_back("-");
        table.add_row(row);
    }
    for (const Variant& v : variants) {
        const ReversePrediction p = objective_prediction(v.model, v.objective, s);
        const std::vector<double> m = bucket_mse(p, v.name, plot::palette(colour++));
        std::vector<std::string> row = {set, v.name};
        for (double x : m) row.push_back(fmt(x, 4));
        row.push_back(fmt(floor.swd_sd / floor.swd_mean, 2));
        row.push_back(fmt(swd_ratio_of(args, s, p, BoundVariance::BetaTilde, 1000, n, floor, reference), 2));
        row.push_back(fmt(swd_ratio_of(args, s, p, BoundVariance::BetaTilde, 50, n, floor, reference), 2));
        // DDIM (eta = 0), 50 steps, on the eps the prediction gives
        std::vector<float> x(static_cast<size_t>(n) * dim);
        Rng(args.seed, kStart).fill_normal(x.data(), int64_t(x.size()));
        const EpsFunction as_eps = [&](float* out, const float* xt, int rows, int t) { p(out, nullptr, xt, rows, t); };
        ddim_sample(x.data(), n, dim, s, as_eps, ddim_timesteps(s.T, 50, Spacing::Uniform), 0.0f, args.seed);
        row.push_back(fmt(sliced_wasserstein1(x.data(), n, reference.x.data(), n, dim, 256, args.seed) / floor.swd_mean, 2));
        table.add_row(row);
    }
    ax.logy();
    ax.title("The noise's error per t (every target turned into eps; means over 10 consecutive t), " + set);
    ax.xlabel("log10 t");
    ax.ylabel("E |eps - eps_hat|^2 per coordinate");
    fig.save(args.out("targets.png"));
}

// ---- 4. classifier-free guidance on MNIST (Ho and Salimans 2022) ---------------------------------
// The shipped class-conditional U-Net (lesson 09's network plus a label table, labels dropped with
// p = 0.1 in training: make cond-checkpoint). Digit i is asked for class i % 10, every w starts from
// the same x_T and DDIM (eta = 0) is deterministic, so the rows of guidance.png differ by w alone.
void guidance(const LessonArgs& args) {
    const char* path = "data/models/mnist_unet_cond.ckpt";
    if (!std::filesystem::exists(path) || !std::filesystem::exists("data/mnist")) {
        std::fprintf(stderr, "  guidance: %s or data/mnist missing (make data; the model ships in git): part skipped\n",
                     path);
        return;
    }
    const ImageSet train = load_mnist("train"), test = load_mnist("test");
    const MnistClassifier judge = load_scorer(test);
    const Checkpoint file = load_checkpoint(path);
    Schedule s;
    const ImageModel model = image_model_from_checkpoint(file, path, s);
    if (model.classes() != 10) fail(std::string(path) + ": not a 10-class conditional model");
    const std::string epochs = file.has_meta("train.epochs") ? file.get_meta("train.epochs") : "?";
    // quick: 50 digits (5 of each class asked for) and DDIM 25, about half a minute on 2 cores; the
    // Frechet distance of 50 images rests on a rank-49 covariance, so read it against its floor,
    // computed the same way
    const int n = args.images > 0 ? args.images : args.full ? 1000 : 50, steps = args.full ? 50 : 25;
    const int D = 784;
    std::vector<int> asked(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) asked[size_t(i)] = i % 10;
    std::vector<float> start(size_t(n) * D);
    Rng(args.seed, kGuideStart).fill_normal(start.data(), int64_t(start.size()));
    const std::vector<int> tau = ddim_timesteps(s.T, steps, Spacing::Uniform);

    Table table({"labels", "w", "samples", "ddim_steps", "asked_class_accuracy", "confidence", "rarest_class",
                 "frechet", "frechet_floor"});
    std::vector<float> grid;
    std::vector<std::string> rows;
    std::vector<float> ws, accuracy, ratio;
    auto run = [&](const std::string& what, const std::vector<int>& labels, float w) {
        std::vector<float> x = start;
        Stopwatch clock;
        ddim_sample_clipped(x.data(), n, D, s, guided_eps_function(model, labels, w), tau, 0.0f, args.seed + kSampleNoise,
                            1.0f);
        const double seconds = clock.seconds();
        for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
        const DigitScore d = score_digits(judge, x.data(), n, test);
        int right = 0;
        for (int i = 0; i < n; ++i) right += d.labels[size_t(i)] == asked[size_t(i)];
        const bool conditional = labels[0] >= 0;
        table.add_row({what, conditional ? fmt(w, 1) : "-", std::to_string(n), std::to_string(steps),
                       fmt(double(right) / n, 3), fmt(d.mean_confidence, 3), fmt(d.min_class_fraction, 3),
                       fmt(d.fd.distance, 1), fmt(d.fd.floor, 1)});  // the time goes to stderr: tables are compared
        grid.insert(grid.end(), x.begin(), x.begin() + 10 * D);
        rows.push_back(conditional ? "w = " + fmt(w, 1) : "no label");
        if (conditional) {
            ws.push_back(w);
            accuracy.push_back(float(right) / float(n));
            ratio.push_back(float(d.fd.distance / d.fd.floor));
        }
        std::fprintf(stderr, "  guidance: %s, w = %.1f: %.1f s\n", what.c_str(), double(w), seconds);
    };
    run("none (-1)", std::vector<int>(static_cast<size_t>(n), -1), 0.0f);
    for (float w : {0.0f, 0.5f, 1.0f, 2.0f, 3.0f, 5.0f}) run("class i % 10", asked, w);
    table.print("Table 11.7: classifier-free guidance (Ho and Salimans 2022, eq. 6) on the shipped conditional U-Net (" +
                epochs + " epochs): digit i asked for class i % 10 (the first row: the same network with no label), "
                "eps~ = (1 + w) eps(x_t, c) - w eps(x_t); the classifier's accuracy on the asked-for class against "
                "the Frechet distance to the test set and its floor");
    table.save_tsv(args.out("guidance.tsv"));
    plot::save_image_grid(args.out("guidance.png"), grid.data(), int(grid.size() / D), 1, 28, 28, 10, -1.0f, 1.0f, 2,
                          rows);
    plot::Figure fig(1, 2, 450, 340);
    fig.at(0, 0).line(ws, accuracy, plot::colors::blue, 1.5f, "asked-for class");
    fig.at(0, 0).title("the classifier's accuracy");
    fig.at(0, 0).xlabel("guidance scale w");
    fig.at(0, 1).line(ws, ratio, plot::colors::orange, 1.5f, "Frechet / floor");
    fig.at(0, 1).title("distance to the test set, over its floor");
    fig.at(0, 1).xlabel("guidance scale w");
    fig.save(args.out("guidance_tradeoff.png"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "11_likelihood");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    {
        Table bound({"data", "dim", "points", "variance", "true_nll", "true_nll_se", "oracle_bound", "model_bound",
                     "oracle_minus_true", "se", "model_minus_oracle", "se"});
        Table terms({"data", "eps", "variance", "L_T", "L_0", "sum_L_t-1_2..10", "sum_L_t-1_11..100", "sum_L_t-1_101..T",
                     "total"});
        toy_bounds(args, bound, terms);
        bound.print("Table 11.1: the variational bound against the true NLL, nats per dimension, on held-out points "
                    "(Gaussian decoder, sigma_1^2 as in docs/likelihood.md)");
        bound.save_tsv(args.out("bound_vs_nll.tsv"));
        terms.print("Table 11.2: where the bound comes from, nats per dimension (the same points)");
        terms.save_tsv(args.out("bound_terms.tsv"));
    }
    mnist_bound(args);
    {
        const std::string set = kVariantSet;
        const Variant base = train_variant(args, set, "eps (L_simple)", ObjectiveConfig{});
        ObjectiveConfig hybrid;
        hybrid.learned_variance = true;
        const Variant learned = train_variant(args, set, "eps + learned v (L_hybrid)", hybrid);
        Table table({"data", "training", "variance", "bound", "bound_se", "floor_sd_ratio", "swd_ratio_1000", "swd_ratio_100", "swd_ratio_50"});
        Table v_table({"data", "t", "mean_v"});
        learned_variance(args, base, learned, table, v_table);
        table.print("Table 11.4: fixed against learned variances (Nichol and Dhariwal 2021): the bound (nats per dimension) "
                    "and DDPM's SWD ratio at 1000, 100 and 50 respaced steps");
        table.save_tsv(args.out("learned_variance.tsv"));
        v_table.print("Table 11.5: the learned v per t-bucket (mean over held-out x_t; 0 is beta_tilde, 1 is beta)");
        v_table.save_tsv(args.out("learned_v.tsv"));

        std::vector<Variant> variants = {base};
        ObjectiveConfig x0;
        x0.target = Target::X0;
        variants.push_back(train_variant(args, set, "x0", x0));
        ObjectiveConfig v;
        v.target = Target::V;
        variants.push_back(train_variant(args, set, "v", v));
        ObjectiveConfig eps_snr;
        eps_snr.min_snr_gamma = 5.0;
        variants.push_back(train_variant(args, set, "eps, min-SNR-5", eps_snr));
        ObjectiveConfig v_snr = v;
        v_snr.min_snr_gamma = 5.0;
        variants.push_back(train_variant(args, set, "v, min-SNR-5", v_snr));
        Table t({"data", "model", "eps_mse_t1-10", "eps_mse_t11-100", "eps_mse_t101-500", "eps_mse_t501-1000",
                 "floor_sd_ratio", "swd_ratio_ddpm_1000", "swd_ratio_ddpm_50", "swd_ratio_ddim_50"});
        targets(args, variants, t);
        t.print("Table 11.6: targets and weighting, the same network and steps: the noise's error per t-bucket (every "
                "target turned into eps) and sample quality (beta_tilde; DDIM eta = 0)");
        t.save_tsv(args.out("targets.tsv"));
    }
    guidance(args);
    std::fprintf(stderr, "[11_likelihood] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("11_likelihood", lesson, argc, argv); }
