// Lesson 01: data and the forward process. Schedules; one step of the chain and the closed form;
// the proof check (moments exactly, distributions by a KS test); the figures of the seeds.
#include <cmath>
#include <cstdio>

#include "lessonkit/ddpm.h"
#include "plot/plot.h"

using namespace ddpm;

namespace {

// Random streams of this lesson, one per use.
enum Stream : uint64_t { kData = 1, kStepNoise = 2, kDirectNoise = 3, kData2D = 4, kTrajectoryNoise = 5 };

// ---- 1. schedules ---------------------------------------------------------------------------
std::vector<Schedule> seed_schedules() {
    return {linear_schedule(1000),          linear_schedule(50),    constant_schedule(2000, 0.001),
            constant_schedule(200, 0.1),    cosine_schedule(1000), sigmoid_schedule(1000)};
}

void schedules(const LessonArgs& args) {
    Table t({"schedule", "T", "beta_1", "beta_T", "alpha_bar_T", "t_half", "snr_T"});
    plot::Figure fig(1, 3, 420, 340);
    fig.suptitle("Noise schedules: how fast the signal fades");
    int colour = 0;
    for (const Schedule& s : seed_schedules()) {
        // the first t with alpha_bar_t < 1/2, where the signal's power has halved; "never" when
        // alpha_bar stays above 1/2 up to T (linear at T = 50 ends at 0.603)
        int t_half = 0;
        while (t_half <= s.T && s.alpha_bar[size_t(t_half)] >= 0.5) ++t_half;
        t.add_row({s.name, std::to_string(s.T), fmt_sci(s.beta[1]), fmt_sci(s.beta[size_t(s.T)]),
                   fmt_sci(s.alpha_bar[size_t(s.T)]), t_half > s.T ? "never" : std::to_string(t_half),
                   fmt_sci(s.snr[size_t(s.T)])});
        std::vector<float> u, ab, beta, log_snr;
        for (int k = 1; k <= s.T; ++k) {
            u.push_back(float(k) / s.T);
            ab.push_back(float(s.alpha_bar[size_t(k)]));
            beta.push_back(float(s.beta[size_t(k)]));
            log_snr.push_back(float(std::log10(s.snr[size_t(k)])));
        }
        const std::string label = s.name + ", T=" + std::to_string(s.T);
        fig.at(0, 0).line(u, ab, plot::palette(colour), 1.8f, label);
        fig.at(0, 1).line(u, beta, plot::palette(colour), 1.8f);
        fig.at(0, 2).line(u, log_snr, plot::palette(colour), 1.8f);
        ++colour;
    }
    t.print("Table 1.1: the schedules of the seeds (t_half: first t with alpha_bar_t < 1/2)");
    t.save_tsv(args.out("schedules.tsv"));
    fig.at(0, 0).title("alpha_bar_t: the signal kept");
    fig.at(0, 0).xlabel("t / T");
    fig.at(0, 0).ylabel("alpha_bar_t");
    fig.at(0, 0).ylim(0.0f, 1.9f);  // room above the curves for the legend (alpha_bar_t <= 1)
    fig.at(0, 1).title("beta_t (log scale)");
    fig.at(0, 1).xlabel("t / T");
    fig.at(0, 1).ylabel("beta_t");
    fig.at(0, 1).logy();
    fig.at(0, 2).title("log10 SNR_t = log10 alpha_bar_t / (1 - alpha_bar_t)");
    fig.at(0, 2).xlabel("t / T");
    fig.at(0, 2).ylabel("log10 SNR");
    fig.save(args.out("schedules.png"));
}

// ---- 2. the proof check, moments: the recursion of one step against the closed form -----------
// One step maps mean m and variance v to sqrt(alpha_t) m and alpha_t v + beta_t (eq. 1.3). Iterated
// from (m0, v0) it must give eq. (1.4) at every t, up to double rounding.
void moments_exactly(const LessonArgs& args) {
    const double m0 = 0.7, v0 = 1.885;
    Table t({"schedule", "T", "max_abs_mean_diff", "max_abs_var_diff"});
    for (const Schedule& s : seed_schedules()) {
        double m = m0, v = v0, worst_m = 0.0, worst_v = 0.0;
        for (int k = 1; k <= s.T; ++k) {
            m = std::sqrt(s.alpha[size_t(k)]) * m;
            v = s.alpha[size_t(k)] * v + s.beta[size_t(k)];
            worst_m = std::fmax(worst_m, std::fabs(m - forward_mean(m0, s, k)));
            worst_v = std::fmax(worst_v, std::fabs(v - forward_var(v0, s, k)));
        }
        // below 1e-12 the differences are double rounding; print them as that bound
        t.add_row({s.name, std::to_string(s.T), worst_m < 1e-12 ? "<1e-12" : fmt_sci(worst_m),
                   worst_v < 1e-12 ? "<1e-12" : fmt_sci(worst_v)});
        if (worst_m > 1e-9 || worst_v > 1e-9) fail("the moment recursion disagrees with eq. (1.4) for " + s.name);
    }
    t.print("Table 1.2: moments by T steps of eq. (1.3) against the closed form (1.4), from m0 = 0.7, v0 = 1.885");
    t.save_tsv(args.out("moments_exact.tsv"));
}

// ---- 3. the proof check, distributions: iterative samples against direct samples --------------
void distributions(const LessonArgs& args, const Schedule& s) {
    const int n = args.full ? 200000 : 40000;
    const std::vector<int> shown = {0, 10, 50, 100, 200, 500, 1000};
    GaussianMixture gm = bimodal_1d_mixture();
    Dataset data = make_bimodal_1d(n, args.seed);
    std::vector<float> x(data.x), eps(static_cast<size_t>(n)), direct(static_cast<size_t>(n));
    Rng step_noise(args.seed, kStepNoise), direct_noise(args.seed, kDirectNoise);
    const Moments m0 = sample_moments(data.x.data(), n);
    Table t({"t", "mean_iter", "mean_direct", "mean_analytic", "var_iter", "var_direct", "var_analytic", "ks_D",
             "ks_p"});
    plot::Figure fig(2, 7, 250, 230);
    fig.suptitle("1-D bimodal data through time: " + std::to_string(n) +
                 " samples, top row by iterating q_step, bottom row by the closed form q_sample; black: exact density");
    size_t column = 0;
    for (int k = 0; k <= s.T; ++k) {
        if (k > 0) {
            step_noise.fill_normal(eps.data(), n);
            q_step(x.data(), x.data(), eps.data(), n, s, k);
        }
        if (column >= shown.size() || shown[column] != k) continue;
        direct_noise.fill_normal(eps.data(), n);
        q_sample(direct.data(), data.x.data(), eps.data(), n, s, k);
        Moments mi = sample_moments(x.data(), n), md = sample_moments(direct.data(), n);
        KSResult ks = ks_two_sample(x, direct);
        t.add_row({std::to_string(k), fmt(mi.mean, 4), fmt(md.mean, 4), fmt(forward_mean(m0.mean, s, k), 4),
                   fmt(mi.var, 4), fmt(md.var, 4), fmt(forward_var(m0.var, s, k), 4), fmt(ks.D, 4), fmt(ks.p_value, 3)});
        // the exact density of q(x_t) (the data is a Gaussian mixture, so is every marginal)
        GaussianMixture marginal = q_marginal(gm, s, k);
        std::vector<float> grid, pdf;
        for (int i = 0; i <= 200; ++i) {
            grid.push_back(-4.0f + 8.0f * i / 200.0f);
            pdf.push_back(float(mixture_pdf_1d(marginal, grid.back())));
        }
        for (int row = 0; row < 2; ++row) {
            plot::Axes& ax = fig.at(row, int(column));
            ax.hist(row == 0 ? x : direct, 60, plot::palette(row == 0 ? 0 : 1), true, "", -4.0f, 4.0f);
            ax.line(grid, pdf, plot::colors::black, 1.5f);
            ax.title((row == 0 ? "iterative, t = " : "direct, t = ") + std::to_string(k));
            ax.xlabel("x_t");
            ax.ylabel("density");
            ax.xlim(-4.0f, 4.0f);
            ax.ylim(0.0f, 0.9f);
        }
        ++column;
    }
    t.print("Table 1.3: iterative (T steps of eq. 1.1) against direct (eq. 1.2) samples, with the analytic "
            "moments (1.4) and the two-sample KS test");
    t.save_tsv(args.out("forward_check.tsv"));
    fig.save(args.out("hist_through_time.png"));
}

// ---- 4. 2-D: particle trajectories and snapshots ----------------------------------------------
void trajectories(const LessonArgs& args, const Schedule& s) {
    const int n = 150;
    Dataset data = make_two_clusters(n, args.seed + 100);
    std::vector<float> x(data.x), eps(static_cast<size_t>(2 * n));
    std::vector<std::vector<float>> px(static_cast<size_t>(n)), py(static_cast<size_t>(n));
    Rng noise(args.seed, kTrajectoryNoise);
    for (int k = 0; k <= s.T; ++k) {
        if (k > 0) {
            noise.fill_normal(eps.data(), 2 * n);
            q_step(x.data(), x.data(), eps.data(), 2 * n, s, k);
        }
        if (k % 5 != 0) continue;  // every fifth step is enough for a smooth path
        for (int i = 0; i < n; ++i) {
            px[size_t(i)].push_back(x[size_t(2 * i)]);
            py[size_t(i)].push_back(x[size_t(2 * i + 1)]);
        }
    }
    plot::Figure fig(1, 1, 640, 560);
    plot::Axes& ax = fig.at(0, 0);
    for (int i = 0; i < n; ++i)
        ax.line(px[size_t(i)], py[size_t(i)], plot::with_alpha(plot::colors::red, 40), 1.0f, i == 0 ? "paths" : "");
    std::vector<float> sx, sy, ex, ey;
    for (int i = 0; i < n; ++i) {
        sx.push_back(px[size_t(i)].front());
        sy.push_back(py[size_t(i)].front());
        ex.push_back(px[size_t(i)].back());
        ey.push_back(py[size_t(i)].back());
    }
    ax.scatter(sx, sy, plot::colors::green, 3.0f, "x_0 (start)");
    ax.scatter(ex, ey, plot::colors::blue, 3.0f, "x_T (end)");
    ax.equal_aspect();
    ax.title("Forward diffusion of " + std::to_string(n) + " particles, two clusters, " + s.name + ", T = " +
             std::to_string(s.T));
    ax.xlabel("x_1");
    ax.ylabel("x_2");
    fig.save(args.out("trajectories.png"));
}

void snapshots(const LessonArgs& args, const Schedule& s) {
    const int n = 3000;
    const std::vector<int> shown = {0, 50, 100, 200, 400, 1000};
    std::vector<Dataset> sets = {make_swiss_roll(n, args.seed + 200), make_two_clusters(n, args.seed + 300)};
    plot::Figure fig(2, int(shown.size()), 260, 260);
    fig.suptitle("Forward snapshots by the closed form (" + s.name + "): swiss roll coloured by position "
                 "along the roll, two clusters coloured by cluster");
    for (size_t row = 0; row < sets.size(); ++row) {
        const Dataset& d = sets[row];
        std::vector<plot::Color> colours;
        for (int i = 0; i < n; ++i)
            colours.push_back(row == 0 ? plot::viridis(d.colour[size_t(i)]) : plot::palette(int(d.colour[size_t(i)])));
        std::vector<float> eps(static_cast<size_t>(2 * n)), xt(static_cast<size_t>(2 * n));
        Rng(args.seed, kData2D + row).fill_normal(eps.data(), 2 * n);
        for (size_t c = 0; c < shown.size(); ++c) {
            q_sample(xt.data(), d.x.data(), eps.data(), 2 * n, s, shown[c]);
            std::vector<float> xs, ys;
            for (int i = 0; i < n; ++i) {
                xs.push_back(xt[size_t(2 * i)]);
                ys.push_back(xt[size_t(2 * i + 1)]);
            }
            plot::Axes& ax = fig.at(int(row), int(c));
            ax.scatter(xs, ys, colours, 1.5f);
            ax.xlim(-4.0f, 4.0f);
            ax.ylim(-4.0f, 4.0f);
            ax.equal_aspect();
            char title[64];
            std::snprintf(title, sizeof title, "t = %d, alpha_bar = %.3f", shown[c], s.alpha_bar[size_t(shown[c])]);
            ax.title(title);
        }
    }
    fig.save(args.out("snapshots.png"));
}

// ---- 5. how far x_t has moved from x_0 --------------------------------------------------------
// E|x_t - x_0|^2 per coordinate = (1 - sqrt(alpha_bar_t))^2 E[x_0^2] + (1 - alpha_bar_t)  (eq. 1.5)
void mse_against_t(const LessonArgs& args) {
    const int n = 4000;
    Dataset d = make_two_clusters(n, args.seed + 400);
    double second_moment = 0.0;
    for (float v : d.x) second_moment += double(v) * v;
    second_moment /= double(d.x.size());
    std::vector<float> eps(d.x.size()), xt(d.x.size());
    Rng(args.seed, kData2D + 10).fill_normal(eps.data(), int64_t(eps.size()));
    Table t({"schedule", "t", "mse_sampled", "mse_analytic"});
    plot::Figure fig(1, 1, 640, 420);
    plot::Axes& ax = fig.at(0, 0);
    int colour = 0;
    for (const Schedule& s : {linear_schedule(1000), cosine_schedule(1000), sigmoid_schedule(1000)}) {
        std::vector<float> ts, sampled, analytic;
        for (int k = 0; k <= s.T; k += 10) {
            q_sample(xt.data(), d.x.data(), eps.data(), int64_t(xt.size()), s, k);
            double mse = 0.0;
            for (size_t i = 0; i < xt.size(); ++i) mse += double(xt[i] - d.x[i]) * (xt[i] - d.x[i]);
            mse /= double(xt.size());
            const double ab = s.alpha_bar[size_t(k)];
            const double exact = (1 - std::sqrt(ab)) * (1 - std::sqrt(ab)) * second_moment + (1 - ab);
            ts.push_back(float(k));
            sampled.push_back(float(mse));
            analytic.push_back(float(exact));
            if (k % 200 == 0) t.add_row({s.name, std::to_string(k), fmt(mse, 4), fmt(exact, 4)});
        }
        ax.scatter(ts, sampled, plot::palette(colour), 2.0f, s.name + " (sampled)");
        ax.line(ts, analytic, plot::palette(colour), 1.2f, s.name + " (eq. 1.5)");
        ++colour;
    }
    t.print("Table 1.4: mean squared distance between x_t and x_0 (two clusters, E[x_0^2] = " + fmt(second_moment, 3) +
            ")");
    t.save_tsv(args.out("mse.tsv"));
    ax.title("MSE(x_t, x_0) against t: the data is forgotten at the pace of the schedule");
    ax.xlabel("t");
    ax.ylabel("mean of (x_t - x_0)^2");
    fig.save(args.out("mse.png"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "01_forward");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    const Schedule s = linear_schedule(1000);
    schedules(args);
    moments_exactly(args);
    distributions(args, s);
    trajectories(args, s);
    snapshots(args, s);
    mse_against_t(args);
    std::fprintf(stderr, "[01_forward] done in %.1f s, figures in %s\n", clock.seconds(), args.out_dir.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("01_forward", lesson, argc, argv); }
