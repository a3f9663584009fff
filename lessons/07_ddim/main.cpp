// Lesson 07: DDIM (Song, Meng and Ermon 2021). The same eps-model as DDPM, sampled on a
// subsequence of the timesteps, with eta between a deterministic map (0) and DDPM's noise (1).
#include <cmath>
#include <cstdio>
#include <cstring>

#include "diffusion/ddim.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "diffusion/metrics.h"
#include "nets/eps_mlp.h"
#include "diffusion/oracle.h"
#include "plot/plot.h"
#include "diffusion/sampler.h"
#include "diffusion/train.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kStart = 30, kInvert = 50 };  // kHeldOut: lessonkit/evaluate.h

std::vector<float> start_noise(const LessonArgs& args, int n, int dim) {
    std::vector<float> x(static_cast<size_t>(n) * dim);
    Rng(args.seed, kStart).fill_normal(x.data(), int64_t(x.size()));
    return x;
}

// ---- 1. one fixed x_T, several step counts, side by side [004 Q4] ------------------------------
void side_by_side(const LessonArgs& args, const Trainer& tr, const EpsModel& model) {
    const int n = 1500;
    const std::vector<int> counts = {1000, 100, 50, 10, 5};
    const std::vector<float> x_T = start_noise(args, n, 2);
    plot::Figure fig(1, int(counts.size()) + 1, 260, 270);
    fig.suptitle("One fixed x_T (1500 points), DDIM with eta = 0 and fewer and fewer steps; last panel: DDPM, 1000 steps");
    const EpsFunction eps = model_eps_function(model);
    auto draw = [&](int col, const std::vector<float>& x, const std::string& title) {
        toy_scatter(fig.at(0, col), x, n, plot::with_alpha(plot::palette(0), 130), 1.3f, title);
    };
    for (size_t c = 0; c < counts.size(); ++c) {
        std::vector<float> x = x_T;
        ddim_sample(x.data(), n, 2, tr.schedule, eps, ddim_timesteps(tr.schedule.T, counts[c], Spacing::Uniform), 0.0f, args.seed);
        draw(int(c), x, "DDIM, " + std::to_string(counts[c]) + " steps");
    }
    std::vector<float> x = x_T;
    SampleOptions o;
    o.seed = args.seed;
    ddpm_sample(x.data(), n, 2, tr.schedule, eps, o);
    draw(int(counts.size()), x, "DDPM, 1000 steps");
    fig.save(args.out("side_by_side.png"));
}

// ---- 2. steps x eta against the distance; determinism ----------------------------------------
void sweep(const LessonArgs& args, const std::string& set, Table& table) {
    Trainer tr = lesson03_model(args, set);
    EpsModel model = tr.ema_model();
    const EpsFunction eps = model_eps_function(model);
    const int n = args.full ? 8000 : 2000, dim = model.config.dim;
    const std::vector<float> x_T = start_noise(args, n, dim);
    // one floor for the whole sweep: it depends on the data and n only
    const DistanceFloor floor = score_against_set(x_T.data(), n, set, args.seed).floor;
    const Dataset reference = make_dataset(set, n, args.seed + kHeldOut);
    auto score = [&](const std::vector<float>& x, const std::string& sampler, int steps, const std::string& eta,
                     const std::string& spacing, double seconds) {
        const double swd = sliced_wasserstein1(x.data(), n, reference.x.data(), n, dim, 256, args.seed);
        table.add_row({set, sampler, std::to_string(steps), eta, spacing, fmt(swd, 4), fmt(floor.swd_mean, 4),
                       fmt(swd / floor.swd_mean, 2)});
        std::fprintf(stderr, "  %s %s steps=%d eta=%s %s: %.2f s\n", set.c_str(), sampler.c_str(), steps, eta.c_str(),
                     spacing.c_str(), seconds);
    };
    {
        std::vector<float> x = x_T;
        SampleOptions o;
        o.seed = args.seed;
        Stopwatch clock;
        ddpm_sample(x.data(), n, dim, tr.schedule, eps, o);
        score(x, "ddpm", tr.schedule.T, "-", "-", clock.seconds());
    }
    for (int steps : {1000, 100, 50, 10}) {
        for (float eta : {0.0f, 0.5f, 1.0f}) {
            std::vector<float> x = x_T;
            Stopwatch clock;
            ddim_sample(x.data(), n, dim, tr.schedule, eps, ddim_timesteps(tr.schedule.T, steps, Spacing::Uniform), eta,
                        args.seed);
            score(x, "ddim", steps, fmt(eta, 1), "uniform", clock.seconds());
        }
    }
    for (int steps : {50, 10}) {
        std::vector<float> x = x_T;
        Stopwatch clock;
        ddim_sample(x.data(), n, dim, tr.schedule, eps, ddim_timesteps(tr.schedule.T, steps, Spacing::Quadratic), 0.0f,
                    args.seed);
        score(x, "ddim", steps, "0.0", "quadratic", clock.seconds());
    }
    // The same sampler with the exact eps* of lesson 05, where the data is a Gaussian mixture: what
    // DDIM itself costs, apart from the model's errors.
    if (set == "two_clusters") {
        const GaussianMixture gm = two_clusters_mixture();
        const EpsFunction oracle = [&](float* out, const float* xt, int rows, int t) {
            oracle_eps(out, xt, rows, gm, tr.schedule, t);
        };
        for (int steps : {1000, 50, 10, 5}) {
            std::vector<float> x = x_T;
            Stopwatch clock;
            ddim_sample(x.data(), n, dim, tr.schedule, oracle, ddim_timesteps(tr.schedule.T, steps, Spacing::Uniform),
                        0.0f, args.seed);
            score(x, "ddim+oracle", steps, "0.0", "uniform", clock.seconds());
        }
    }
}

bool determinism(const LessonArgs& args, const Trainer& tr, const EpsModel& model) {
    const EpsFunction eps = model_eps_function(model);
    std::vector<float> a = start_noise(args, 500, 2), b = a;
    const std::vector<int> tau = ddim_timesteps(tr.schedule.T, 50, Spacing::Uniform);
    ddim_sample(a.data(), 500, 2, tr.schedule, eps, tau, 0.0f, 1);
    ddim_sample(b.data(), 500, 2, tr.schedule, eps, tau, 0.0f, 2);  // another noise seed
    return std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// ---- 2b. wall time against steps [004 Q4] --------------------------------------------------------
// DDPM (1000 steps), DDPM on a strided subsequence (DDIM with eta = 1) and DDIM (eta = 0) at 100,
// 50 and 10 steps, on the swiss roll from one x_T. Each time is the best of three runs. Times are
// not deterministic, so this table goes to stderr and to wall_time.txt (not a .tsv: make diff
// skips it), and to wall_time.png; the deterministic columns (evaluations, SWD ratio) are in Table 7.1
// too.
void wall_time(const LessonArgs& args, const Trainer& tr, const EpsModel& model, const std::string& set) {
    const EpsFunction eps = model_eps_function(model);
    const int n = args.full ? 8000 : 2000, dim = model.config.dim;
    const std::vector<float> x_T = start_noise(args, n, dim);
    const Dataset reference = make_dataset(set, n, args.seed + kHeldOut);
    const DistanceFloor floor = score_against_set(x_T.data(), n, set, args.seed).floor;
    struct Run {
        std::string sampler;
        int steps;
        float eta;  // < 0: DDPM's ancestral sampler
    };
    const std::vector<Run> runs = {{"ddpm", 1000, -1.0f},      {"ddpm strided (ddim eta=1)", 100, 1.0f},
                                   {"ddpm strided (ddim eta=1)", 50, 1.0f}, {"ddpm strided (ddim eta=1)", 10, 1.0f},
                                   {"ddim eta=0", 1000, 0.0f}, {"ddim eta=0", 100, 0.0f},
                                   {"ddim eta=0", 50, 0.0f},   {"ddim eta=0", 10, 0.0f}};
    Table table({"data", "sampler", "steps", "network_evals", "swd_ratio", "seconds", "ms_per_1000_points",
                 "speed_up_vs_ddpm"});
    double ddpm_seconds = 0.0;
    plot::Figure fig(1, 1, 620, 440);
    plot::Axes& ax = fig.at(0, 0);
    std::vector<float> px[3], py[3];
    // three rounds over all the runs, so that a busy moment of the machine does not fall on one run only
    std::vector<double> best(runs.size(), INFINITY), ratio(runs.size(), 0.0);
    for (int rep = 0; rep < 3; ++rep)
        for (size_t k = 0; k < runs.size(); ++k) {
            const Run& r = runs[k];
            std::vector<float> x = x_T;
            Stopwatch clock;
            if (r.eta < 0) {
                SampleOptions o;
                o.seed = args.seed;
                ddpm_sample(x.data(), n, dim, tr.schedule, eps, o);
            } else {
                ddim_sample(x.data(), n, dim, tr.schedule, eps, ddim_timesteps(tr.schedule.T, r.steps, Spacing::Uniform),
                            r.eta, args.seed);
            }
            best[k] = std::fmin(best[k], clock.seconds());
            if (rep == 0)
                ratio[k] = sliced_wasserstein1(x.data(), n, reference.x.data(), n, dim, 256, args.seed) / floor.swd_mean;
        }
    for (size_t k = 0; k < runs.size(); ++k) {
        const Run& r = runs[k];
        if (r.eta < 0) ddpm_seconds = best[k];
        char seconds[32], per_k[32], speed[32];
        std::snprintf(seconds, sizeof seconds, "%.3f", best[k]);
        std::snprintf(per_k, sizeof per_k, "%.1f", 1000.0 * best[k] / n * 1000.0);
        std::snprintf(speed, sizeof speed, "%.1fx", ddpm_seconds / best[k]);
        table.add_row({set, r.sampler, std::to_string(r.steps), std::to_string(size_t(r.steps) * size_t(n)),
                       fmt(ratio[k], 2), seconds, per_k, speed});
        const int series = r.eta < 0 ? 0 : r.eta > 0.5f ? 1 : 2;
        px[series].push_back(float(std::log10(best[k])));  // a log axis: the times span two decades
        py[series].push_back(float(ratio[k]));
    }
    const std::string title = "Table 7.4: wall time of " + std::to_string(n) + " samples ([004] Q4), best of 3 runs on " +
                              std::to_string(args.threads) + " threads (machine-dependent, not diffed)";
    table.print(title, stderr);
    const std::string path = args.out("wall_time.txt");
    if (FILE* f = std::fopen(path.c_str(), "w")) {
        table.print(title, f);
        std::fclose(f);
    }
    ax.scatter(px[0], py[0], plot::colors::black, 5.0f, "DDPM, 1000 steps");
    ax.line(px[1], py[1], plot::palette(0), 1.5f, "DDPM strided (eta = 1): 100, 50, 10 steps");
    ax.scatter(px[1], py[1], plot::palette(0), 4.0f);
    ax.line(px[2], py[2], plot::palette(1), 1.5f, "DDIM (eta = 0): 1000, 100, 50, 10 steps");
    ax.scatter(px[2], py[2], plot::palette(1), 4.0f);
    ax.hline(1.0f, plot::colors::gray, 1.0f, true, "the floor (ratio 1)");
    ax.title("Quality against wall time, " + set + ", " + std::to_string(n) + " samples");
    ax.xlabel("log10 of the seconds (best of 3, on this machine): -2 is 0.01 s, 0 is 1 s");
    ax.ylabel("SWD ratio (1 = as good as fresh data)");
    fig.save(args.out("wall_time.png"));
}

// ---- 3. inversion: x_0 -> x_T -> x_0 ------------------------------------------------------------
void inversion(const LessonArgs& args, const Trainer& tr, const EpsModel& model, const std::string& set, Table& table) {
    const EpsFunction eps = model_eps_function(model);
    const int n = 1000;
    Dataset data = make_dataset(set, n, args.seed + kInvert);
    for (int steps : {1000, 100, 50, 10}) {
        const std::vector<int> tau = ddim_timesteps(tr.schedule.T, steps, Spacing::Uniform);
        std::vector<float> x = data.x;
        ddim_invert(x.data(), n, 2, tr.schedule, eps, tau);
        Moments latent = sample_moments(x.data(), int64_t(x.size()));
        ddim_sample(x.data(), n, 2, tr.schedule, eps, tau, 0.0f, 0);
        double se = 0;
        for (size_t i = 0; i < x.size(); ++i) se += dmath::square(double(x[i]) - data.x[i]);
        table.add_row({set, std::to_string(steps), fmt(latent.mean, 3), fmt(latent.var, 3),
                       fmt(std::sqrt(se / double(x.size())), 4)});
    }
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "07_ddim");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    Trainer roll = lesson03_model(args, "swiss_roll");
    EpsModel roll_model = roll.ema_model();
    side_by_side(args, roll, roll_model);

    Table table({"data", "sampler", "steps", "eta", "spacing", "swd", "swd_floor", "swd_ratio"});
    for (const std::string set : {"two_clusters", "eight_gaussians", "swiss_roll"}) sweep(args, set, table);
    table.print("Table 7.1: DDPM and DDIM from the same x_T against held-out data (floor: mean over 10 true samples)");
    table.save_tsv(args.out("steps_eta.tsv"));

    wall_time(args, roll, roll_model, "swiss_roll");

    const bool same = determinism(args, roll, roll_model);
    Table det({"check", "result"});
    det.add_row({"eta = 0, same x_T, two noise seeds: identical samples", same ? "yes" : "NO"});
    det.print("Table 7.2: DDIM with eta = 0 is a deterministic map of x_T");
    det.save_tsv(args.out("determinism.tsv"));

    Table inv({"data", "steps", "latent_mean", "latent_var", "rmse_x0"});
    inversion(args, roll, roll_model, "swiss_roll", inv);
    inv.print("Table 7.3: DDIM inversion x_0 -> x_T and back (eta = 0): the latent's moments and the reconstruction error");
    inv.save_tsv(args.out("inversion.tsv"));
    std::fprintf(stderr, "[07_ddim] done in %.1f s\n", clock.seconds());
    if (!same) fail("DDIM with eta = 0 depended on the noise seed");
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("07_ddim", lesson, argc, argv); }
