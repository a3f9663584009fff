// Lesson 04: reverse sampling (Ho et al. 2020, Algorithm 2). The mean from the predicted noise,
// checked against the true posterior mean; DDPM ancestral sampling with sigma^2 = beta_t or
// beta-tilde_t; reverse trajectories; one point started at the origin again and again; generated
// against true data, with a distance and its floor.
#include <cmath>
#include <cstdio>
#include <functional>

#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "diffusion/metrics.h"
#include "nets/eps_mlp.h"
#include "plot/plot.h"
#include "diffusion/sampler.h"
#include "diffusion/train.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kCheck = 1, kStart = 30, kMemory = 40 };  // kHeldOut: lessonkit/evaluate.h

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

// ---- 1b. the same check on the reverse-mean typos of the seeds ---------------------------------
// Each form gets x_0, eps and x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, and must
// return the posterior mean (4.1); the seeds' typos must fail, the right forms must not.
using MeanForm = std::function<double(double x0, double eps, double xt, const Schedule& s, int t)>;

struct MeanVariant {
    const char* name;
    bool right;
    MeanForm form;
};

std::vector<MeanVariant> mean_variants() {
    auto a = [](const Schedule& s, int t) { return s.alpha[size_t(t)]; };
    auto ab = [](const Schedule& s, int t) { return s.alpha_bar[size_t(t)]; };
    auto b = [](const Schedule& s, int t) { return s.beta[size_t(t)]; };
    // x_0 estimated from eps, as [004] writes it (its alpha_t is our alpha_bar_t): right
    auto x0_hat = [=](double xt, double eps, const Schedule& s, int t) {
        return (xt - std::sqrt(1 - ab(s, t)) * eps) / std::sqrt(ab(s, t));
    };
    return {
        {"eq. (4.3): (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)", true,
         [=](double, double eps, double xt, const Schedule& s, int t) {
             return (xt - b(s, t) / std::sqrt(1 - ab(s, t)) * eps) / std::sqrt(a(s, t));
         }},
        {"eq. (4.1) with the true x_0", true,
         [=](double x0, double, double xt, const Schedule& s, int t) {
             return std::sqrt(ab(s, t - 1)) * b(s, t) / (1 - ab(s, t)) * x0 +
                    std::sqrt(a(s, t)) * (1 - ab(s, t - 1)) / (1 - ab(s, t)) * xt;
         }},
        {"[002] eq. 9: beta_t / sqrt(1 - alpha_t) in place of beta_t / sqrt(1 - alpha_bar_t)", false,
         [=](double, double eps, double xt, const Schedule& s, int t) {
             return (xt - b(s, t) / std::sqrt(1 - a(s, t)) * eps) / std::sqrt(a(s, t));
         }},
        {"[001] Algorithm 2 line 4: (1 - alpha_t) / sqrt(1 - alpha_t) in place of ... / sqrt(1 - alpha_bar_t)", false,
         [=](double, double eps, double xt, const Schedule& s, int t) {
             return (xt - (1 - a(s, t)) / std::sqrt(1 - a(s, t)) * eps) / std::sqrt(a(s, t));
         }},
        {"[002] eq. 7: sqrt(alpha_bar_{t-1} beta_t) x_0 and sqrt(alpha_bar_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)) x_t",
         false,
         [=](double x0, double, double xt, const Schedule& s, int t) {
             return std::sqrt(ab(s, t - 1) * b(s, t)) / (1 - ab(s, t)) * x0 +
                    std::sqrt(ab(s, t) * (1 - ab(s, t - 1)) / (1 - ab(s, t))) * xt;
         }},
        {"[004] as printed: sqrt(alpha_bar_t - 1) in place of sqrt(alpha_bar_{t-1}) (the root of a negative number)",
         false,
         [=](double, double eps, double xt, const Schedule& s, int t) {
             return std::sqrt(ab(s, t) - 1) * b(s, t) / (1 - ab(s, t)) * x0_hat(xt, eps, s, t) +
                    std::sqrt(1 - b(s, t)) * (1 - ab(s, t - 1)) / (1 - ab(s, t)) * xt;
         }},
    };
}

void check_mean_typos(const LessonArgs& args) {
    const Schedule s = linear_schedule(1000);
    const int n = 10000;
    const double tolerance = 1e-3;  // as Table 4.1: far above float rounding, far below any typo here
    std::vector<float> x0(static_cast<size_t>(n)), eps(x0.size()), xt(x0.size()), post(x0.size());
    Rng(args.seed, kCheck).fill_normal(x0.data(), n, 0.0f, 1.5f);
    Rng(args.seed, kCheck + 1).fill_normal(eps.data(), n);
    const std::vector<int> ts = {1, 2, 10, 100, 1000};
    std::vector<std::string> cols = {"form"};
    for (int k : ts) cols.push_back("diff_t" + std::to_string(k));
    cols.push_back("verdict");
    Table table(cols);
    bool as_expected = true;
    for (const MeanVariant& v : mean_variants()) {
        std::vector<std::string> row = {v.name};
        double worst = 0.0;
        for (int k : ts) {
            q_sample(xt.data(), x0.data(), eps.data(), n, s, k);
            q_posterior_mean(post.data(), x0.data(), xt.data(), n, s, k);
            double diff = 0.0;
            for (int i = 0; i < n; ++i) {
                const double mu = v.form(x0[size_t(i)], eps[size_t(i)], xt[size_t(i)], s, k);
                const double d = std::fabs(mu - post[size_t(i)]);
                diff = std::isnan(d) ? NAN : std::fmax(diff, d);
                if (std::isnan(diff)) break;
            }
            row.push_back(std::isnan(diff) ? "nan" : diff < 1e-5 ? "<1e-5" : fmt_sci(diff, 2));
            worst = std::isnan(diff) || std::isnan(worst) ? NAN : std::fmax(worst, diff);
        }
        const bool agree = !std::isnan(worst) && worst <= tolerance;
        row.push_back(agree ? "agree" : "DISAGREE");
        table.add_row(row);
        as_expected = as_expected && agree == v.right;
    }
    table.print("Table 4.2: the reverse means of the seeds against the posterior mean (4.1), max |difference| over "
                "10000 values at each t");
    table.save_tsv(args.out("mean_typos.tsv"));
    if (!as_expected) fail("Table 4.2: a right form of the reverse mean failed, or a typo passed");
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
    const int n = 1500, paths = 40;  // snapshots of all n points; paths of the first `paths`
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
    // Left: the paths alone; right: the same paths faint under the 1500 generated x_0, so that the
    // roll they build is visible.
    plot::Figure fig(1, 2, 560, 520);
    fig.suptitle("Reverse trajectories of " + std::to_string(paths) + " points (DDPM, swiss roll model): from x_T "
                 "(blue) to x_0 (red)");
    std::vector<float> sx, sy, ex, ey;
    for (int i = 0; i < paths; ++i) {
        sx.push_back(px[size_t(i)].front());
        sy.push_back(py[size_t(i)].front());
        ex.push_back(px[size_t(i)].back());
        ey.push_back(py[size_t(i)].back());
    }
    for (int panel = 0; panel < 2; ++panel) {
        plot::Axes& ax = fig.at(0, panel);
        const int alpha = panel == 0 ? 110 : 30;
        for (int i = 0; i < paths; ++i)
            ax.line(px[size_t(i)], py[size_t(i)], plot::with_alpha(plot::colors::gray, alpha), 1.0f,
                    i == 0 ? "path (every 10th step)" : "");
        if (panel == 0) {
            ax.scatter(sx, sy, plot::palette(0), 3.0f, "x_T of the paths");
        } else {
            ax.scatter(snap_x.back(), snap_y.back(), plot::with_alpha(plot::palette(1), 200), 1.8f,
                       "all " + std::to_string(n) + " generated x_0");
        }
        ax.scatter(ex, ey, plot::palette(3), panel == 0 ? 3.5f : 3.0f, "x_0 of the paths");
        ax.xlim(-3.5f, 3.5f);
        ax.ylim(-3.5f, 3.5f);
        ax.equal_aspect();
        ax.title(panel == 0 ? "the paths" : "the paths under all generated points");
        ax.xlabel("x_1 (first coordinate)");
        ax.ylabel("x_2 (second coordinate)");
    }
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
        a.xlabel("first coordinate");
        a.ylabel("second coordinate");
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
    fig.suptitle("One starting point, x_T = (0, 0), sampled 200 times: the noise decides the cluster (one run in black)");
    plot::Axes& a = fig.at(0, 0);
    plot::Axes& b = fig.at(0, 1);
    for (int i = 0; i < runs; ++i) {
        const plot::Color c = plot::with_alpha(plot::palette(px[size_t(i)].back() < 0.0f ? 0 : 1), 28);
        a.line(px[size_t(i)], py[size_t(i)], c, 1.0f);
        b.line(ts, px[size_t(i)], c, 1.0f);
    }
    // One run drawn on top, so that a single path can be followed from (0, 0) to its cluster.
    const size_t shown_run = 0;
    a.line(px[shown_run], py[shown_run], plot::colors::black, 1.6f, "one run");
    b.line(ts, px[shown_run], plot::colors::black, 1.6f, "the same run");
    a.scatter({px[shown_run].back()}, {py[shown_run].back()}, plot::colors::red, 5.0f, "its end, x_0");
    a.scatter({0.0f}, {0.0f}, plot::colors::black, 5.0f, "start (0, 0)");
    a.title("paths in the plane, coloured by the end cluster");
    a.xlabel("x_1 (first coordinate)");
    a.ylabel("x_2 (second coordinate)");
    a.equal_aspect();
    b.title("first coordinate against t (time runs right to left)");
    b.xlabel("t");
    b.ylabel("first coordinate of x_t");
    fig.save(args.out("point_from_origin.png"));
    Table t({"runs", "ended_left", "ended_right"});
    t.add_row({std::to_string(runs), std::to_string(left), std::to_string(runs - left)});
    return t;
}

// ---- 4. where a point starts and where it ends ([002] figures 2 and 4) ---------------------------
// Data points x_0 are noised to x_t0 by the closed form, then the reverse process runs from t0 to
// 0. Does a point come back to its own place (its cluster, its position s on the roll), or to the
// nearest place of the data? At t0 = T, x_T is almost independent of x_0, so the end cannot depend
// on the start; at small t0 the point has not moved far and comes back near itself.
void reverse_from(float* x, int rows, int dim, int t0, const Schedule& s, const EpsFunction& eps_fn, Rng& noise) {
    std::vector<float> eps(size_t(rows) * dim), z(eps.size());
    for (int t = t0; t >= 1; --t) {
        eps_fn(eps.data(), x, rows, t);
        noise.fill_normal(z.data(), int64_t(z.size()));
        p_sample_step(x, x, eps.data(), z.data(), int64_t(z.size()), s, t, Variance::BetaTilde);
    }
}

// The index of the point of `ref` (2-D) nearest to (x, y).
int nearest(const Dataset& ref, float x, float y) {
    int best = 0;
    double best_d = INFINITY;
    for (int j = 0; j < ref.n(); ++j) {
        const double dx = ref.x[size_t(2 * j)] - x, dy = ref.x[size_t(2 * j + 1)] - y;
        const double d = dx * dx + dy * dy;
        if (d < best_d) {
            best_d = d;
            best = j;
        }
    }
    return best;
}

void start_memory(const LessonArgs& args) {
    const int n = 1000;
    const std::vector<int> starts = {50, 200, 400, 600, 1000};
    Table clusters({"t_start", "n", "own_cluster", "mean_dist_own_x0"});
    Table roll({"t_start", "n", "mean_abs_ds", "near_own_s", "mean_dist_own_x0", "mean_dist_nearest_data"});
    plot::Figure fig(2, int(starts.size()) + 1, 250, 250);
    fig.suptitle("Each point coloured by where it STARTED: data x_0 noised to t_start, then the reverse process back "
                 "to t = 0 (top: swiss roll by position s, bottom: two clusters by cluster)");
    for (int row = 0; row < 2; ++row) {
        const std::string set = row == 0 ? "swiss_roll" : "two_clusters";
        Trainer tr = lesson03_model(args, set);
        EpsModel model = tr.ema_model();
        const EpsFunction eps_fn = model_eps_function(model);
        const Dataset data = make_dataset(set, n, args.seed + kHeldOut);
        const Dataset ref = make_dataset(set, 20000, args.seed + kHeldOut + 1);  // "the data", for nearest points
        std::vector<plot::Color> colour(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            colour[size_t(i)] = row == 0 ? plot::viridis(data.colour[size_t(i)])
                                         : plot::palette(int(data.colour[size_t(i)]));
        auto draw = [&](int col, const std::vector<float>& x, const std::string& title) {
            toy_scatter(fig.at(row, col), x, n, colour, 1.8f, title);
        };
        draw(0, data.x, set + ": the start x_0");
        for (size_t c = 0; c < starts.size(); ++c) {
            const int t0 = starts[c];
            std::vector<float> x(data.x.size()), eps(data.x.size());
            Rng(args.seed, kMemory + uint64_t(c)).fill_normal(eps.data(), int64_t(eps.size()));
            q_sample(x.data(), data.x.data(), eps.data(), int64_t(x.size()), tr.schedule, t0);
            Rng noise(args.seed, kMemory + 10 + uint64_t(c));
            reverse_from(x.data(), n, 2, t0, tr.schedule, eps_fn, noise);
            double own = 0, dist_own = 0, abs_ds = 0, near_own = 0, dist_nearest = 0;
            for (int i = 0; i < n; ++i) {
                const float ex = x[size_t(2 * i)], ey = x[size_t(2 * i + 1)];
                dist_own += std::hypot(ex - data.x[size_t(2 * i)], ey - data.x[size_t(2 * i + 1)]) / n;
                if (row == 1) {
                    own += ((ex < 0.0f ? 0.0f : 1.0f) == data.colour[size_t(i)]) ? 1.0 / n : 0.0;
                } else {
                    const int j = nearest(ref, ex, ey);
                    const double ds = std::fabs(double(ref.colour[size_t(j)]) - data.colour[size_t(i)]);
                    abs_ds += ds / n;
                    near_own += ds < 0.05 ? 1.0 / n : 0.0;
                    dist_nearest += std::hypot(ex - ref.x[size_t(2 * j)], ey - ref.x[size_t(2 * j + 1)]) / n;
                }
            }
            if (row == 1)
                clusters.add_row({std::to_string(t0), std::to_string(n), fmt(own, 3), fmt(dist_own, 3)});
            else
                roll.add_row({std::to_string(t0), std::to_string(n), fmt(abs_ds, 3), fmt(near_own, 3), fmt(dist_own, 3),
                              fmt(dist_nearest, 3)});
            draw(int(c) + 1, x, "from t_start = " + std::to_string(t0));
        }
    }
    fig.save(args.out("reverse_by_start.png"));
    roll.print("Table 4.5: swiss roll, where the points end against where they started (s: position along the roll; "
               "mean_abs_ds 0.333 = no memory)");
    roll.save_tsv(args.out("start_memory_roll.tsv"));
    clusters.print("Table 4.6: two clusters, the share of points that end in the cluster they started in (0.5 = no "
                   "memory)");
    clusters.save_tsv(args.out("start_memory_clusters.tsv"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "04_sampling");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    check_mean(args);
    check_mean_typos(args);
    const int n = args.full ? 8000 : 2000;
    Table distances({"data", "sigma2", "n", "swd", "swd_floor", "floor_sd", "swd_ratio", "energy", "energy_floor"});
    std::vector<Generated> gens;
    for (const std::string set : {"bimodal1d", "two_clusters", "swiss_roll"})
        gens.push_back(sample_set(args, set, n, Variance::BetaTilde, distances));
    sample_set(args, "two_clusters", n, Variance::Beta, distances);
    distances.print("Table 4.3: generated against held-out data; floor = the same distance for true samples (mean and "
                    "sd over 10)");
    distances.save_tsv(args.out("distances.tsv"));
    plot_generated(args, gens);
    trajectories(args);
    Table origin = point_from_origin(args);
    origin.print("Table 4.4: where the runs from (0, 0) ended");
    origin.save_tsv(args.out("origin.tsv"));
    start_memory(args);
    std::fprintf(stderr, "[04_sampling] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("04_sampling", lesson, argc, argv); }
