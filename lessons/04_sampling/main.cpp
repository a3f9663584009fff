// Lesson 04: reverse sampling (Ho et al. 2020, Algorithm 2). The mean from the predicted noise,
// checked against the true posterior mean; DDPM ancestral sampling with sigma^2 = beta_t or
// beta-tilde_t; reverse trajectories; one point started at the origin again and again; generated
// against true data, with a distance and its floor.
#include <cmath>
#include <cstdio>

#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "diffusion/metrics.h"
#include "diffusion/model.h"
#include "lessonkit/plot.h"
#include "diffusion/sampler.h"
#include "diffusion/train.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kCheck = 1, kStart = 30 };  // kHeldOut: lessonkit/evaluate.h

// ---- 1. the mean from eps against the posterior mean ------------------------------------------
void check_mean(const LessonArgs& args) {
    const Schedule s = linear_schedule(1000);
    const int n = 10000;
    std::vector<float> x0(static_cast<size_t>(n)), eps(x0.size()), xt(x0.size()), a(x0.size()), b(x0.size());
    Rng(args.seed, kCheck).fill_normal(x0.data(), n, 0.0f, 1.5f);
    Rng(args.seed, kCheck + 1).fill_normal(eps.data(), n);
    Table t({"t", "max_abs_diff", "max_abs_mean"});
    for (int k : {1, 2, 10, 100, 500, 900, 1000}) {
        q_sample(xt.data(), x0.data(), eps.data(), n, s, k);
        p_mean_from_eps(a.data(), xt.data(), eps.data(), n, s, k);
        q_posterior_mean(b.data(), x0.data(), xt.data(), n, s, k);
        double diff = 0, size = 0;
        for (int i = 0; i < n; ++i) {
            diff = std::fmax(diff, std::fabs(double(a[size_t(i)]) - b[size_t(i)]));
            size = std::fmax(size, std::fabs(double(b[size_t(i)])));
        }
        t.add_row({std::to_string(k), diff < 1e-5 ? "<1e-5" : fmt_sci(diff, 2), fmt(size, 3)});
        if (diff > 1e-3) fail("eq. (4.3) disagrees with the posterior mean (4.1) at t = " + std::to_string(k));
    }
    t.print("Table 4.1: mu from the true eps (eq. 4.3) against the posterior mean of q(x_{t-1} | x_t, x_0) (eq. 4.1), "
            "10000 values");
    t.save_tsv(args.out("mean_check.tsv"));
}

// ---- 2. samples and distances -------------------------------------------------------------------
struct Generated {
    std::string set;
    Dataset reference;
    std::vector<float> samples;
};

Generated sample_set(const LessonArgs& args, const std::string& set, int n, Variance v, Table& table) {
    Trainer tr = lesson03_model(args, set);
    EpsModel model = tr.ema_model();
    const int dim = model.config.dim;
    Generated g;
    g.set = set;
    g.reference = make_dataset(set, n, args.seed + kHeldOut);
    g.samples.resize(size_t(n) * dim);
    Rng(args.seed, kStart).fill_normal(g.samples.data(), int64_t(g.samples.size()));
    SampleOptions o;
    o.variance = v;
    o.seed = args.seed;
    Stopwatch clock;
    ddpm_sample(g.samples.data(), n, dim, tr.schedule, model_eps_function(model), o);
    const double seconds = clock.seconds();
    const SetScore r = score_against_set(g.samples.data(), n, set, args.seed);
    table.add_row({set, variance_name(v), std::to_string(n), fmt(r.swd, 4), fmt(r.floor.swd_mean, 4),
                   fmt(r.floor.swd_sd, 4), fmt(r.swd_ratio(), 2), fmt(r.energy, 4), fmt(r.floor.energy_mean, 4)});
    std::fprintf(stderr, "  %s (%s): %d samples x %d steps in %.1f s\n", set.c_str(), variance_name(v), n,
                 tr.schedule.T, seconds);
    return g;
}

void plot_generated(const LessonArgs& args, const std::vector<Generated>& gens) {
    plot::Figure fig(1, int(gens.size()), 420, 380);
    fig.suptitle("Generated (DDPM, EMA weights, sigma^2 = beta-tilde) against held-out data");
    for (size_t i = 0; i < gens.size(); ++i) {
        const Generated& g = gens[i];
        plot::Axes& ax = fig.at(0, int(i));
        if (g.reference.dim == 1) {
            ax.hist(g.samples, 80, plot::with_alpha(plot::palette(1), 170), true, "generated", -3.0f, 3.0f);
            std::vector<float> grid, pdf;
            for (int k = 0; k <= 300; ++k) {
                grid.push_back(-3.0f + 6.0f * k / 300.0f);
                pdf.push_back(float(mixture_pdf_1d(bimodal_1d_mixture(), grid.back())));
            }
            ax.line(grid, pdf, plot::colors::black, 1.5f, "true density");
            ax.xlabel("x");
            ax.ylabel("density");
        } else {
            std::vector<float> tx, ty, gx, gy;
            for (int k = 0; k < g.reference.n(); ++k) {
                tx.push_back(g.reference.x[size_t(2 * k)]);
                ty.push_back(g.reference.x[size_t(2 * k + 1)]);
                gx.push_back(g.samples[size_t(2 * k)]);
                gy.push_back(g.samples[size_t(2 * k + 1)]);
            }
            ax.scatter(tx, ty, plot::with_alpha(plot::colors::gray, 110), 1.5f, "held-out data");
            ax.scatter(gx, gy, plot::with_alpha(plot::palette(1), 150), 1.5f, "generated");
            ax.equal_aspect();
            ax.xlabel("x_1");
            ax.ylabel("x_2");
        }
        ax.title(g.set);
    }
    fig.save(args.out("generated.png"));
}

// ---- 3. reverse trajectories, and one point from the origin ------------------------------------
void trajectories(const LessonArgs& args) {
    Trainer tr = lesson03_model(args, "swiss_roll");
    EpsModel model = tr.ema_model();
    const int n = 1500, paths = 80;  // snapshots of all n points; paths of the first `paths`
    const std::vector<int> shown = {1000, 600, 300, 150, 50, 0};
    std::vector<float> x(static_cast<size_t>(2 * n));
    Rng(args.seed, kStart + 1).fill_normal(x.data(), 2 * n);
    std::vector<std::vector<float>> px(static_cast<size_t>(paths)), py(static_cast<size_t>(paths));
    std::vector<std::vector<float>> snap_x, snap_y;
    SampleOptions o;
    o.seed = args.seed + 1;
    ddpm_sample(x.data(), n, 2, tr.schedule, model_eps_function(model), o, [&](int t, const float* xt) {
        if (t % 10 == 0)
            for (int i = 0; i < paths; ++i) {
                px[size_t(i)].push_back(xt[2 * i]);
                py[size_t(i)].push_back(xt[2 * i + 1]);
            }
        for (int k : shown)
            if (k == t) {
                snap_x.emplace_back();
                snap_y.emplace_back();
                for (int i = 0; i < n; ++i) {
                    snap_x.back().push_back(xt[2 * i]);
                    snap_y.back().push_back(xt[2 * i + 1]);
                }
            }
    });
    plot::Figure fig(1, 1, 600, 540);
    plot::Axes& ax = fig.at(0, 0);
    std::vector<float> sx, sy, ex, ey;
    for (int i = 0; i < paths; ++i) {
        ax.line(px[size_t(i)], py[size_t(i)], plot::with_alpha(plot::colors::gray, 70), 1.0f, i == 0 ? "path" : "");
        sx.push_back(px[size_t(i)].front());
        sy.push_back(py[size_t(i)].front());
        ex.push_back(px[size_t(i)].back());
        ey.push_back(py[size_t(i)].back());
    }
    ax.scatter(snap_x.back(), snap_y.back(), plot::with_alpha(plot::palette(3), 60), 1.5f, "all 1500 x_0");
    ax.scatter(sx, sy, plot::palette(0), 3.0f, "x_T of the paths");
    ax.scatter(ex, ey, plot::palette(3), 3.5f, "x_0 of the paths");
    ax.equal_aspect();
    ax.title("Reverse trajectories of 80 points, from noise to the swiss roll");
    ax.xlabel("x_1");
    ax.ylabel("x_2");
    fig.save(args.out("reverse_trajectories.png"));

    plot::Figure snaps(1, int(shown.size()), 250, 250);
    snaps.suptitle("The reverse process on 1500 points: x_t at decreasing t (DDPM, swiss roll model)");
    for (size_t k = 0; k < shown.size(); ++k) {
        plot::Axes& a = snaps.at(0, int(k));
        a.scatter(snap_x[k], snap_y[k], plot::with_alpha(plot::palette(0), 120), 1.2f);
        a.xlim(-3.5f, 3.5f);
        a.ylim(-3.5f, 3.5f);
        a.equal_aspect();
        a.title("t = " + std::to_string(shown[k]));
    }
    snaps.save(args.out("reverse_snapshots.png"));
}

Table point_from_origin(const LessonArgs& args) {
    Trainer tr = lesson03_model(args, "two_clusters");
    EpsModel model = tr.ema_model();
    const int runs = 200;
    std::vector<float> x(size_t(2 * runs), 0.0f);  // every run starts at x_T = (0, 0)
    std::vector<std::vector<float>> px(static_cast<size_t>(runs)), py(static_cast<size_t>(runs));
    std::vector<float> ts;
    SampleOptions o;
    o.seed = args.seed + 2;
    ddpm_sample(x.data(), runs, 2, tr.schedule, model_eps_function(model), o, [&](int t, const float* xt) {
        if (t % 5 != 0) return;
        ts.push_back(float(t));
        for (int i = 0; i < runs; ++i) {
            px[size_t(i)].push_back(xt[2 * i]);
            py[size_t(i)].push_back(xt[2 * i + 1]);
        }
    });
    int left = 0;
    for (int i = 0; i < runs; ++i) left += px[size_t(i)].back() < 0.0f;
    plot::Figure fig(1, 2, 520, 420);
    fig.suptitle("One starting point, x_T = (0, 0), sampled 200 times: the noise decides the cluster");
    plot::Axes& a = fig.at(0, 0);
    plot::Axes& b = fig.at(0, 1);
    for (int i = 0; i < runs; ++i) {
        const plot::Color c = plot::with_alpha(plot::palette(px[size_t(i)].back() < 0.0f ? 0 : 1), 60);
        a.line(px[size_t(i)], py[size_t(i)], c, 1.0f);
        b.line(ts, px[size_t(i)], c, 1.0f);
    }
    a.scatter({0.0f}, {0.0f}, plot::colors::black, 5.0f, "start (0, 0)");
    a.title("paths in the plane, coloured by the end cluster");
    a.xlabel("x_1");
    a.ylabel("x_2");
    a.equal_aspect();
    b.title("x_1 against t (time runs right to left)");
    b.xlabel("t");
    b.ylabel("x_1");
    fig.save(args.out("point_from_origin.png"));
    Table t({"runs", "ended_left", "ended_right"});
    t.add_row({std::to_string(runs), std::to_string(left), std::to_string(runs - left)});
    return t;
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "04_sampling");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    check_mean(args);
    const int n = args.full ? 8000 : 2000;
    Table distances({"data", "sigma2", "n", "swd", "swd_floor", "floor_sd", "swd_ratio", "energy", "energy_floor"});
    std::vector<Generated> gens;
    for (const std::string set : {"bimodal1d", "two_clusters", "swiss_roll"})
        gens.push_back(sample_set(args, set, n, Variance::BetaTilde, distances));
    sample_set(args, "two_clusters", n, Variance::Beta, distances);
    distances.print("Table 4.2: generated against held-out data; floor = the same distance for true samples (mean and "
                    "sd over 10)");
    distances.save_tsv(args.out("distances.tsv"));
    plot_generated(args, gens);
    trajectories(args);
    Table origin = point_from_origin(args);
    origin.print("Table 4.3: where the runs from (0, 0) ended");
    origin.save_tsv(args.out("origin.tsv"));
    std::fprintf(stderr, "[04_sampling] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("04_sampling", lesson, argc, argv); }
