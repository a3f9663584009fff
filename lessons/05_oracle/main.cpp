// Lesson 05: the exact oracle. For Gaussian-mixture data the optimal noise predictor
// eps*(x_t, t) = E[eps | x_t] is known in closed form. Sampling with it separates the sampler's error
// from the model's; comparing the trained model with it shows where the model is wrong, per t.
#include <cmath>
#include <cstdio>

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

enum Stream : uint64_t { kStart = 30, kEval = 40 };  // kHeldOut: lessonkit/evaluate.h

struct MixtureSet {
    std::string name;
    GaussianMixture gm;
};

std::vector<MixtureSet> mixture_sets() {
    return {{"bimodal1d", bimodal_1d_mixture()},
            {"two_clusters", two_clusters_mixture()},
            {"eight_gaussians", eight_gaussians_mixture()}};
}

// ---- 1. sampling with the oracle: the distance sits at its floor ------------------------------
void oracle_sampling(const LessonArgs& args, Table& table, plot::Figure& fig) {
    const Schedule s = linear_schedule(1000);
    const int n = args.full ? 8000 : 4000;
    int column = 0;
    for (const MixtureSet& m : mixture_sets()) {
        const int dim = m.gm.dim;
        Dataset reference = make_dataset(m.name, n, args.seed + kHeldOut);
        std::vector<float> x(static_cast<size_t>(n) * dim);
        Rng(args.seed, kStart).fill_normal(x.data(), int64_t(x.size()));
        EpsFunction oracle = [&](float* out, const float* xt, int rows, int t) { oracle_eps(out, xt, rows, m.gm, s, t); };
        SampleOptions o;
        o.seed = args.seed;
        ddpm_sample(x.data(), n, dim, s, oracle, o);
        const SetScore r = score_against_set(x.data(), n, m.name, args.seed);
        table.add_row({m.name, "oracle eps*", std::to_string(n), fmt(r.swd, 4), fmt(r.floor.swd_mean, 4),
                       fmt(r.floor.swd_sd, 4), fmt(r.swd_ratio(), 2), fmt(r.energy, 5), fmt(r.floor.energy_mean, 5)});
        plot::Axes& ax = fig.at(0, column++);
        if (dim == 1) {
            ax.hist(x, 80, plot::with_alpha(plot::palette(2), 170), true, "oracle samples", -3.0f, 3.0f);
            std::vector<float> grid, pdf;
            for (int k = 0; k <= 300; ++k) {
                grid.push_back(-3.0f + 6.0f * k / 300.0f);
                pdf.push_back(float(mixture_pdf_1d(m.gm, grid.back())));
            }
            ax.line(grid, pdf, plot::colors::black, 1.5f, "true density");
        } else {
            std::vector<float> tx, ty, gx, gy;
            for (int i = 0; i < n; ++i) {
                tx.push_back(reference.x[size_t(2 * i)]);
                ty.push_back(reference.x[size_t(2 * i + 1)]);
                gx.push_back(x[size_t(2 * i)]);
                gy.push_back(x[size_t(2 * i + 1)]);
            }
            ax.scatter(tx, ty, plot::with_alpha(plot::colors::gray, 100), 1.5f, "held-out data");
            ax.scatter(gx, gy, plot::with_alpha(plot::palette(2), 130), 1.5f, "oracle samples");
            ax.equal_aspect();
        }
        ax.title(m.name + ": DDPM with eps*");
    }
}

void model_against_oracle(const LessonArgs& args, Table& table, plot::Figure& fig) {
    const std::vector<int> ts = {1, 5, 10, 25, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000};
    const int n = 4000;
    int column = 0;
    for (const MixtureSet& m : mixture_sets()) {
        Trainer tr = lesson03_model(args, m.name);
        EpsModel model = tr.ema_model();
        EpsFunction net = model_eps_function(model);
        const int dim = m.gm.dim;
        const int64_t values = int64_t(n) * dim;
        Dataset x0 = make_dataset(m.name, n, args.seed + kEval);
        std::vector<float> eps(static_cast<size_t>(values)), xt(eps.size()), e_model(eps.size()), e_oracle(eps.size());
        std::vector<float> plot_t, irreducible, model_loss, model_error;
        for (int t : ts) {
            Rng(args.seed, kEval + uint64_t(t)).fill_normal(eps.data(), values);
            q_sample(xt.data(), x0.x.data(), eps.data(), values, tr.schedule, t);
            net(e_model.data(), xt.data(), n, t);
            oracle_eps(e_oracle.data(), xt.data(), n, m.gm, tr.schedule, t);
            double lo = 0, lm = 0, gap = 0;  // per coordinate
            for (int64_t i = 0; i < values; ++i) {
                lo += dmath::square(double(eps[size_t(i)]) - e_oracle[size_t(i)]) / double(values);
                lm += dmath::square(double(eps[size_t(i)]) - e_model[size_t(i)]) / double(values);
                gap += dmath::square(double(e_model[size_t(i)]) - e_oracle[size_t(i)]) / double(values);
            }
            table.add_row({m.name, std::to_string(t), fmt(lo, 4), fmt(lm, 4), fmt(gap, 5)});
            plot_t.push_back(float(t));
            irreducible.push_back(float(lo));
            model_loss.push_back(float(lm));
            model_error.push_back(float(gap));
        }
        plot::Axes& ax = fig.at(0, column++);
        ax.line(plot_t, irreducible, plot::colors::black, 2.0f, "E|eps - eps*|^2 (irreducible)");
        ax.line(plot_t, model_loss, plot::palette(0), 1.8f, "E|eps - eps_theta|^2 (model's loss)");
        ax.line(plot_t, model_error, plot::palette(3), 1.8f, "E|eps_theta - eps*|^2 (model error)");
        ax.logy();
        ax.ylim(1e-5f, 1e3f);  // the curves stay below 2; the decades above them hold the legend
        ax.title(m.name + " (" + std::to_string(tr.step) + " training steps)");
        ax.xlabel("t");
        ax.ylabel("mean squared difference per coordinate");
    }
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "05_oracle");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    Table sampling({"data", "eps", "n", "swd", "swd_floor", "floor_sd", "swd_ratio", "energy", "energy_floor"});
    plot::Figure samples(1, 3, 420, 380);
    samples.suptitle("DDPM sampling with the exact eps* (linear schedule, T = 1000): the sampler alone");
    oracle_sampling(args, sampling, samples);
    sampling.print("Table 5.1: DDPM with the oracle eps* against held-out data (ratio 1 = as good as a true sample)");
    sampling.save_tsv(args.out("oracle_sampling.tsv"));
    samples.save(args.out("oracle_samples.png"));

    Table per_t({"data", "t", "loss_oracle", "loss_model", "model_vs_oracle"});
    plot::Figure curves(1, 3, 460, 380);
    curves.suptitle("Where the trained model (lesson 03, EMA weights) departs from the optimum, per t");
    model_against_oracle(args, per_t, curves);
    per_t.print("Table 5.2: per t, the oracle's loss (the floor of L_simple), the model's loss, and the model's "
                "squared distance to the oracle");
    per_t.save_tsv(args.out("model_vs_oracle.tsv"));
    curves.save(args.out("model_vs_oracle.png"));
    std::fprintf(stderr, "[05_oracle] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("05_oracle", lesson, argc, argv); }
