// Lesson 12: samplers are ODE solvers. DDIM with eta = 0 is Euler's method on the probability-flow
// ODE (12.3) of docs/probability-flow.md; Heun (EDM) and DPM-Solver++(2M) are second-order solvers
// of the same ODE over the same network calls. With lesson 05's exact eps* the ODE can be solved to
// any accuracy, so each solver's discretisation error is measured by itself, apart from any network.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "diffusion/ddim.h"
#include "diffusion/metrics.h"
#include "diffusion/ode.h"
#include "diffusion/oracle.h"
#include "diffusion/sampler.h"
#include "diffusion/train.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "lessonkit/mnist.h"
#include "nets/eps_mlp.h"
#include "nets/image_model.h"
#include "plot/plot.h"
#include "store/image_checkpoint.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kStart = 30, kDigits = 31, kDigitNoise = 32 };  // kHeldOut: lessonkit/evaluate.h

const char* kShipped = "data/models/mnist_unet.ckpt";
const OdeSolver kSolvers[] = {OdeSolver::Euler, OdeSolver::Heun, OdeSolver::DpmPP2M};

struct MixtureSet {
    std::string name;
    GaussianMixture gm;
};

std::vector<MixtureSet> mixture_sets() {
    return {{"two_clusters", two_clusters_mixture()}, {"eight_gaussians", eight_gaussians_mixture()}};
}

std::vector<float> start_noise(const LessonArgs& args, int n, int dim, uint64_t stream = kStart) {
    std::vector<float> x(static_cast<size_t>(n) * dim);
    Rng(args.seed, stream).fill_normal(x.data(), int64_t(x.size()));
    return x;
}

double rms(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (size_t i = 0; i < a.size(); ++i) s += dmath::square(double(a[i]) - b[i]);
    return std::sqrt(s / double(a.size()));
}

// The steps that give a solver about `nfe` network calls: Heun's N steps make 2N - 1 calls.
int steps_for(OdeSolver solver, int nfe) { return solver == OdeSolver::Heun ? (nfe + 1) / 2 : nfe; }

// ---- the grid of the exact experiments ------------------------------------------------------------
// The ODE (12.3) is a function of sigma alone (eps* at noise level sigma needs ab = 1 / (1 + sigma^2)
// only), so with the oracle it can be solved on any grid of sigmas, not only at the 1,000 integer
// timesteps where a network was trained. This "schedule" is K + 1 levels: sigma_0 = 0, then K sigmas
// evenly spaced in lambda = -log sigma from the course schedule's sigma_1 to its sigma_T. Its
// timesteps are indices into that grid: ode_timesteps' uniform spacing on it is uniform in lambda
// (DPM-Solver's spacing), its Karras spacing is EDM's rho = 7 between the same ends. Every solve ends
// with the step from sigma_1 to 0 that every sampler of the course ends with (x_0 = the prediction of
// x_0 at t = 1, (12.2) with sigma' = 0), so a solution here and one on the course's timesteps solve
// the same problem.
Schedule lambda_grid(const Schedule& course, int K) {
    const double lo = ode_sigma(course, 1), hi = ode_sigma(course, course.T);
    std::vector<double> beta(size_t(K) + 1, 0.0);
    double ab_prev = 1.0;
    for (int k = 1; k <= K; ++k) {
        const double sigma = lo * dmath::exp(dmath::log(hi / lo) * double(k - 1) / double(K - 1));
        const double ab = 1.0 / (1.0 + sigma * sigma);
        beta[size_t(k)] = 1.0 - ab / ab_prev;
        ab_prev = ab;
    }
    return schedule_from_betas("lambda grid of " + std::to_string(K) + " levels", beta);
}

EpsFunction oracle_function(const GaussianMixture& gm, const Schedule& s) {
    return [&gm, &s](float* out, const float* x, int rows, int t) { oracle_eps(out, x, rows, gm, s, t); };
}

// x_T is N(0, I) in x_T's own scale; the grid's last level has the course's sigma_T, so the same
// x_T starts both.
std::vector<float> solve(const std::vector<float>& x_T, int dim, const Schedule& s, const EpsFunction& eps,
                         const std::vector<int>& timesteps, OdeSolver solver, int* calls = nullptr) {
    std::vector<float> x = x_T;
    const int c = ode_solve(x.data(), int(x.size()) / dim, dim, s, eps, timesteps, solver);
    if (calls) *calls = c;
    return x;
}

std::vector<int> all_steps(const Schedule& s) {
    std::vector<int> t;
    for (int k = s.T; k >= 1; --k) t.push_back(k);
    return t;
}

// ---- 1. the reference solution and its own convergence (Table 12.1) ------------------------------
struct Reference {
    std::vector<float> x_T, x0;  // the start and the reference answer at the data end
    Schedule grid;               // the grid it was solved on
};

Reference reference_solution(const LessonArgs& args, const MixtureSet& m, const Schedule& course, int n, Table& table) {
    Reference r;
    r.x_T = start_noise(args, n, m.gm.dim);
    std::vector<float> previous;
    for (int K : {1000, 2000, 4000}) {
        const Schedule grid = lambda_grid(course, K);
        const EpsFunction eps = oracle_function(m.gm, grid);
        int calls = 0;
        std::vector<float> heun = solve(r.x_T, m.gm.dim, grid, eps, all_steps(grid), OdeSolver::Heun, &calls);
        const std::vector<float> dpm = solve(r.x_T, m.gm.dim, grid, eps, all_steps(grid), OdeSolver::DpmPP2M);
        table.add_row({m.name, std::to_string(K), std::to_string(calls), previous.empty() ? "-" : fmt_g(rms(heun, previous), 3),
                       fmt_g(rms(heun, dpm), 3)});
        previous = heun;
        if (K == 4000) {
            r.x0 = std::move(heun);
            r.grid = grid;
        }
    }
    return r;
}

// ---- 2. error against network calls on the lambda grid (Tables 12.2 and 12.3) ---------------------
// The slope of log(error) against log(calls), least squares over the points with at least 79 calls
// (below that the solvers are not yet in the regime where their order shows).
double fitted_order(const std::vector<double>& calls, const std::vector<double>& errors) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int k = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
        if (calls[i] < 79) continue;
        const double x = dmath::log(calls[i]), y = dmath::log(errors[i]);
        sx += x, sy += y, sxx += x * x, sxy += x * y, ++k;
    }
    return -(k * sxy - sx * sy) / (k * sxx - sx * sx);
}

void oracle_orders(const MixtureSet& m, const Reference& ref, Table& errors, Table& slopes,
                   plot::Axes& ax) {
    const EpsFunction eps = oracle_function(m.gm, ref.grid);
    const std::vector<int> budgets = {5, 10, 20, 40, 80, 160, 320, 640};
    double anchor[2] = {0.0, 0.0};  // Euler's and Heun's last errors, uniform in lambda: the guide lines' anchors
    for (OdeSpacing spacing : {OdeSpacing::Uniform, OdeSpacing::Karras})
        for (OdeSolver solver : kSolvers) {
            std::vector<double> calls, err;
            for (int nfe : budgets) {
                int c = 0;
                const int steps = steps_for(solver, nfe);
                const std::vector<float> x =
                    solve(ref.x_T, m.gm.dim, ref.grid, eps, ode_timesteps(ref.grid, steps, spacing), solver, &c);
                calls.push_back(c);
                err.push_back(rms(x, ref.x0));
                errors.add_row({m.name, ode_solver_name(solver), spacing == OdeSpacing::Uniform ? "uniform_lambda" : "karras",
                                std::to_string(steps), std::to_string(c), fmt_g(err.back(), 3)});
            }
            const double order = fitted_order(calls, err);
            const int expected = solver == OdeSolver::Euler ? 1 : 2;
            slopes.add_row({m.name, ode_solver_name(solver), spacing == OdeSpacing::Uniform ? "uniform_lambda" : "karras",
                            std::to_string(expected), fmt(order, 2), std::fabs(order - expected) <= 0.2 ? "yes" : "NO"});
            std::vector<float> px, py;
            for (size_t i = 0; i < calls.size(); ++i) {
                px.push_back(float(std::log10(calls[i])));
                py.push_back(float(err[i]));
            }
            const plot::Color c = plot::palette(int(solver));
            const std::string label = std::string(ode_solver_name(solver)) +
                                      (spacing == OdeSpacing::Uniform ? ", uniform in lambda" : ", Karras rho = 7") +
                                      " (slope " + fmt(order, 2) + ")";
            ax.line(px, py, spacing == OdeSpacing::Uniform ? c : plot::with_alpha(c, 110),
                    spacing == OdeSpacing::Uniform ? 2.0f : 1.0f, label);
            ax.scatter(px, py, c, spacing == OdeSpacing::Uniform ? 3.0f : 2.0f);
            if (spacing == OdeSpacing::Uniform && solver != OdeSolver::DpmPP2M) anchor[solver == OdeSolver::Heun] = err.back();
        }
    // guide lines of slope -1 and -2 from 10 to 320 calls, a third below Euler's and Heun's last points
    const float x1 = 1.0f, x2 = float(std::log10(320.0));
    ax.line({x1, x2}, {float(anchor[0] / 3.0 * 32.0), float(anchor[0] / 3.0)}, plot::colors::gray, 1.0f,
            "order 1 (slope -1)");
    ax.line({x1, x2}, {float(anchor[1] / 3.0 * 1024.0), float(anchor[1] / 3.0)}, plot::colors::black, 1.0f,
            "order 2 (slope -2)");
    ax.logy();
    ax.title(m.name + ": error at the data end against the reference (oracle)");
    ax.xlabel("log10 of the network calls (1 = 10 calls, 2 = 100)");
    ax.ylabel("RMS error against the reference (log scale)");
}

// ---- 3. the same on the course's own 1,000 timesteps (Table 12.4) ---------------------------------
void course_timesteps(const MixtureSet& m, const Reference& ref, const Schedule& course, Table& table) {
    const EpsFunction eps = oracle_function(m.gm, course);
    for (int nfe : {10, 20, 50})
        for (OdeSolver solver : kSolvers)
            for (OdeSpacing spacing : {OdeSpacing::Uniform, OdeSpacing::Quadratic, OdeSpacing::Karras}) {
                int c = 0;
                const int steps = steps_for(solver, nfe);
                const std::vector<float> x =
                    solve(ref.x_T, m.gm.dim, course, eps, ode_timesteps(course, steps, spacing), solver, &c);
                table.add_row({m.name, ode_solver_name(solver), ode_spacing_name(spacing), std::to_string(steps),
                               std::to_string(c), fmt_g(rms(x, ref.x0), 3)});
            }
}

// ---- 4. the trained toy models: where the network's error takes over (Table 12.5) ----------------
void trained_models(const LessonArgs& args, Table& table, plot::Figure& fig) {
    int column = 0;
    for (const MixtureSet& m : mixture_sets()) {
        Trainer tr = lesson03_model(args, m.name);
        const EpsModel model = tr.ema_model();
        const Schedule& s = tr.schedule;
        const int n = args.full ? 8000 : 2000, dim = m.gm.dim;
        const std::vector<float> x_T = start_noise(args, n, dim);
        const Dataset reference = make_dataset(m.name, n, args.seed + kHeldOut);
        const DistanceFloor floor = score_against_set(x_T.data(), n, m.name, args.seed).floor;
        const EpsFunction net = model_eps_function(model), oracle = oracle_function(m.gm, s);
        // each eps function's own ODE solution on the course's finest grid (Heun over all 1,000
        // timesteps): what the solvers converge to, apart from the data
        const std::vector<float> net_limit = solve(x_T, dim, s, net, all_steps(s), OdeSolver::Heun);
        const std::vector<float> oracle_limit = solve(x_T, dim, s, oracle, all_steps(s), OdeSolver::Heun);
        plot::Axes& ax = fig.at(0, column);
        plot::Axes& bx = fig.at(1, column++);
        auto swd_ratio = [&](const std::vector<float>& x) {
            return sliced_wasserstein1(x.data(), n, reference.x.data(), n, dim, 256, args.seed) / floor.swd_mean;
        };
        for (OdeSolver solver : kSolvers) {
            std::vector<float> px, py_net, py_oracle, pe_net, pe_oracle;
            for (int nfe : {5, 10, 20, 50, 100}) {
                int c = 0;
                const int steps = steps_for(solver, nfe);
                const std::vector<int> tau = ode_timesteps(s, steps, OdeSpacing::Quadratic);
                const std::vector<float> xn = solve(x_T, dim, s, net, tau, solver, &c);
                const std::vector<float> xo = solve(x_T, dim, s, oracle, tau, solver);
                const double rn = swd_ratio(xn), ro = swd_ratio(xo);
                table.add_row({m.name, ode_solver_name(solver), std::to_string(steps), std::to_string(c), fmt(rn, 2),
                               fmt_g(rms(xn, net_limit), 3), fmt(ro, 2), fmt_g(rms(xo, oracle_limit), 3)});
                px.push_back(float(std::log10(c)));
                py_net.push_back(float(rn));
                py_oracle.push_back(float(ro));
                pe_net.push_back(float(rms(xn, net_limit)));
                pe_oracle.push_back(float(rms(xo, oracle_limit)));
            }
            const plot::Color c = plot::palette(int(solver));
            ax.line(px, py_net, c, 2.0f, std::string(ode_solver_name(solver)) + ", trained model");
            ax.scatter(px, py_net, c, 3.0f);
            ax.line(px, py_oracle, plot::with_alpha(c, 110), 1.0f, std::string(ode_solver_name(solver)) + ", oracle");
            bx.line(px, pe_net, c, 2.0f, std::string(ode_solver_name(solver)) + ", trained model");
            bx.scatter(px, pe_net, c, 3.0f);
            bx.line(px, pe_oracle, plot::with_alpha(c, 110), 1.0f, std::string(ode_solver_name(solver)) + ", oracle");
        }
        {
            SampleOptions o;
            o.seed = args.seed;
            std::vector<float> x = x_T;
            ddpm_sample(x.data(), n, dim, s, net, o);
            const double r = swd_ratio(x);
            table.add_row({m.name, "ddpm", std::to_string(s.T), std::to_string(s.T), fmt(r, 2), "-", "-", "-"});
            ax.hline(float(r), plot::colors::black, 1.0f, true, "DDPM, 1000 steps, trained model");
        }
        ax.hline(1.0f, plot::colors::gray, 1.0f, true, "the floor (fresh data)");
        ax.title(m.name + ": distance to held-out data (quadratic spacing)");
        ax.xlabel("log10 of the network calls");
        ax.ylabel("SWD ratio (1 = as good as fresh data; log scale)");
        ax.logy();
        bx.title(m.name + ": distance to the same eps's own ODE limit");
        bx.xlabel("log10 of the network calls");
        bx.ylabel("RMS to Heun over all 1,000 timesteps (log scale)");
        bx.logy();
    }
}

// ---- 5. MNIST with the shipped U-Net (Table 12.6) -------------------------------------------------
void mnist_solvers(const LessonArgs& args, Table& table) {
    if (!std::filesystem::exists(kShipped))
        fail(std::string(kShipped) + ": missing; it is tracked in git (git checkout it), or retrain it with make "
             "unet-checkpoint (hours)");
    const ImageSet test = load_mnist("test");
    const MnistClassifier judge = load_scorer(test);
    const Checkpoint file = load_checkpoint(kShipped);
    Schedule s;
    const ImageModel model = image_model_from_checkpoint(file, kShipped, s);
    const EpsFunction eps = image_eps_function(model);
    // quick: 16 digits, too few for a Frechet distance of 128 features (the table shows "-"); --full
    // (or --images N) scores 1,000
    const int n = args.images > 0 ? args.images : args.full ? 1000 : 16;
    const bool with_fd = n >= 128;
    const std::vector<float> x_T = start_noise(args, n, 784, kDigits);
    std::vector<float> grid;
    std::vector<std::string> rows;
    auto finish = [&](std::vector<float>& x, const std::string& sampler, int steps, int calls, double seconds) {
        for (float& v : x) v = std::min(1.0f, std::max(-1.0f, v));
        const DigitScore d = score_digits(judge, x.data(), n, test);
        table.add_row({sampler, std::to_string(steps), std::to_string(calls), with_fd ? fmt(d.fd.distance, 2) : "-",
                       with_fd ? fmt(d.fd.floor, 2) : "-", fmt(d.mean_confidence, 3), fmt(d.min_class_fraction, 3)});
        if (calls == 10 || calls == 9) {
            grid.insert(grid.end(), x.begin(), x.begin() + std::min(n, 10) * 784);
            rows.push_back(sampler + ", " + std::to_string(calls) + " calls");
        }
        std::fprintf(stderr, "  %s %d steps (%d calls): %d digits in %.1f s\n", sampler.c_str(), steps, calls, n, seconds);
    };
    // The course's DDIM as lesson 09 runs it: uniform timesteps from T, x_0 clipped to [-1, 1]
    for (int nfe : {5, 10, 20, 50}) {
        std::vector<float> x = x_T;
        Stopwatch clock;
        ddim_sample_clipped(x.data(), n, 784, s, eps, ddim_timesteps(s.T, nfe, Spacing::Uniform), 0.0f, args.seed, 1.0f);
        finish(x, "ddim, lesson 09 (uniform from T, x_0 clipped)", nfe, nfe, clock.seconds());
    }
    // The cosine schedule ends at sigma_T of about 2 * 10^4: the solvers start at EDM's sigma_max = 80
    // instead (ode.h, ode_start_timestep), x_T standing for x_t there, on the schedule cut at that t,
    // with EDM's spacing between sigma_max and sigma_1; no clipping
    const int start = ode_start_timestep(s);
    const Schedule cut = cut_schedule(s, start);
    std::fprintf(stderr, "  %s: %s, sigma_T = %.0f; the solvers start at t = %d, sigma = %.1f\n", kShipped,
                 s.name.c_str(), ode_sigma(s, s.T), start, ode_sigma(s, start));
    for (int nfe : {5, 10, 20, 50}) {
        {  // DDPM on the same timesteps: DDIM with eta = 1
            std::vector<int> tau = ode_timesteps(cut, nfe, OdeSpacing::Karras);
            std::reverse(tau.begin(), tau.end());
            std::vector<float> x = x_T;
            Stopwatch clock;
            ddim_sample(x.data(), n, 784, cut, eps, tau, 1.0f, args.seed + kDigitNoise);
            finish(x, "ddpm (ddim with eta 1)", nfe, nfe, clock.seconds());
        }
        for (OdeSolver solver : kSolvers) {
            std::vector<float> x = x_T;
            Stopwatch clock;
            const int steps = steps_for(solver, nfe);
            const int calls = ode_solve(x.data(), n, 784, s, eps, ode_timesteps(cut, steps, OdeSpacing::Karras), solver);
            finish(x, solver == OdeSolver::Euler ? "euler (= ddim, eta 0)" : ode_solver_name(solver), steps, calls,
                   clock.seconds());
        }
    }
    plot::save_image_grid(args.out("mnist_solvers.png"), grid.data(), int(grid.size() / 784), 1, 28, 28, std::min(n, 10),
                          -1.0f, 1.0f, 2, rows);
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "12_solvers");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    const Schedule course = linear_schedule(1000);
    const int n = args.full ? 2000 : 500;

    Table ref_table({"data", "levels_K", "network_calls", "rms_change_from_K/2", "rms_heun_vs_dpmpp2m"});
    Table errors({"data", "solver", "spacing", "steps", "network_calls", "rms_error"});
    Table slopes({"data", "solver", "spacing", "order", "fitted_slope", "within_0.2"});
    Table course_table({"data", "solver", "spacing", "steps", "network_calls", "rms_error"});
    plot::Figure fig(1, 2, 560, 440);
    fig.suptitle("Error at the data end against network calls, the exact eps* of lesson 05 (" + std::to_string(n) +
                 " points from one x_T); bold: uniform in lambda, faint: Karras");
    int column = 0;
    for (const MixtureSet& m : mixture_sets()) {
        const Reference ref = reference_solution(args, m, course, n, ref_table);
        oracle_orders(m, ref, errors, slopes, fig.at(0, column++));
        course_timesteps(m, ref, course, course_table);
    }
    ref_table.print("Table 12.1: the reference solution, Heun over every level of the lambda grid: how much it moves "
                    "when the grid doubles, and how far DPM-Solver++(2M) on the same grid lands from it");
    ref_table.save_tsv(args.out("reference.tsv"));
    errors.print("Table 12.2: each solver's RMS error at the data end against the reference, on the lambda grid");
    errors.save_tsv(args.out("oracle_errors.tsv"));
    slopes.print("Table 12.3: the order of convergence, the slope of log(error) against log(calls) fitted over 79-640 "
                 "calls");
    slopes.save_tsv(args.out("orders.tsv"));
    fig.save(args.out("orders.png"));
    course_table.print("Table 12.4: the same solvers on the course's 1,000 integer timesteps (linear schedule), "
                       "three spacings, against the same reference");
    course_table.save_tsv(args.out("course_timesteps.tsv"));

    Table model_table({"data", "solver", "steps", "network_calls", "swd_ratio", "rms_to_own_limit", "oracle_swd_ratio",
                       "oracle_rms_to_own_limit"});
    plot::Figure mfig(2, 2, 560, 400);
    mfig.suptitle("Lesson 03's trained model (bold) and the oracle (faint), the same solvers and x_T");
    trained_models(args, model_table, mfig);
    model_table.print("Table 12.5: lesson 03's models against held-out data (SWD ratio) and against their own ODE's "
                      "limit (Heun over all 1,000 timesteps), beside the oracle's, quadratic spacing");
    model_table.save_tsv(args.out("trained_models.tsv"));
    mfig.save(args.out("trained_models.png"));

    Table mnist({"sampler", "steps", "network_calls", "frechet", "frechet_floor", "confidence", "min_class_fraction"});
    mnist_solvers(args, mnist);
    mnist.print("Table 12.6: the shipped U-Net from one fixed x_T, the samplers at 5, 10, 20 and 50 network calls "
                "(first rows: lesson 09's DDIM; then Karras spacing from sigma_max = 80, no clipping)");
    mnist.save_tsv(args.out("mnist_solvers.tsv"));

    std::fprintf(stderr, "[12_solvers] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("12_solvers", lesson, argc, argv); }
