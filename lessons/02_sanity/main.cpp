// Lesson 02: the sanity tables of seed [000] (tables 1 and 2), with analytic columns and z-scores,
// and a check that fails when the iterative and the direct process disagree beyond sampling error.
#include <cmath>
#include <cstdio>
#include <functional>

#include "lessonkit/ddpm.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kStepNoise = 2, kDirectNoise = 3 };

// Beyond this many standard errors a difference is not sampling error: for a normal z, |z| > 5
// happens with probability 6e-7, so across the 20 z-scores of Table 2.1 a false alarm is ~1e-5.
const double kZLimit = 5.0;

// A closed form x_t = direct(x_0, eps, t): the right one, or one of the seeds' typos.
using ClosedForm = std::function<void(float* xt, const float* x0, const float* eps, int64_t n, int t)>;

const std::vector<int> kTableSteps = {0, 200, 400, 600, 800};  // the rows of [000] table 1

// What the two processes produce: snapshots at the table's timesteps, and running sums over every
// timestep 0..T-1 for the pooled table (storing all T snapshots would take T n floats).
struct Pooled {
    double sum = 0.0, sum2 = 0.0, count = 0.0;
    void add(const std::vector<float>& v) {
        for (float x : v) {
            sum += x;
            sum2 += double(x) * x;
        }
        count += double(v.size());
    }
    double mean() const { return sum / count; }
    double var() const { return sum2 / count - mean() * mean(); }
};

struct Samples {
    std::vector<std::vector<float>> iterative, direct;  // at kTableSteps
    Pooled iterative_pooled, direct_pooled;
};

// Runs the chain through every t and the closed form at every t, from the same x_0.
Samples run_both(const Dataset& data, const Schedule& s, const ClosedForm& direct_form, uint64_t seed) {
    const int64_t n = data.n();
    Samples out;
    std::vector<float> x(data.x), eps(static_cast<size_t>(n)), xt(static_cast<size_t>(n));
    Rng step_noise(seed, kStepNoise), direct_noise(seed, kDirectNoise);
    for (int k = 0; k < s.T; ++k) {
        if (k > 0) {
            step_noise.fill_normal(eps.data(), n);
            q_step(x.data(), x.data(), eps.data(), n, s, k);
        }
        direct_noise.fill_normal(eps.data(), n);
        direct_form(xt.data(), data.x.data(), eps.data(), n, k);
        out.iterative_pooled.add(x);
        out.direct_pooled.add(xt);
        for (int shown : kTableSteps)
            if (shown == k) {
                out.iterative.push_back(x);
                out.direct.push_back(xt);
            }
    }
    return out;
}

// Table 2.1: per timestep. Returns the largest |z| of the direct process.
double per_timestep_table(const Samples& smp, const Schedule& s, const Moments& m0, const std::string& title,
                          const std::string& tsv) {
    Table t({"t", "mean_step", "mean_direct", "var_step", "var_direct", "mean_exact", "var_exact", "z_mean_step",
             "z_mean_direct", "z_var_step", "z_var_direct"});
    double worst = 0.0;
    for (size_t row = 0; row < kTableSteps.size(); ++row) {
        const int k = kTableSteps[row];
        const Moments a = sample_moments(smp.iterative[row].data(), int64_t(smp.iterative[row].size()));
        const Moments b = sample_moments(smp.direct[row].data(), int64_t(smp.direct[row].size()));
        const double mean = forward_mean(m0.mean, s, k), var = forward_var(m0.var, s, k);
        // at t = 0 both processes return the data itself: compare with the data's own moments
        const MomentCheck za = check_moments(a, mean, var), zb = check_moments(b, mean, var);
        t.add_row({std::to_string(k), fmt(a.mean), fmt(b.mean), fmt(a.var), fmt(b.var), fmt(mean), fmt(var),
                   fmt(za.z_mean, 2), fmt(zb.z_mean, 2), fmt(za.z_var, 2), fmt(zb.z_var, 2)});
        worst = std::fmax(worst, std::fmax(std::fabs(zb.z_mean), std::fabs(zb.z_var)));
        worst = std::fmax(worst, std::fmax(std::fabs(za.z_mean), std::fabs(za.z_var)));
    }
    t.print(title);
    if (!tsv.empty()) t.save_tsv(tsv);
    return worst;
}

// Table 2.2: pooled over every timestep 0..T-1, as in [000] table 2. Values of one particle at
// different t are correlated, so no z-score here: the analytic column is the reference.
void pooled_table(const Samples& smp, const Schedule& s, const Moments& m0, const std::string& tsv) {
    // analytic: pooling mixes the T marginals, so mean = avg_t m_t and var = avg_t (v_t + m_t^2) - mean^2
    double m = 0, second = 0;
    for (int k = 0; k < s.T; ++k) {
        const double mk = forward_mean(m0.mean, s, k), vk = forward_var(m0.var, s, k);
        m += mk / s.T;
        second += (vk + mk * mk) / s.T;
    }
    Table t({"method", "mean", "variance"});
    t.add_row({"iterative diffusion", fmt(smp.iterative_pooled.mean()), fmt(smp.iterative_pooled.var())});
    t.add_row({"direct diffusion", fmt(smp.direct_pooled.mean()), fmt(smp.direct_pooled.var())});
    t.add_row({"analytic", fmt(m), fmt(second - m * m)});
    t.print("Table 2.2: moments pooled across all timesteps t = 0..T-1 ([000] table 2)");
    t.save_tsv(tsv);
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "02_sanity");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    const int n = args.full ? 100000 : 20000;
    const Schedule s = linear_schedule(1000);
    const Dataset data = make_bimodal_1d(n, args.seed);
    const Moments m0 = sample_moments(data.x.data(), n);
    std::printf("data: %d samples of the 1-D bimodal set, mean %s, variance %s; schedule %s, T = %d\n\n", n,
                fmt(m0.mean).c_str(), fmt(m0.var).c_str(), s.name.c_str(), s.T);

    const ClosedForm right = [&](float* xt, const float* x0, const float* eps, int64_t count, int t) {
        q_sample(xt, x0, eps, count, s, t);
    };
    Samples smp = run_both(data, s, right, args.seed);
    const double worst = per_timestep_table(
        smp, s, m0, "Table 2.1: per timestep ([000] table 1) with the exact moments of eq. (1.4) and z-scores",
        args.out("per_timestep.tsv"));
    pooled_table(smp, s, m0, args.out("pooled.tsv"));

    // The same check on the typos of the seeds: each must be caught.
    struct Typo {
        const char* where;
        ClosedForm form;
    };
    const std::vector<Typo> typos = {
        {"[003]: variance alpha_bar_t I in place of (1 - alpha_bar_t) I",
         [&](float* xt, const float* x0, const float* eps, int64_t count, int t) {
             const double ab = s.alpha_bar[size_t(t)];
             for (int64_t i = 0; i < count; ++i) xt[i] = float(std::sqrt(ab) * x0[i] + std::sqrt(ab) * eps[i]);
         }},
        // [004] Q1 defines its noise as eps ~ N(0, 1 - alpha_bar_t) and then scales it by
        // sqrt(1 - alpha_bar_t) again: noise of variance (1 - alpha_bar_t)^2.
        {"[004] Q1: noise of variance 1 - alpha_bar_t, scaled by sqrt(1 - alpha_bar_t) again",
         [&](float* xt, const float* x0, const float* eps, int64_t count, int t) {
             const double ab = s.alpha_bar[size_t(t)];
             for (int64_t i = 0; i < count; ++i) xt[i] = float(std::sqrt(ab) * x0[i] + (1 - ab) * eps[i]);
         }},
    };
    Table verdicts({"closed_form", "max_abs_z", "verdict"});
    verdicts.add_row({"eq. (1.2), sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps", fmt(worst, 2),
                      worst < kZLimit ? "agree" : "DISAGREE"});
    bool typos_caught = true;
    for (const Typo& typo : typos) {
        Samples wrong = run_both(data, s, typo.form, args.seed);
        const double w = per_timestep_table(wrong, s, m0, std::string("Table 2.3: the same, closed form of ") +
                                            typo.where, "");
        verdicts.add_row({typo.where, fmt(w, 1), w < kZLimit ? "agree" : "DISAGREE"});
        typos_caught = typos_caught && w >= kZLimit;
    }
    verdicts.print("Table 2.4: the check (every |z| < 5 means agreement within sampling error)");
    verdicts.save_tsv(args.out("verdicts.tsv"));
    std::fprintf(stderr, "[02_sanity] done in %.1f s\n", clock.seconds());
    if (worst >= kZLimit) fail("the iterative and the direct process disagree beyond sampling error (Table 2.1)");
    if (!typos_caught) fail("a wrong closed form passed the check (Table 2.4)");
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("02_sanity", lesson, argc, argv); }
