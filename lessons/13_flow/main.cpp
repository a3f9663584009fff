// Lesson 13: flow matching with the straight path (Lipman et al. 2023; Liu et al. 2023, rectified flow).
// The toy MLP of lesson 03, trained on the velocity eps - x_0 instead of the noise, sampled with Euler
// and Heun from s = 1 to s = 0, against lesson 03's eps-model at equal training steps and equal network
// calls; the trajectories of both ODEs; one round of reflow.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "diffusion/flow.h"
#include "diffusion/image_train.h"
#include "diffusion/ode.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "lessonkit/mnist.h"
#include "lessonkit/recipes.h"
#include "plot/plot.h"

using namespace ddpm;

namespace {

// The noise every sampler starts from (the same x_1 = x_T for both models), the noise of the reflow
// pairs, and that of the drawn paths: streams below kHeldOut.
enum Stream : uint64_t { kStartNoise = 70, kReflowNoise = 71, kPathNoise = 72, kDigitStart = 73 };

const std::vector<std::string> kSets = {"two_clusters", "eight_gaussians", "swiss_roll"};
const std::string kReflowSet = "eight_gaussians";
const std::vector<int> kNfe = {1, 2, 4, 10, 20, 50, 100};
const int kPathSteps = 100;  // Euler steps of the drawn and measured trajectories
const int kPathsDrawn = 40;
const int kPathsMeasured = 500;

// Lesson 03's recipe with the flow objective: the same network, data, batch, Adam, clipping, EMA and seed.
FlowTrainer flow_toy_trainer(int dim, uint64_t seed) {
    EpsModelConfig mc;
    mc.dim = dim;
    TrainConfig tc;
    tc.seed = seed;
    return FlowTrainer(mc, tc);
}

// Trains for `steps` steps (with the reflow pairs when paired_noise is given); one row of the table.
FlowTrainer train_flow(const LessonArgs& args, const std::string& name, const Dataset& data, int steps, Table& table,
                       const float* paired_noise = nullptr) {
    FlowTrainer trainer = flow_toy_trainer(data.dim, args.seed);
    Stopwatch clock;
    double first = 0.0, last = 0.0;
    const int tail = std::max(1, steps / 10);
    for (int k = 0; k < steps; ++k) {
        const float loss = trainer.train_step(data.x.data(), data.n(), paired_noise).loss;
        if (k == 0) first = loss;
        if (k >= steps - tail) last += double(loss) / tail;
    }
    table.add_row({name, std::to_string(steps), fmt(first, 4), fmt(last, 4)});
    std::fprintf(stderr, "  %s: %d flow steps in %.1f s\n", name.c_str(), steps, clock.seconds());
    return trainer;
}

// The held-out data of a set and the SWD floor, computed once; swd_ratio of a sample against them is
// score_against_set's (the same directions and reference), without recomputing the floor.
struct Reference {
    Dataset data;
    DistanceFloor floor;
};
Reference reference_for(const std::string& set, int n, uint64_t seed) {
    Reference r{make_dataset(set, n, seed + kHeldOut), {}};
    std::vector<float> x = r.data.x;  // any sample: only the floor is kept
    r.floor = score_against_set(x.data(), n, set, seed).floor;
    return r;
}
double swd_ratio(const std::vector<float>& x, const Reference& r, uint64_t seed) {
    return sliced_wasserstein1(x.data(), r.data.n(), r.data.x.data(), r.data.n(), r.data.dim, 256, seed) / r.floor.swd_mean;
}

std::vector<float> start_noise(int rows, int dim, uint64_t seed, uint64_t stream) {
    std::vector<float> x(size_t(rows) * dim);
    Rng(seed, stream).fill_normal(x.data(), int64_t(x.size()));
    return x;
}

// One run of a sampler from the shared start: the samples and the network calls made.
struct Run {
    std::string model, sampler;
    int steps = 0, nfe = 0;
    std::vector<float> x;
};
Run run_eps(const EpsModel& model, const Schedule& s, OdeSolver solver, int steps, const std::vector<float>& start) {
    Run r{"eps (lesson 03)", ode_solver_name(solver), steps, 0, start};
    const int rows = int(start.size() / 2);
    r.nfe = ode_solve(r.x.data(), rows, 2, s, model_eps_function(model), ode_timesteps(s, steps, OdeSpacing::Uniform), solver);
    return r;
}
Run run_flow(const std::string& name, const EpsModel& model, FlowSolver solver, int steps, const std::vector<float>& start) {
    Run r{name, flow_solver_name(solver), steps, 0, start};
    const int rows = int(start.size() / 2);
    r.nfe = flow_solve(r.x.data(), rows, 2, model_velocity_function(model), flow_grid(steps), solver);
    return r;
}

// The eps-model as a velocity field on the straight path (13.11)-(13.12): at flow time s(t) =
// sqrt(1 - ab_t) / (sqrt(ab_t) + sqrt(1 - ab_t)) the point y of the straight path is x_t / (sqrt(ab_t) +
// sqrt(1 - ab_t)), and v = (eps(x_t, t) - y) / (1 - s). Its grid: the timesteps whose s(t) is nearest to N
// equal steps from s(T) to 0 (the last, s = 0, needs no call: Euler only).
double flow_time(const Schedule& s, int t) {
    const double a = std::sqrt(s.alpha_bar[size_t(t)]), b = std::sqrt(1.0 - s.alpha_bar[size_t(t)]);
    return b / (a + b);
}
std::vector<int> eps_flow_timesteps(const Schedule& s, int steps) {
    std::vector<int> ts;
    const double top = flow_time(s, s.T);
    for (int i = 0; i < steps; ++i) {
        const double target = top * double(steps - i) / steps;
        int best = 1;
        for (int t = 2; t <= s.T; ++t)
            if (std::fabs(flow_time(s, t) - target) < std::fabs(flow_time(s, best) - target)) best = t;
        if (!ts.empty()) best = std::min(best, ts.back() - 1);
        ts.push_back(std::max(best, steps - i));
    }
    ts.push_back(0);
    return ts;
}
Run run_eps_as_flow(const EpsModel& model, const Schedule& s, int steps, const std::vector<float>& start) {
    Run r{"eps (lesson 03)", "euler in y, uniform s", steps, 0, start};
    const int rows = int(start.size() / 2);
    const std::vector<int> ts = eps_flow_timesteps(s, steps);
    std::vector<double> grid;
    for (int t : ts) grid.push_back(flow_time(s, t));
    const EpsFunction eps_fn = model_eps_function(model);
    const VelocityFunction v = [&](float* v_out, const float* y, int n_rows, double at) {
        const int t = ts[size_t(std::find(grid.begin(), grid.end(), at) - grid.begin())];
        const double a = std::sqrt(s.alpha_bar[size_t(t)]), b = std::sqrt(1.0 - s.alpha_bar[size_t(t)]);
        std::vector<float> x_t(size_t(n_rows) * 2);
        for (size_t i = 0; i < x_t.size(); ++i) x_t[i] = float((a + b) * y[i]);
        eps_fn(v_out, x_t.data(), n_rows, t);
        for (size_t i = 0; i < x_t.size(); ++i) v_out[i] = float((double(v_out[i]) - y[i]) / (1.0 - at));
    };
    // the same start as the other samplers: x_T, as y at s(T)
    const double a_T = std::sqrt(s.alpha_bar[size_t(s.T)]), b_T = std::sqrt(1.0 - s.alpha_bar[size_t(s.T)]);
    for (float& y : r.x) y = float(y / (a_T + b_T));
    r.nfe = flow_solve(r.x.data(), rows, 2, v, grid, FlowSolver::Euler);
    return r;
}

// ---- trajectories -------------------------------------------------------------------------------

// Paths of `rows` points, (kPathSteps + 1) positions each, [step][row * 2 + d].
using Paths = std::vector<std::vector<float>>;

// The eps-model's ODE by Euler (DDIM, eta = 0) on kPathSteps uniform timesteps, recorded in x_t and in
// the straight path's variables y = x_t / (sqrt(ab_t) + sqrt(1 - ab_t)) of (13.11).
void eps_paths(const EpsModel& model, const Schedule& s, std::vector<float> x, Paths& in_x, Paths& in_y) {
    const int rows = int(x.size() / 2);
    const std::vector<int> ts = ode_timesteps(s, kPathSteps, OdeSpacing::Uniform);
    const EpsFunction eps_fn = model_eps_function(model);
    std::vector<float> eps(x.size());
    auto record = [&](int t) {
        in_x.push_back(x);
        const double ab = s.alpha_bar[size_t(t)], scale = 1.0 / (std::sqrt(ab) + std::sqrt(1.0 - ab));
        std::vector<float> y(x.size());
        for (size_t i = 0; i < x.size(); ++i) y[i] = float(scale * x[i]);
        in_y.push_back(y);
    };
    record(ts[0]);
    for (size_t k = 0; k < ts.size(); ++k) {
        const int t = ts[k], next = k + 1 < ts.size() ? ts[k + 1] : 0;
        eps_fn(eps.data(), x.data(), rows, t);
        ode_euler_step(x.data(), int64_t(x.size()), s, t, next, eps.data());
        record(next);
    }
}

Paths flow_paths(const EpsModel& model, std::vector<float> x) {
    Paths p;
    flow_solve(x.data(), int(x.size() / 2), 2, model_velocity_function(model), flow_grid(kPathSteps), FlowSolver::Euler,
               [&](int, const float* xk) { p.emplace_back(xk, xk + x.size()); });
    return p;
}

// |a_r - b_r| for row r of two (rows, 2) arrays (sqrt is exact to rounding on every machine; hypot is not)
double distance(const std::vector<float>& a, const std::vector<float>& b, size_t r) {
    const double dx = double(a[2 * r]) - b[2 * r], dy = double(a[2 * r + 1]) - b[2 * r + 1];
    return std::sqrt(dx * dx + dy * dy);
}

// The paths' total length over the total distance from start to end: 1 when every path is straight.
// (Totals rather than a mean of per-path ratios, which the few paths that end near their start dominate.)
double straightness(const Paths& p) {
    const size_t rows = p[0].size() / 2;
    double length = 0.0, chord = 0.0;
    for (size_t r = 0; r < rows; ++r) {
        for (size_t k = 1; k < p.size(); ++k) length += distance(p[k - 1], p[k], r);
        chord += distance(p[0], p.back(), r);
    }
    return length / chord;
}

void draw_paths(plot::Axes& ax, const Paths& p, int count, const Dataset& data, const std::string& title) {
    std::vector<float> dx, dy;
    for (int i = 0; i < std::min(2000, data.n()); ++i) {
        dx.push_back(data.x[size_t(2 * i)]);
        dy.push_back(data.x[size_t(2 * i + 1)]);
    }
    ax.scatter(dx, dy, plot::with_alpha(plot::colors::gray, 60), 1.2f);
    std::vector<float> sx, sy, ex, ey;
    for (int r = 0; r < count; ++r) {
        std::vector<float> xs, ys;
        for (const std::vector<float>& at : p) {
            xs.push_back(at[size_t(2 * r)]);
            ys.push_back(at[size_t(2 * r + 1)]);
        }
        ax.line(xs, ys, plot::with_alpha(plot::colors::red, 150), 1.0f);
        sx.push_back(xs.front());
        sy.push_back(ys.front());
        ex.push_back(xs.back());
        ey.push_back(ys.back());
    }
    ax.scatter(sx, sy, plot::colors::green, 2.5f, "start (noise)");
    ax.scatter(ex, ey, plot::colors::blue, 2.5f, "end (sample)");
    ax.xlim(-3.5f, 3.5f);
    ax.ylim(-3.5f, 3.5f);
    ax.equal_aspect();
    ax.title(title);
    ax.xlabel("first coordinate (grey: data)");
    ax.ylabel("second coordinate");
}

// ---- 4. MNIST: the shipped U-Net's recipe with the flow objective, beside the eps U-Net --------------
// Equal training steps (the same batch, so the same images seen): the tables stay the same on every
// machine; the time of each run goes to stderr and mnist_time.txt. Quick: kMnistQuickSteps steps each,
// a few seconds, which shows the machinery and not what either objective can reach; --full: the
// shipped U-Net's budget, 30 epochs of 750 steps (src/shipped/train_unet.cpp; lesson 09's --full too).
const int kMnistQuickSteps = 10;
const int kMnistFullSteps = 22500;

struct DigitModel {
    std::string name;
    ImageModel ema;
    double seconds = 0.0;
};

DigitModel train_digits(const LessonArgs& args, const std::string& name, ImageObjective objective, const ImageSet& train,
                        int steps, Table& table) {
    ImageTrainConfig c = unet_recipe(args.seed);  // the shipped U-Net's recipe (lessonkit/recipes.h)
    c.objective = objective;
    // the shipped U-Net's cosine schedule; a flow model uses its T only (s = t / T)
    ImageTrainer tr(ImageArch::UNet, c, cosine_schedule(1000));
    std::vector<int> rows(static_cast<size_t>(train.n));
    for (int i = 0; i < train.n; ++i) rows[size_t(i)] = i;
    Stopwatch clock;
    double first = 0.0, last = 0.0;
    const int tail = std::max(1, steps / 10);
    for (int k = 0; k < steps; ++k) {
        const float loss = tr.train_step(train, rows);
        if (k == 0) first = loss;
        if (k >= steps - tail) last += double(loss) / tail;
    }
    const double seconds = clock.seconds();
    table.add_row({name, image_objective_name(objective), std::to_string(steps), std::to_string(int64_t(steps) * c.batch),
                   fmt(first, 4), fmt(last, 4)});
    std::fprintf(stderr, "  MNIST %s: %d steps of batch %d in %.1f s (%.2f s a step, %d threads)\n", name.c_str(), steps,
                 c.batch, seconds, seconds / steps, args.threads);
    return DigitModel{name, tr.ema_model(), seconds};
}

void mnist_section(const LessonArgs& args, Table& training, Table& table) {
    const ImageSet test = load_mnist("test"), train = load_mnist("train");
    const MnistClassifier judge = load_scorer(test);
    const int steps = args.full ? kMnistFullSteps : kMnistQuickSteps;
    const DigitModel eps_model = train_digits(args, "eps U-Net", ImageObjective::Eps, train, steps, training);
    const DigitModel flow_model = train_digits(args, "flow U-Net", ImageObjective::Flow, train, steps, training);
    FILE* times = std::fopen(args.out("mnist_time.txt").c_str(), "w");
    if (times)
        std::fprintf(times, "training, %d steps of batch 64 each, %d threads: eps %.1f s, flow %.1f s (flow / eps %.2f)\n",
                     steps, args.threads, eps_model.seconds, flow_model.seconds, flow_model.seconds / eps_model.seconds);

    // quick: 16 digits, too few for a Frechet distance of 128 features (the table shows "-"); --full
    // (or --images N): 1,000
    const int n = args.images > 0 ? args.images : args.full ? 1000 : 16;
    const bool with_fd = n >= 128;
    std::vector<float> x_1(size_t(n) * 784);  // x_T of the eps model, x at s = 1 of the flow: the same noise
    Rng(args.seed, kDigitStart).fill_normal(x_1.data(), int64_t(x_1.size()));
    std::vector<float> grid;
    std::vector<std::string> grid_rows;
    auto finish = [&](std::vector<float>& x, const std::string& model, const std::string& sampler, int steps_run, int calls,
                      double seconds) {
        for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
        const DigitScore d = score_digits(judge, x.data(), n, test);
        table.add_row({model, sampler, std::to_string(steps_run), std::to_string(calls), with_fd ? fmt(d.fd.distance, 2) : "-",
                       with_fd ? fmt(d.fd.floor, 2) : "-", fmt(d.mean_confidence, 3), fmt(d.min_class_fraction, 3)});
        if (calls >= 19) {
            grid.insert(grid.end(), x.begin(), x.begin() + std::min(n, 10) * 784);
            grid_rows.push_back(model + ", " + sampler + ", " + std::to_string(calls) + " calls");
        }
        std::fprintf(stderr, "  MNIST %s, %s, %d steps (%d calls): %d digits in %.1f s\n", model.c_str(), sampler.c_str(),
                     steps_run, calls, n, seconds);
        if (times) std::fprintf(times, "%s, %s, %d calls: %d digits in %.1f s\n", model.c_str(), sampler.c_str(), calls, n, seconds);
    };
    // the eps U-Net with lesson 12's solvers: from EDM's sigma_max = 80 (t = 991 on the cosine schedule),
    // EDM's spacing, no clipping (lessons/12_solvers section 5)
    const Schedule s = cosine_schedule(1000);
    const Schedule cut = cut_schedule(s, ode_start_timestep(s));
    const EpsFunction eps = image_eps_function(eps_model.ema);
    for (int nfe : {10, 20}) {
        // Euler (DDIM with eta 0) and DPM-Solver++(2M), one call a step (lesson 12 tables Heun beside them)
        for (OdeSolver solver : {OdeSolver::Euler, OdeSolver::DpmPP2M}) {
            const int k = nfe;
            std::vector<float> x = x_1;
            Stopwatch clock;
            const int calls = ode_solve(x.data(), n, 784, s, eps, ode_timesteps(cut, k, OdeSpacing::Karras), solver);
            finish(x, "eps U-Net", ode_solver_name(solver), k, calls, clock.seconds());
        }
        // the flow U-Net from s = 1 to 0 in equal steps of s: Euler nfe steps, Heun nfe / 2 (2 calls a step)
        for (FlowSolver solver : {FlowSolver::Euler, FlowSolver::Heun}) {
            const int k = solver == FlowSolver::Heun ? nfe / 2 : nfe;
            std::vector<float> x = x_1;
            Stopwatch clock;
            const int calls = image_flow_sample(x.data(), n, flow_model.ema, kFlowT, k, solver);
            finish(x, "flow U-Net", flow_solver_name(solver), k, calls, clock.seconds());
        }
    }
    if (times) std::fclose(times);
    plot::save_image_grid(args.out("mnist_flow.png"), grid.data(), int(grid.size() / 784), 1, 28, 28, std::min(n, 10), -1.0f,
                          1.0f, 2, grid_rows);
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "13_flow");
    std::printf("Convention: flow time s in [0, 1], data at s = 0, noise at s = 1; the network sees t = s T, T = %d.\n"
                "The eps-model's t: t = 0 is the data, t = 1..T noising steps.\n", kFlowT);
    const int steps = args.full ? 20000 : kToyQuickSteps;
    const int n = args.full ? 4000 : 1000;  // points per scored sample
    Stopwatch clock;
    Table training({"model", "steps", "first_loss", "final_loss"});
    Table nfe_table({"data", "model", "sampler", "steps", "nfe", "swd_ratio", "floor_sd_ratio"});
    Table straight({"data", "model", "variables", "length_over_chord"});
    plot::Figure nfe_fig(1, int(kSets.size()), 420, 360);
    nfe_fig.suptitle("SWD ratio to held-out data against network calls, " + std::to_string(n) +
                     " samples from the same noise (1 = as good as fresh data; models of " + std::to_string(steps) + " steps)");
    plot::Figure path_fig(int(kSets.size()), 3, 340, 340);
    path_fig.suptitle("ODE trajectories from the same " + std::to_string(kPathsDrawn) +
                      " noise points (green) to samples (blue), Euler with " + std::to_string(kPathSteps) + " steps");

    EpsModel reflow_source;  // the flow model of kReflowSet (its EMA weights)
    for (size_t si = 0; si < kSets.size(); ++si) {
        const std::string& set = kSets[si];
        const Dataset data = make_dataset(set, kToyRows, args.seed);
        FlowTrainer flow = train_flow(args, "flow, " + set, data, steps, training);
        const EpsModel flow_model = flow.ema_model();
        const Trainer eps_trainer = lesson03_model(args, set);
        const EpsModel eps_model = eps_trainer.ema_model();
        const Schedule& sched = eps_trainer.schedule;
        const Reference ref = reference_for(set, n, args.seed);
        const std::vector<float> start = start_noise(n, 2, args.seed, kStartNoise);

        // Table 13.2 and nfe.png: every sampler at (about) each number of calls
        std::vector<Run> runs;
        for (int nfe : kNfe) {
            runs.push_back(run_eps(eps_model, sched, OdeSolver::Euler, nfe, start));
            if (nfe >= 4) runs.push_back(run_eps(eps_model, sched, OdeSolver::Heun, nfe / 2, start));
            runs.push_back(run_eps(eps_model, sched, OdeSolver::DpmPP2M, nfe, start));
            runs.push_back(run_eps_as_flow(eps_model, sched, nfe, start));
            runs.push_back(run_flow("flow", flow_model, FlowSolver::Euler, nfe, start));
            if (nfe >= 2) runs.push_back(run_flow("flow", flow_model, FlowSolver::Heun, nfe / 2, start));
        }
        struct Curve {
            std::string label;
            std::vector<float> x, y;
        };
        std::vector<Curve> curves;
        for (const Run& r : runs) {
            const double ratio = swd_ratio(r.x, ref, args.seed);
            nfe_table.add_row({set, r.model, r.sampler, std::to_string(r.steps), std::to_string(r.nfe), fmt(ratio, 2),
                               fmt(ref.floor.swd_sd / ref.floor.swd_mean, 2)});
            const std::string label = (r.model == "flow" ? "flow, " : "eps, ") + r.sampler;
            auto it = std::find_if(curves.begin(), curves.end(), [&](const Curve& c) { return c.label == label; });
            if (it == curves.end()) it = curves.insert(curves.end(), Curve{label, {}, {}});
            it->x.push_back(float(std::log10(double(r.nfe))));
            it->y.push_back(float(ratio));
        }
        plot::Axes& ax = nfe_fig.at(0, int(si));
        for (size_t c = 0; c < curves.size(); ++c) {
            const bool is_flow = curves[c].label.rfind("flow", 0) == 0;
            ax.line(curves[c].x, curves[c].y, plot::palette(int(c)), is_flow ? 2.5f : 1.5f, curves[c].label);
            ax.scatter(curves[c].x, curves[c].y, plot::palette(int(c)), 3.0f);
        }
        ax.hline(1.0f, plot::colors::gray, 1.0f, true);
        ax.logy();
        ax.title(set);
        ax.xlabel("log10 network calls (NFE)");
        ax.ylabel("SWD / floor (log scale)");

        // Table 13.3 and trajectories.png
        Paths ex, ey;
        eps_paths(eps_model, sched, start_noise(kPathsMeasured, 2, args.seed, kPathNoise), ex, ey);
        const Paths fp = flow_paths(flow_model, start_noise(kPathsMeasured, 2, args.seed, kPathNoise));
        straight.add_row({set, "eps (lesson 03)", "x_t", fmt(straightness(ex), 3)});
        straight.add_row({set, "eps (lesson 03)", "y = x_t / (sqrt(ab) + sqrt(1 - ab))", fmt(straightness(ey), 3)});
        straight.add_row({set, "flow", "x_s", fmt(straightness(fp), 3)});
        draw_paths(path_fig.at(int(si), 0), ex, kPathsDrawn, data, set + ": eps-model, DDIM in x_t");
        draw_paths(path_fig.at(int(si), 1), ey, kPathsDrawn, data, set + ": the same paths in y (13.11)");
        draw_paths(path_fig.at(int(si), 2), fp, kPathsDrawn, data, set + ": flow model, Euler in x_s");
        if (set == kReflowSet) reflow_source = flow_model;
        std::fprintf(stderr, "  %s: done at %.1f s\n", set.c_str(), clock.seconds());
    }
    nfe_fig.save(args.out("nfe.png"));
    path_fig.save(args.out("trajectories.png"));

    // ---- reflow (Liu et al. 2023, sec. 2.3): pairs (z, x_0 = ODE(z)) from the flow model, a new model on them
    const EpsModel& flow_model = reflow_source;
    const Dataset data = make_dataset(kReflowSet, kToyRows, args.seed);
    Dataset pairs = data;
    const std::vector<float> z = start_noise(kToyRows, 2, args.seed, kReflowNoise);
    pairs.x = z;
    const int pair_steps = 50;
    flow_solve(pairs.x.data(), kToyRows, 2, model_velocity_function(flow_model), flow_grid(pair_steps), FlowSolver::Heun);
    std::fprintf(stderr, "  reflow: %d pairs (Heun, %d steps) at %.1f s\n", kToyRows, pair_steps, clock.seconds());
    const FlowTrainer reflow = train_flow(args, "reflow, " + kReflowSet, pairs, steps, training, z.data());
    const EpsModel reflow_model = reflow.ema_model();
    const Reference ref = reference_for(kReflowSet, n, args.seed);
    const std::vector<float> start = start_noise(n, 2, args.seed, kStartNoise);
    Table reflow_table({"data", "model", "sampler", "steps", "nfe", "swd_ratio"});
    plot::Figure reflow_fig(1, 4, 340, 340);
    reflow_fig.suptitle("Reflow on " + kReflowSet + ": trajectories (Euler, " + std::to_string(kPathSteps) +
                        " steps) and one-step samples, before and after");
    int panel = 2;
    for (const auto& m : {std::make_pair(std::string("flow"), &flow_model), std::make_pair(std::string("reflow"), &reflow_model)}) {
        for (int k : {1, 2, 4, 10}) {
            const Run r = run_flow(m.first, *m.second, FlowSolver::Euler, k, start);
            reflow_table.add_row({kReflowSet, m.first, "euler", std::to_string(k), std::to_string(r.nfe),
                                  fmt(swd_ratio(r.x, ref, args.seed), 2)});
            if (k == 1)
                toy_scatter(reflow_fig.at(0, panel++), r.x, n, plot::with_alpha(plot::palette(1), 150), 1.3f,
                            m.first + ": one Euler step (1 call)");
        }
        const Run h = run_flow(m.first, *m.second, FlowSolver::Heun, 50, start);
        reflow_table.add_row({kReflowSet, m.first, "heun", "50", std::to_string(h.nfe), fmt(swd_ratio(h.x, ref, args.seed), 2)});
        const Paths p = flow_paths(*m.second, start_noise(kPathsMeasured, 2, args.seed, kPathNoise));
        straight.add_row({kReflowSet, m.first == "flow" ? "flow (reflow's source)" : "reflow", "x_s", fmt(straightness(p), 3)});
        draw_paths(reflow_fig.at(0, m.first == "flow" ? 0 : 1), p, kPathsDrawn, data, m.first + ": trajectories");
    }
    reflow_fig.save(args.out("reflow.png"));

    training.print("Table 13.1: flow-matching training, lesson 03's recipe (final_loss: mean over the last 10% of steps)");
    training.save_tsv(args.out("flow_training.tsv"));
    nfe_table.print("Table 13.2: SWD ratio against network calls (eps: lesson 03's model, uniform timesteps; flow: this "
                   "lesson's; floor_sd_ratio: the spread of one true sample's ratio)");
    nfe_table.save_tsv(args.out("nfe.tsv"));
    straight.print("Table 13.3: straightness of the ODE paths, total length / total chord of " + std::to_string(kPathsMeasured) +
                   " paths (1 = straight)");
    straight.save_tsv(args.out("straightness.tsv"));
    reflow_table.print("Table 13.4: reflow on " + kReflowSet + ", few-step quality before and after");
    reflow_table.save_tsv(args.out("reflow.tsv"));

    Stopwatch mnist_clock;
    Table mnist_training({"model", "objective", "steps", "images_seen", "first_loss", "final_loss"});
    Table mnist({"model", "sampler", "steps", "nfe", "frechet", "frechet_floor", "confidence", "min_class_fraction"});
    mnist_section(args, mnist_training, mnist);
    mnist_training.print("Table 13.5: the shipped U-Net's recipe on MNIST with each objective, equal steps (final_loss: "
                         "mean over the last 10% of steps; eps and flow losses measure different targets)");
    mnist_training.save_tsv(args.out("mnist_training.tsv"));
    mnist.print("Table 13.6: MNIST digits against network calls, the same x_1 = x_T for every row (eps: lesson 12's "
                "solvers from sigma_max = 80, EDM's spacing; flow: equal steps of s); frechet '-' below 128 digits");
    mnist.save_tsv(args.out("mnist_flow.tsv"));
    std::fprintf(stderr, "[13_flow] MNIST part in %.1f s\n", mnist_clock.seconds());
    std::fprintf(stderr, "[13_flow] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("13_flow", lesson, argc, argv); }
