// Lesson 03: epsilon-prediction training (Ho et al. 2020, Algorithm 1) on 1-D and 2-D toy data.
// Loss curves: raw, smoothed, and per timestep bucket, which explains why the raw curve is noisy.
#include <cmath>
#include <cstdio>

#include "lessonkit/ddpm.h"
#include "lessonkit/evaluate.h"
#include "diffusion/model.h"
#include "lessonkit/plot.h"
#include "diffusion/train.h"

using namespace ddpm;

namespace {

const int kBuckets = 10;  // timestep buckets for the per-t loss

struct Run {
    std::string set;
    std::vector<float> loss;                 // per step
    std::vector<std::vector<double>> bucket_sum, bucket_count;  // [report block][bucket]
};

// Trains one eps-model on one data set, saves its checkpoint, returns its loss history.
Run train_one(const LessonArgs& args, const std::string& set, int steps, Table& summary, Table& buckets) {
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

void plot_run(const LessonArgs& args, const Run& run) {
    plot::Figure fig(1, 3, 440, 340);
    fig.suptitle("Training the eps-model on " + run.set + " (batch 256, Adam 1e-3, linear schedule, T = 1000)");
    std::vector<float> steps, smooth;
    double ema = run.loss.front();
    for (size_t i = 0; i < run.loss.size(); ++i) {
        steps.push_back(float(i + 1));
        ema = 0.98 * ema + 0.02 * run.loss[i];
        smooth.push_back(float(ema));
    }
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

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "03_train");
    std::printf("%s\n", notation_banner());
    const int steps = args.full ? 20000 : kToyQuickSteps;
    Stopwatch clock;
    Table summary({"data", "model", "steps", "first_loss", "final_loss"});
    std::vector<std::string> cols = {"data"};
    for (int b = 0; b < kBuckets; ++b) cols.push_back("t" + std::to_string(b * 100 + 1) + "-" + std::to_string((b + 1) * 100));
    Table buckets(cols);
    for (const std::string set : {"bimodal1d", "two_clusters", "eight_gaussians", "swiss_roll"}) {
        Run run = train_one(args, set, steps, summary, buckets);
        plot_run(args, run);
    }
    summary.print("Table 3.1: training (final_loss: mean over the last 10% of steps)");
    summary.save_tsv(args.out("training.tsv"));
    buckets.print("Table 3.2: mean loss per timestep bucket over the last 20% of steps");
    buckets.save_tsv(args.out("loss_per_bucket.tsv"));
    std::fprintf(stderr, "[03_train] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("03_train", lesson, argc, argv); }
