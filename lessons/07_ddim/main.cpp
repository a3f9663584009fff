// Lesson 07: DDIM (Song, Meng and Ermon 2021). The same eps-model as DDPM, sampled on a
// subsequence of the timesteps, with eta between a deterministic map (0) and DDPM's noise (1).
#include <cmath>
#include <cstdio>
#include <cstring>

#include "diffusion/ddim.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "diffusion/metrics.h"
#include "diffusion/model.h"
#include "diffusion/oracle.h"
#include "lessonkit/plot.h"
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
        std::vector<float> xs, ys;
        for (int i = 0; i < n; ++i) {
            xs.push_back(x[size_t(2 * i)]);
            ys.push_back(x[size_t(2 * i + 1)]);
        }
        plot::Axes& ax = fig.at(0, col);
        ax.scatter(xs, ys, plot::with_alpha(plot::palette(0), 130), 1.3f);
        ax.xlim(-3.5f, 3.5f);
        ax.ylim(-3.5f, 3.5f);
        ax.equal_aspect();
        ax.title(title);
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
