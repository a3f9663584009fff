// Lesson 06: experiments. Four sweeps over the choices that define a DDPM, each scored twice: by the
// held-out test loss (L_simple) and by a distance between samples and held-out data. The two do not
// always agree, and that is the lesson:
//   1. the number of steps T, and the scale of the sampling noise sigma_t        ([002] sections 2-4)
//   2. constant beta = 0.001, T = 2000 against beta = 0.1, T = 200               ([003] 2.3-2.4, fig. 5)
//   3. linear, cosine and sigmoid schedules at T = 1000
//   4. the trap of the linear schedule at small T, and two fixes
// The data is a Gaussian mixture, so every setting is also run with the exact eps* of lesson 05: its
// loss is the floor of the test loss, its samples show what the sampler alone can do.
#include <cmath>
#include <cstdio>
#include <map>

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

enum Stream : uint64_t { kStart = 30, kTestT = 50, kTestEps = 51, kTestSet = 3000 };  // kHeldOut: lessonkit/evaluate.h

const int kTestRows = 4096;  // the fixed held-out set of (x_0, t, eps) triples

// The data of every sweep: [002]'s two clusters. A Gaussian mixture, so the exact eps* of lesson 05
// exists and each row can say how much of the error is the sampler's and how much the network's.
const char* kDataSet = "two_clusters";

// ---- the lab: data, trained models, sampling and scoring ---------------------------------------

// A trained model: its schedule, its EMA weights, its L_simple on the held-out triples, and the
// L_simple of the exact eps* on the same triples (the lowest value any model can reach).
struct Model {
    Schedule schedule;
    EpsModel ema;
    double test_loss = 0.0, oracle_loss = 0.0;
};

struct Scored {
    std::vector<float> x;  // (n_samples, dim), the generated x_0
    DistanceReport d;
    double floor_sd = 0.0;  // the spread of swd_floor over its 10 true samples
    double ratio() const { return d.swd / d.swd_floor; }  // swd_floor: the mean over 10 true samples
};

// Everything the sweeps share. Models and samples are made on first use and kept, so that a setting
// that appears in two sweeps (linear T = 1000 in 1 and 3, linear T = 50 in 1 and 4) is made once.
struct Lab {
    LessonArgs args;
    std::string set;
    GaussianMixture gm;  // the data's exact distribution, for eps*
    int train_steps = 0, n_samples = 0;
    Dataset train, reference, test;  // reference: n_samples rows
    DistanceFloor floor;              // the distances of true samples to the reference (evaluate.h)
    std::map<std::string, Model> models;
    std::map<std::string, Scored> samples;
};

GaussianMixture mixture_of(const std::string& set) {
    if (set == "two_clusters") return two_clusters_mixture();
    if (set == "eight_gaussians") return eight_gaussians_mixture();
    fail("lesson 06 needs a Gaussian-mixture data set, not " + set);
}

Lab make_lab(const LessonArgs& args, const std::string& set) {
    Lab lab;
    lab.args = args;
    lab.set = set;
    lab.gm = mixture_of(set);
    lab.train_steps = args.full ? 20000 : 3000;
    lab.n_samples = args.full ? 8000 : 2000;
    lab.train = make_dataset(set, 20000, args.seed);
    lab.reference = make_dataset(set, lab.n_samples, args.seed + kHeldOut);
    // the same reference and floor as every lesson: seeds + 1000 and + 2000 + k (src/lessonkit/evaluate.h)
    lab.floor = score_against_set(lab.reference.x.data(), lab.n_samples, set, args.seed).floor;
    lab.test = make_dataset(set, kTestRows, args.seed + kTestSet);
    return lab;
}

// The held-out triples for one schedule: x_0 = the test set, t uniform in 1..T of THIS schedule, eps
// normal, from the same streams for every schedule. Because t runs over the schedule's own range,
// two schedules are scored on different mixes of easy and hard t.
struct Triples {
    std::vector<int> t;                 // (rows)
    std::vector<float> eps, x_t;        // (rows, dim)
};

Triples held_out_triples(const Lab& lab, const Schedule& s) {
    const int n = lab.test.n(), dim = lab.test.dim;
    Triples tr;
    tr.t.resize(static_cast<size_t>(n));
    Rng(lab.args.seed, kTestT).fill_randint(tr.t.data(), n, 1, s.T);
    tr.eps.resize(lab.test.x.size());
    tr.x_t.resize(lab.test.x.size());
    Rng(lab.args.seed, kTestEps).fill_normal(tr.eps.data(), int64_t(tr.eps.size()));
    q_sample_rows(tr.x_t.data(), lab.test.x.data(), tr.eps.data(), tr.t.data(), n, dim, s);  // eq. (1.2)
    return tr;
}

double mean_squared_difference(const std::vector<float>& a, const std::vector<float>& b) {
    double sum = 0.0;
    for (size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return sum / double(a.size());
}

// L_simple (docs/reverse-process.md, eq. 4.8) of the network on the held-out triples (simple_loss rebuilds the same x_t).
double test_loss(const Lab& lab, const EpsModel& model, const Schedule& s) {
    NoGrad no_grad;
    const Triples tr = held_out_triples(lab, s);
    const int n = lab.test.n(), dim = lab.test.dim;
    Tensor x0 = Tensor::from(Shape{n, dim}, lab.test.x);
    Tensor eps = Tensor::from(Shape{n, dim}, tr.eps);
    return simple_loss(model, x0, tr.t, eps, s).item();
}

// The same triples scored with the exact eps*(x_t, t) (eq. 5.1): the floor of the test loss.
double oracle_loss(const Lab& lab, const Schedule& s) {
    const Triples tr = held_out_triples(lab, s);
    std::vector<float> pred(tr.eps.size());
    oracle_eps_rows(pred.data(), tr.x_t.data(), tr.t.data(), lab.test.n(), lab.gm, s);
    return mean_squared_difference(pred, tr.eps);
}

// The same triples scored with eps_hat = x_t: a "model" that ignores the data and copies its input.
double copy_input_loss(const Lab& lab, const Schedule& s) {
    const Triples tr = held_out_triples(lab, s);
    return mean_squared_difference(tr.x_t, tr.eps);
}

// Trains (once) the canonical eps-MLP of lesson 03 for this schedule: the same seed, so the same
// initial weights, batches and noise for every schedule; the schedule is the only difference.
const Model& model_for(Lab& lab, const std::string& key, const Schedule& s) {
    auto found = lab.models.find(key);
    if (found != lab.models.end()) return found->second;
    EpsModelConfig mc;
    mc.dim = lab.train.dim;
    TrainConfig tc;
    tc.seed = lab.args.seed;
    Trainer trainer(mc, tc, s);
    Stopwatch clock;
    for (int step = 0; step < lab.train_steps; ++step) trainer.train_step(lab.train.x.data(), lab.train.n());
    Model m;
    m.schedule = s;
    m.ema = trainer.ema_model();
    m.test_loss = test_loss(lab, m.ema, s);
    m.oracle_loss = oracle_loss(lab, s);
    std::fprintf(stderr, "  train  %-34s %d steps in %.1f s\n", key.c_str(), lab.train_steps, clock.seconds());
    return lab.models.emplace(key, std::move(m)).first->second;
}

// How one set of samples is drawn: with the network or with eps*, the scale of sigma_t, and where
// x_T comes from: N(0, I) (the real sampler), or the true forward marginal q(x_T) of held-out data
// (a check only: it needs the data).
struct How {
    bool oracle = false;
    float sigma_scale = 1.0f;
    bool start_from_q = false;
};

// DDPM ancestral sampling (sigma^2 = beta-tilde, times sigma_scale) for the model `key`, then the
// distances to the held-out data. The start and the noise come from fixed streams: every setting
// starts from the same x_T ~ N(0, I) (when T is the same, the same noise too).
const Scored& sample_and_score(Lab& lab, const std::string& key, How how) {
    const std::string what = key + (how.oracle ? " eps*" : " net") + ", sigma x " + fmt(how.sigma_scale, 1) +
                             (how.start_from_q ? ", x_T ~ q" : "");
    auto found = lab.samples.find(what);
    if (found != lab.samples.end()) return found->second;
    const Model& m = lab.models.at(key);
    const int n = lab.n_samples, dim = lab.train.dim;
    Scored r;
    r.x.resize(static_cast<size_t>(n) * size_t(dim));
    Rng(lab.args.seed, kStart).fill_normal(r.x.data(), int64_t(r.x.size()));
    if (how.start_from_q) {  // x_T = sqrt(alpha_bar_T) x_0 + sqrt(1 - alpha_bar_T) eps, eq. (1.2)
        const Dataset x0 = make_dataset(lab.set, n, lab.args.seed + kStart);
        const std::vector<float> eps = r.x;
        q_sample(r.x.data(), x0.x.data(), eps.data(), int64_t(r.x.size()), m.schedule, m.schedule.T);
    }
    const EpsFunction net = model_eps_function(m.ema);
    const EpsFunction exact = [&](float* out, const float* xt, int rows, int t) {
        oracle_eps(out, xt, rows, lab.gm, m.schedule, t);
    };
    SampleOptions o;
    o.sigma_scale = how.sigma_scale;
    o.seed = lab.args.seed;
    Stopwatch clock;
    ddpm_sample(r.x.data(), n, dim, m.schedule, how.oracle ? exact : net, o);
    r.d.swd = sliced_wasserstein1(r.x.data(), n, lab.reference.x.data(), n, dim, 256, lab.args.seed);
    r.d.energy = energy_distance(r.x.data(), n, lab.reference.x.data(), n, dim);
    r.d.swd_floor = lab.floor.swd_mean;
    r.d.energy_floor = lab.floor.energy_mean;
    r.floor_sd = lab.floor.swd_sd;
    std::fprintf(stderr, "  sample %-34s %d points x %d steps in %.1f s\n", what.c_str(), n, m.schedule.T,
                 clock.seconds());
    return lab.samples.emplace(what, std::move(r)).first->second;
}

// The columns every sweep ends with. The SWD is read against its floor as a ratio (1 = as good as a
// second true sample); the energy distance beside its floor, by difference (the floor is an unbiased
// estimate of 0 and fluctuates around it). oracle_swd_ratio: the same sampler with eps* in place of the
// network (from the same x_T, with the same noise).
std::vector<std::string> with_score_columns(std::vector<std::string> columns) {
    for (const char* c : {"test_loss", "oracle_loss", "swd", "swd_floor", "floor_sd", "swd_ratio", "energy",
                          "energy_floor", "oracle_swd_ratio"})
        columns.push_back(c);
    return columns;
}

void add_scores(Table& table, std::vector<std::string> row, const Model& m, const Scored& net, const Scored& exact) {
    for (const std::string& cell : {fmt(m.test_loss, 4), fmt(m.oracle_loss, 4), fmt(net.d.swd, 4),
                                    fmt(net.d.swd_floor, 4), fmt(net.floor_sd, 4), fmt(net.ratio(), 2),
                                    fmt(net.d.energy, 4), fmt(net.d.energy_floor, 4), fmt(exact.ratio(), 2)})
        row.push_back(cell);
    table.add_row(row);
}

// One panel: held-out data in grey, the network's samples on top, the same window in every panel.
void plot_samples(const Lab& lab, plot::Axes& ax, const Scored& net, const Scored& exact, const std::string& title) {
    std::vector<float> tx, ty, gx, gy;
    for (int k = 0; k < lab.reference.n(); ++k) {
        tx.push_back(lab.reference.at(k, 0));
        ty.push_back(lab.reference.at(k, 1));
        gx.push_back(net.x[size_t(2 * k)]);
        gy.push_back(net.x[size_t(2 * k + 1)]);
    }
    ax.scatter(tx, ty, plot::with_alpha(plot::colors::gray, 90), 1.3f, "held-out data");
    ax.scatter(gx, gy, plot::with_alpha(plot::palette(1), 130), 1.3f, "generated");
    ax.xlim(-3.5f, 3.5f);
    ax.ylim(-3.5f, 3.5f);
    ax.equal_aspect();
    ax.title(title);
    ax.xlabel("SWD ratio " + fmt(net.ratio(), 2) + "   (with eps*: " + fmt(exact.ratio(), 2) + ")");
}

std::string abar_T(const Schedule& s) { return fmt_sci(s.alpha_bar[size_t(s.T)], 3); }

// ---- sweep 1: the number of steps T, and the sampling noise ------------------------------------
void sweep_steps_and_sigma(Lab& lab) {
    plot::Figure fig(2, 4, 330, 350);
    fig.suptitle("Sweep 1 (" + lab.set + "): top, T steps of the linear schedule 1e-4..0.02; bottom, the T = 1000 "
                 "model sampled with sigma_t times a scale");
    Table steps(with_score_columns({"T", "alpha_bar_T"}));
    int col = 0;
    for (int T : {10, 50, 100, 1000}) {
        const std::string key = "linear T=" + std::to_string(T);
        const Model& m = model_for(lab, key, linear_schedule(T));
        const Scored& net = sample_and_score(lab, key, {});
        const Scored& exact = sample_and_score(lab, key, {true});
        add_scores(steps, {std::to_string(T), abar_T(m.schedule)}, m, net, exact);
        plot_samples(lab, fig.at(0, col++), net, exact, "T = " + std::to_string(T));
    }
    steps.print("Table 6.1: linear schedule beta 1e-4..0.02 with T steps; " + std::to_string(lab.train_steps) +
                " training steps per model, " + std::to_string(lab.n_samples) + " samples against held-out data");
    steps.save_tsv(lab.args.out("steps.tsv"));

    const Model& m = model_for(lab, "linear T=1000", linear_schedule(1000));
    Table sigma(with_score_columns({"sigma_scale"}));
    col = 0;
    for (float scale : {0.0f, 0.5f, 1.0f, 1.5f}) {
        const Scored& net = sample_and_score(lab, "linear T=1000", {false, scale});
        const Scored& exact = sample_and_score(lab, "linear T=1000", {true, scale});
        add_scores(sigma, {fmt(scale, 1)}, m, net, exact);
        plot_samples(lab, fig.at(1, col++), net, exact, "T = 1000, sigma x " + fmt(scale, 1));
    }
    sigma.print("Table 6.2: the T = 1000 model sampled with sigma_t = scale * sqrt(beta-tilde_t); the test loss "
                "belongs to the model and cannot see the sampler");
    sigma.save_tsv(lab.args.out("sigma_scale.tsv"));
    fig.save(lab.args.out("steps_and_sigma.png"));
}

// ---- sweep 2: small beta, many steps against large beta, few steps ([003]) -----------------------
void sweep_constant_beta(Lab& lab) {
    plot::Figure fig(1, 2, 420, 440);
    fig.suptitle("Sweep 2 (" + lab.set + "): constant beta, as in [003]");
    Table table(with_score_columns({"beta", "T", "alpha_bar_T", "share_t_abar<0.1", "copy_x_t_loss"}));
    int col = 0;
    for (auto [beta, T] : {std::pair<double, int>{0.001, 2000}, std::pair<double, int>{0.1, 200}}) {
        const std::string key = "constant " + fmt(beta, 3) + " T=" + std::to_string(T);
        const Model& m = model_for(lab, key, constant_schedule(T, beta));
        const Scored& net = sample_and_score(lab, key, {});
        const Scored& exact = sample_and_score(lab, key, {true});
        int noise_steps = 0;  // steps where x_t keeps less than 10% of the data's variance
        for (int t = 1; t <= T; ++t) noise_steps += m.schedule.alpha_bar[size_t(t)] < 0.1;
        add_scores(table,
                   {fmt(beta, 3), std::to_string(T), abar_T(m.schedule), fmt(double(noise_steps) / T, 3),
                    fmt(copy_input_loss(lab, m.schedule), 4)},
                   m, net, exact);
        plot_samples(lab, fig.at(0, col++), net, exact, "beta = " + fmt(beta, 3) + ", T = " + std::to_string(T));
    }
    table.print("Table 6.3: constant schedules. share_t_abar<0.1: fraction of t in 1..T with alpha_bar_t < 0.1; "
                "copy_x_t_loss: the test loss of eps_hat = x_t, no network");
    table.save_tsv(lab.args.out("constant_beta.tsv"));
    fig.save(lab.args.out("constant_beta.png"));
}

// ---- sweep 3: the shape of the schedule at T = 1000 -------------------------------------------
void sweep_schedules(Lab& lab) {
    plot::Figure fig(1, 3, 400, 420);
    fig.suptitle("Sweep 3 (" + lab.set + "): three SHAPES of schedule at the same T = 1000 (linear, cosine, sigmoid), "
                 "equal training steps");
    Table table(with_score_columns({"schedule", "alpha_bar_T", "beta_T"}));
    int col = 0;
    for (const std::string kind : {"linear", "cosine", "sigmoid"}) {
        const std::string key = kind + " T=1000";
        const Model& m = model_for(lab, key, make_schedule(kind, 1000));
        const Scored& net = sample_and_score(lab, key, {});
        const Scored& exact = sample_and_score(lab, key, {true});
        add_scores(table, {m.schedule.name, abar_T(m.schedule), fmt(m.schedule.beta[1000], 4)}, m, net, exact);
        plot_samples(lab, fig.at(0, col++), net, exact, kind + ", T = 1000, alpha_bar_T " + fmt_sci(m.schedule.alpha_bar[1000], 1));
    }
    table.print("Table 6.4: linear, cosine and sigmoid schedules, T = 1000");
    table.save_tsv(lab.args.out("schedules.tsv"));
    fig.save(lab.args.out("schedules.png"));
}

// ---- sweep 4: the linear schedule at small T, and two fixes ------------------------------------
void sweep_small_T(Lab& lab) {
    const int T = 50;
    const double scale = 1000.0 / T;  // the usual rescaling: about the same total noise as at T = 1000
    plot::Figure fig(1, 4, 330, 350);
    fig.suptitle("Sweep 4 (" + lab.set + "): SMALL T = 50. The linear schedule leaves x_T far from N(0, I); two fixes, "
                 "and a check of the diagnosis");
    Table table(with_score_columns({"setting", "beta_1", "beta_T", "alpha_bar_T", "x_T_from"}));
    struct Setting {
        std::string key;
        Schedule schedule;
        bool start_from_q;
    };
    const std::vector<Setting> settings = {
        {"linear T=50", linear_schedule(T), false},
        {"linear x20 T=50", linear_schedule(T, 1e-4 * scale, 0.02 * scale), false},
        {"cosine T=50", cosine_schedule(T), false},
        {"linear T=50", linear_schedule(T), true},  // the diagnosis checked: start from the true q(x_T)
    };
    int col = 0;
    for (const Setting& st : settings) {
        const Model& m = model_for(lab, st.key, st.schedule);
        const Scored& net = sample_and_score(lab, st.key, {false, 1.0f, st.start_from_q});
        const Scored& exact = sample_and_score(lab, st.key, {true, 1.0f, st.start_from_q});
        const Schedule& s = m.schedule;
        add_scores(table,
                   {st.key, fmt_sci(s.beta[1], 2), fmt_sci(s.beta[size_t(T)], 2), abar_T(s),
                    st.start_from_q ? "q(x_T)" : "N(0,I)"},
                   m, net, exact);
        const std::string start =
            st.start_from_q ? ", x_T ~ q(x_T)" : ", alpha_bar_T " + fmt_sci(s.alpha_bar[size_t(T)], 1);
        plot_samples(lab, fig.at(0, col++), net, exact, st.key + start);
    }
    table.print("Table 6.5: T = 50. linear x20: the betas scaled by 1000/T. x_T_from: where sampling starts; "
                "q(x_T), the true forward marginal of held-out data, is a check only (it needs the data)");
    table.save_tsv(lab.args.out("small_T.tsv"));
    fig.save(lab.args.out("small_T.png"));
}

// ---- alpha-bar_t of every schedule of the lesson, against t / T -----------------------------------
void plot_alpha_bar(const LessonArgs& args) {
    plot::Figure fig(2, 3, 420, 340);
    fig.suptitle("alpha-bar_t against t / T: how much of x_0 is left in x_t (top: linear axis, bottom: log axis)");
    auto curve = [](plot::Axes& ax, const Schedule& s, int colour, const std::string& label) {
        std::vector<float> u, a;
        for (int t = 0; t <= s.T; ++t) {
            u.push_back(float(t) / float(s.T));
            a.push_back(float(s.alpha_bar[size_t(t)]));
        }
        ax.line(u, a, plot::palette(colour), 2.0f, label + ", alpha_bar_T " + fmt_sci(s.alpha_bar[size_t(s.T)], 1));
    };
    for (int row = 0; row < 2; ++row) {
        plot::Axes& a = fig.at(row, 0);
        curve(a, constant_schedule(2000, 0.001), 0, "beta 0.001, T 2000");
        curve(a, constant_schedule(200, 0.1), 3, "beta 0.1, T 200");
        a.title("sweep 2: constant beta ([003] fig. 5)");
        plot::Axes& b = fig.at(row, 1);
        curve(b, linear_schedule(1000), 0, "linear");
        curve(b, cosine_schedule(1000), 1, "cosine");
        curve(b, sigmoid_schedule(1000), 2, "sigmoid");
        b.title("sweep 3: T = 1000");
        plot::Axes& c = fig.at(row, 2);
        curve(c, linear_schedule(50), 0, "linear");
        curve(c, linear_schedule(50, 2e-3, 0.4), 4, "linear x20");
        curve(c, cosine_schedule(50), 1, "cosine");
        c.title("sweep 4: T = 50");
        for (plot::Axes* ax : {&a, &b, &c}) {
            ax->xlabel("t / T");
            ax->ylabel("alpha-bar_t");
            if (row == 0) ax->ylim(0.0f, 1.45f);  // room for the legend above the curves
            else ax->logy();
            ax->legend(row == 0);
        }
    }
    fig.save(args.out("alpha_bar.png"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "06_experiments");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    Lab lab = make_lab(args, kDataSet);
    sweep_steps_and_sigma(lab);
    sweep_constant_beta(lab);
    sweep_schedules(lab);
    sweep_small_T(lab);
    plot_alpha_bar(args);
    std::fprintf(stderr, "[06_experiments] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("06_experiments", lesson, argc, argv); }
