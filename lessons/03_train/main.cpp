// Lesson 03: epsilon-prediction training (Ho et al. 2020, Algorithm 1) on 1-D and 2-D toy data.
// Loss curves: raw, smoothed, and per timestep bucket, which explains why the raw curve is noisy.
#include <cmath>
#include <cstdio>

#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "nets/eps_mlp.h"
#include "diffusion/sampler.h"
#include "plot/plot.h"
#include "diffusion/train.h"
#include "store/trainer_checkpoint.h"

using namespace ddpm;

namespace {

const int kBuckets = 10;  // timestep buckets for the per-t loss

// Samples drawn with the EMA weights at a few steps of training ([000] figure 4).
struct Snapshot {
    int step = 0;
    std::vector<float> x;  // (kSnapshotRows, dim)
    SetScore score;
};
const int kSnapshotRows = 1000;

struct Run {
    std::string set;
    std::vector<float> loss;                 // per step
    std::vector<std::vector<double>> bucket_sum, bucket_count;  // [report block][bucket]
    std::vector<Snapshot> snapshots;         // when asked for
};

// The same x_T for every snapshot (stream kSnapshotStart), so that only the weights differ.
enum Stream : uint64_t { kSnapshotStart = 60 };

Snapshot draw_snapshot(const LessonArgs& args, const Trainer& trainer, const std::string& set, int step) {
    const EpsModel model = trainer.ema_model();
    const int dim = model.config.dim;
    Snapshot snap;
    snap.step = step;
    snap.x.resize(size_t(kSnapshotRows) * dim);
    Rng(args.seed, kSnapshotStart).fill_normal(snap.x.data(), int64_t(snap.x.size()));
    SampleOptions o;
    o.seed = args.seed;
    ddpm_sample(snap.x.data(), kSnapshotRows, dim, trainer.schedule, model_eps_function(model), o);
    snap.score = score_against_set(snap.x.data(), kSnapshotRows, set, args.seed);
    return snap;
}

// Trains one eps-model on one data set, saves its checkpoint, returns its loss history; samples with
// the EMA weights after each step in snapshot_steps (drawing samples does not touch the training).
Run train_one(const LessonArgs& args, const std::string& set, int steps, Table& summary, Table& buckets,
              const std::vector<int>& snapshot_steps = {}) {
    Dataset data = make_dataset(set, kToyRows, args.seed);
    Trainer trainer = toy_trainer(data, args.seed);  // lessonkit/evaluate.h: the recipe lessons 04-07 reuse
    Run run;
    run.set = set;
    const int block = std::max(1, steps / 20);  // per-bucket losses averaged over blocks of steps
    Stopwatch clock;
    for (int step = 0; step < steps; ++step) {
        StepStats st = trainer.train_step(data.x.data(), data.n());
        run.loss.push_back(st.loss);
        if (step % block == 0) {
            run.bucket_sum.emplace_back(kBuckets, 0.0);
            run.bucket_count.emplace_back(kBuckets, 0.0);
        }
        for (size_t b = 0; b < st.t.size(); ++b) {
            const int bucket = (st.t[b] - 1) * kBuckets / trainer.schedule.T;
            run.bucket_sum.back()[size_t(bucket)] += st.row_loss[b];
            run.bucket_count.back()[size_t(bucket)] += 1;
        }
        for (int at : snapshot_steps)
            if (step + 1 == at) run.snapshots.push_back(draw_snapshot(args, trainer, set, at));
        if ((step + 1) % 1000 == 0)
            std::fprintf(stderr, "  %s: step %d/%d  loss %.4f  %.0f steps/s\n", set.c_str(), step + 1, steps, st.loss,
                         (step + 1) / clock.seconds());
    }
    // summary: the mean loss over the last 10% of steps, and the per-bucket losses over the last 20%
    const int tail = std::max(1, steps / 10);
    double last = 0.0;
    for (int i = steps - tail; i < steps; ++i) last += run.loss[size_t(i)] / tail;
    summary.add_row({set, describe(trainer.model.config), std::to_string(steps), fmt(run.loss.front(), 4), fmt(last, 4)});
    std::vector<std::string> row = {set};
    const size_t blocks = run.bucket_sum.size(), from = blocks - std::max<size_t>(1, blocks / 5);
    for (int b = 0; b < kBuckets; ++b) {
        double s = 0, c = 0;
        for (size_t k = from; k < blocks; ++k) {
            s += run.bucket_sum[k][size_t(b)];
            c += run.bucket_count[k][size_t(b)];
        }
        row.push_back(fmt(c > 0 ? s / c : 0.0, 3));
    }
    buckets.add_row(row);
    const std::string ckpt = args.out(set + ".ckpt");
    save_checkpoint(ckpt, trainer_checkpoint(trainer));
    std::fprintf(stderr, "  %s: %d steps in %.1f s, wrote %s\n", set.c_str(), steps, clock.seconds(), ckpt.c_str());
    return run;
}

// The step numbers 1..n and the loss smoothed by an exponential moving average (weight 0.02 on
// each new step): the curve that the raw, noisy per-batch loss hides.
void smoothed_loss(const std::vector<float>& loss, std::vector<float>& steps, std::vector<float>& smooth) {
    double ema = loss.front();
    for (size_t i = 0; i < loss.size(); ++i) {
        steps.push_back(float(i + 1));
        ema = 0.98 * ema + 0.02 * loss[i];
        smooth.push_back(float(ema));
    }
}

void plot_run(const LessonArgs& args, const Run& run) {
    plot::Figure fig(1, 3, 440, 340);
    fig.suptitle("Training the eps-model on " + run.set + " (batch 256, Adam 1e-3, linear schedule, T = 1000)");
    std::vector<float> steps, smooth;
    smoothed_loss(run.loss, steps, smooth);
    plot::Axes& a = fig.at(0, 0);
    a.line(steps, run.loss, plot::with_alpha(plot::palette(0), 90), 1.0f, "raw loss (one batch)");
    a.line(steps, smooth, plot::palette(1), 2.0f, "smoothed (EMA 0.98)");
    a.logy();
    a.title("L_simple per step");
    a.xlabel("step");
    a.ylabel("loss (log scale)");

    // the loss at the end, per bucket of t: small t is hard (x_t is nearly x_0, the noise is faint)
    const size_t blocks = run.bucket_sum.size(), from = blocks - std::max<size_t>(1, blocks / 5);
    std::vector<float> centre, final_loss;
    for (int b = 0; b < kBuckets; ++b) {
        double s = 0, c = 0;
        for (size_t k = from; k < blocks; ++k) {
            s += run.bucket_sum[k][size_t(b)];
            c += run.bucket_count[k][size_t(b)];
        }
        centre.push_back(float((b + 0.5) * 1000.0 / kBuckets));
        final_loss.push_back(float(c > 0 ? s / c : 0.0));
    }
    plot::Axes& bx = fig.at(0, 1);
    bx.line(centre, final_loss, plot::palette(2), 2.0f);
    bx.scatter(centre, final_loss, plot::palette(2), 4.0f);
    bx.title("loss per t bucket (last 20% of steps)");
    bx.xlabel("t");
    bx.ylabel("mean loss in bucket");
    bx.logy();

    plot::Axes& cx = fig.at(0, 2);
    for (int b : {0, 2, 5, 9}) {
        std::vector<float> xs, ys;
        for (size_t k = 0; k < blocks; ++k)
            if (run.bucket_count[k][size_t(b)] > 0) {
                xs.push_back(float(k * (run.loss.size() / blocks)));
                ys.push_back(float(run.bucket_sum[k][size_t(b)] / run.bucket_count[k][size_t(b)]));
            }
        char label[48];
        std::snprintf(label, sizeof label, "t in [%d, %d]", b * 100 + 1, (b + 1) * 100);
        cx.line(xs, ys, plot::palette(3 + b), 1.8f, label);
    }
    cx.title("per-bucket loss during training");
    cx.xlabel("step");
    cx.ylabel("mean loss in bucket");
    cx.logy();
    fig.save(args.out("loss_" + run.set + ".png"));
}

// [000] figure 4: the loss curve beside samples drawn during training, and Table 3.3.
void plot_snapshots(const LessonArgs& args, const Run& run, Table& table) {
    plot::Figure fig(1, int(run.snapshots.size()) + 1, 300, 300);
    fig.suptitle("Training on " + run.set + ": the loss (left) and " + std::to_string(kSnapshotRows) +
                 " samples of the EMA model at the marked steps, all from the same x_T (DDPM, 1000 steps)");
    std::vector<float> steps, smooth;
    smoothed_loss(run.loss, steps, smooth);
    plot::Axes& a = fig.at(0, 0);
    a.line(steps, run.loss, plot::with_alpha(plot::palette(0), 70), 1.0f);
    a.line(steps, smooth, plot::palette(1), 2.0f, "smoothed loss");
    for (const Snapshot& snap : run.snapshots) a.vline(float(snap.step), plot::colors::gray, 1.0f, true);
    a.logy();
    a.title("L_simple; dashed: sample steps");
    a.xlabel("step");
    a.ylabel("loss (log scale)");
    const Dataset data = make_dataset(run.set, kSnapshotRows, args.seed + kHeldOut);
    std::vector<float> dx, dy;
    for (int i = 0; i < data.n(); ++i) {
        dx.push_back(data.x[size_t(2 * i)]);
        dy.push_back(data.x[size_t(2 * i + 1)]);
    }
    for (size_t k = 0; k < run.snapshots.size(); ++k) {
        const Snapshot& snap = run.snapshots[k];
        std::vector<float> xs, ys;
        for (int i = 0; i < kSnapshotRows; ++i) {
            xs.push_back(snap.x[size_t(2 * i)]);
            ys.push_back(snap.x[size_t(2 * i + 1)]);
        }
        plot::Axes& ax = fig.at(0, int(k) + 1);
        ax.scatter(dx, dy, plot::with_alpha(plot::colors::gray, 90), 1.3f);
        ax.scatter(xs, ys, plot::with_alpha(plot::palette(1), 150), 1.3f);
        ax.xlim(-3.5f, 3.5f);
        ax.ylim(-3.5f, 3.5f);
        ax.equal_aspect();
        char title[96];
        std::snprintf(title, sizeof title, "step %d: SWD ratio %.2f", snap.step, snap.score.swd_ratio());
        ax.title(title);
        ax.xlabel("first coordinate (grey: data)");
        ax.ylabel("second coordinate");
        // the loss around this step: the mean of the 100 steps before it
        double loss = 0;
        const int from = std::max(0, snap.step - 100);
        for (int i = from; i < snap.step; ++i) loss += run.loss[size_t(i)] / (snap.step - from);
        table.add_row({run.set, std::to_string(snap.step), fmt(loss, 4), fmt(snap.score.swd, 4),
                       fmt(snap.score.floor.swd_mean, 4), fmt(snap.score.floor.swd_sd, 4), fmt(snap.score.swd_ratio(), 2)});
    }
    fig.save(args.out("samples_during_training.png"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "03_train");
    std::printf("%s\n", notation_banner());
    const int steps = args.full ? 20000 : kToyQuickSteps;
    Stopwatch clock;
    Table summary({"data", "model", "steps", "first_loss", "final_loss"});
    std::vector<std::string> cols = {"data"};
    for (int b = 0; b < kBuckets; ++b) cols.push_back("t" + std::to_string(b * 100 + 1) + "-" + std::to_string((b + 1) * 100));
    Table buckets(cols);
    // [000] figure 4: samples during training, for the swiss roll, at 1/30, 1/10, 1/3 and all of the steps
    Table during({"data", "step", "loss_last_100", "swd", "swd_floor", "floor_sd", "swd_ratio"});
    const std::vector<int> snapshot_steps = {steps / 30, steps / 10, steps / 3, steps};
    for (const std::string set : {"bimodal1d", "two_clusters", "eight_gaussians", "swiss_roll"}) {
        Run run = train_one(args, set, steps, summary, buckets, set == "swiss_roll" ? snapshot_steps : std::vector<int>{});
        plot_run(args, run);
        if (!run.snapshots.empty()) plot_snapshots(args, run, during);
    }
    summary.print("Table 3.1: training (final_loss: mean over the last 10% of steps)");
    summary.save_tsv(args.out("training.tsv"));
    buckets.print("Table 3.2: mean loss per timestep bucket over the last 20% of steps");
    buckets.save_tsv(args.out("loss_per_bucket.tsv"));
    during.print("Table 3.3: samples drawn during training ([000] figure 4), 1000 from one x_T against held-out data "
                 "(floor: mean and sd over 10 true samples)");
    during.save_tsv(args.out("samples_during_training.tsv"));
    std::fprintf(stderr, "[03_train] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("03_train", lesson, argc, argv); }
