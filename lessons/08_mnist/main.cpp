// Lesson 08: MNIST. The forward process on real images and the corruption it does, measured
// beside its closed form ([004] Q3, Fig. 1-3); the metrics that [003]'s tables use, on cases whose
// answers are known.
#include <cmath>
#include <cstdio>

#include "diffusion/image_metrics.h"
#include "lessonkit/ddpm.h"
#include "lessonkit/mnist.h"
#include "lessonkit/plot.h"

using namespace ddpm;

namespace {

enum Stream : uint64_t { kForwardNoise = 1, kMetricNoise = 2 };

// mean of x^2 over one image: what the closed form of the MSE needs
double mean_square(const float* x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * x[i];
    return s / double(n);
}

// eq. (8.1): E |x_t - x_0|^2 / D = (1 - sqrt(alpha_bar_t))^2 |x_0|^2 / D + (1 - alpha_bar_t),
// since x_t - x_0 = (sqrt(alpha_bar_t) - 1) x_0 + sqrt(1 - alpha_bar_t) eps with E eps = 0, E eps^2 = 1.
double mse_closed_form(double x0_mean_square, const Schedule& s, int t) {
    const double ab = s.alpha_bar[size_t(t)];
    return dmath::square(1.0 - std::sqrt(ab)) * x0_mean_square + (1.0 - ab);
}

// ---- 1. the forward process on five test images ---------------------------------------------
void forward_on_images(const LessonArgs& args, const ImageSet& test) {
    const Schedule s = linear_schedule(1000);
    const int n_show = 5, D = int(test.image_size());
    const int ts[] = {0, 10, 50, 100, 500};
    const int n_t = 5;
    // one noise image per test image, the same at every t: x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps
    std::vector<float> eps(size_t(n_show) * D);
    Rng(args.seed, kForwardNoise).fill_normal(eps.data(), int64_t(eps.size()));
    std::vector<float> grid(size_t(n_show) * n_t * D);
    Table table({"image", "label", "t", "alpha_bar_t", "mse", "mse_closed_form"});
    for (int i = 0; i < n_show; ++i) {
        const float* x0 = test.image(i);
        const double m2 = mean_square(x0, D);
        for (int k = 0; k < n_t; ++k) {
            float* xt = grid.data() + (int64_t(i) * n_t + k) * D;
            q_sample(xt, x0, eps.data() + int64_t(i) * D, D, s, ts[k]);
            double mse = 0.0;
            for (int p = 0; p < D; ++p) mse += dmath::square(double(xt[p]) - x0[p]) / D;
            table.add_row({std::to_string(i), std::to_string(test.labels[size_t(i)]), std::to_string(ts[k]),
                           fmt(s.alpha_bar[size_t(ts[k])], 5), fmt(mse, 4), fmt(mse_closed_form(m2, s, ts[k]), 4)});
        }
    }
    table.print("Table 8.1: x_t of five test images (linear schedule, T = 1000, pixels in [-1, 1]); MSE(x_t, x_0) "
                "against its expectation, eq. (8.1)");
    table.save_tsv(args.out("forward_mse.tsv"));
    std::vector<std::string> rows, cols;
    for (int i = 0; i < n_show; ++i) rows.push_back("digit " + std::to_string(test.labels[size_t(i)]));
    for (int t : ts) cols.push_back("t = " + std::to_string(t));
    plot::save_image_grid(args.out("forward_images.png"), grid.data(), n_show * n_t, 1, test.h, test.w, n_t, -1.0f,
                          1.0f, 3, rows, cols);

    // MSE at every t from 0 to T: each of the five images, the mean over 1,000 test images, and the
    // closed form of that mean, for the linear and the cosine schedule
    const int n_mean = 1000;
    std::vector<float> eps_many(size_t(n_mean) * D), xt(static_cast<size_t>(D));
    Rng(args.seed, kForwardNoise + 10).fill_normal(eps_many.data(), int64_t(eps_many.size()));
    plot::Figure fig(1, 2, 520, 380);
    fig.suptitle("MSE(x_t, x_0) against t: five test images, the mean over 1000, and eq. (8.1)");
    Table summary({"schedule", "t", "mse_mean_1000", "closed_form", "rel_diff"});
    int panel = 0;
    for (const Schedule& sched : {linear_schedule(1000), cosine_schedule(1000)}) {
        plot::Axes& ax = fig.at(0, panel++);
        std::vector<float> tx;
        for (int t = 0; t <= sched.T; ++t) tx.push_back(float(t));
        std::vector<float> mean(tx.size(), 0.0f), closed(tx.size(), 0.0f);
        std::vector<double> m2(static_cast<size_t>(n_mean));
        for (int i = 0; i < n_mean; ++i) m2[size_t(i)] = mean_square(test.image(i), D);
        for (int t = 0; t <= sched.T; ++t) {
            double sum = 0.0, cf = 0.0;
            for (int i = 0; i < n_mean; ++i) {
                q_sample(xt.data(), test.image(i), eps_many.data() + int64_t(i) * D, D, sched, t);
                double mse = 0.0;
                for (int p = 0; p < D; ++p) mse += dmath::square(double(xt[size_t(p)]) - test.image(i)[p]) / D;
                sum += mse / n_mean;
                cf += mse_closed_form(m2[size_t(i)], sched, t) / n_mean;
            }
            mean[size_t(t)] = float(sum);
            closed[size_t(t)] = float(cf);
            if (t == 10 || t == 100 || t == 500 || t == 1000)
                summary.add_row({sched.name, std::to_string(t), fmt(sum, 4), fmt(cf, 4), fmt_sci((sum - cf) / cf, 1)});
        }
        for (int i = 0; i < n_show; ++i) {
            std::vector<float> one;
            for (int t = 0; t <= sched.T; ++t) {
                q_sample(xt.data(), test.image(i), eps.data() + int64_t(i) * D, D, sched, t);
                double mse = 0.0;
                for (int p = 0; p < D; ++p) mse += dmath::square(double(xt[size_t(p)]) - test.image(i)[p]) / D;
                one.push_back(float(mse));
            }
            ax.line(tx, one, plot::with_alpha(plot::palette(i), 150), 1.0f, i == 0 ? "five test images" : "");
        }
        ax.line(tx, mean, plot::colors::black, 2.0f, "mean of 1000");
        ax.line(tx, closed, plot::colors::red, 1.5f, "eq. (8.1)");
        ax.title(sched.name + " schedule");
        ax.xlabel("t");
        ax.ylabel("MSE(x_t, x_0)");
    }
    fig.save(args.out("mse_vs_t.png"));
    summary.print("Table 8.2: the mean MSE over 1000 test images against eq. (8.1) averaged over the same images");
    summary.save_tsv(args.out("forward_mse_mean.tsv"));
}

// ---- 2. metrics on known cases -----------------------------------------------------------------
// What [003]'s Table 1 columns mean, on a test image and corrupted copies of it.
void metrics_on_known_cases(const LessonArgs& args, const ImageSet& test) {
    const int D = int(test.image_size());
    const float* x = test.image(0);
    std::vector<float> noise(static_cast<size_t>(D));
    Rng(args.seed, kMetricNoise).fill_normal(noise.data(), D);
    Table t({"copy", "rmse", "psnr_db", "ssim"});
    auto row = [&](const std::string& name, const std::vector<float>& y) {
        const double p = psnr(x, y.data(), D, 2.0);
        t.add_row({name, fmt(rmse(x, y.data(), D), 4), std::isinf(p) ? "inf" : fmt(p, 2),
                   fmt(ssim(x, y.data(), test.h, test.w, 2.0), 4)});
    };
    std::vector<float> y(x, x + D);
    row("itself", y);
    for (float sigma : {0.05f, 0.2f, 0.5f}) {
        for (int p = 0; p < D; ++p) y[size_t(p)] = x[p] + sigma * noise[size_t(p)];
        row("+ noise, sd " + fmt(sigma, 2), y);
    }
    for (int p = 0; p < D; ++p) y[size_t(p)] = x[p] + 0.2f;
    row("+ 0.2 everywhere", y);
    for (int p = 0; p < D; ++p) y[size_t(p)] = -1.0f;
    row("blank (all -1)", y);
    t.print("Table 8.3: RMSE, PSNR (data range 2) and SSIM (11x11 Gaussian window, sigma 1.5) of a test image "
            "against copies of it");
    t.save_tsv(args.out("metrics_known.tsv"));
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "08_mnist");
    std::printf("%s\n", notation_banner());
    Stopwatch clock;
    const ImageSet test = load_mnist("test");
    std::fprintf(stderr, "  MNIST test set: %d images of %d x %d\n", test.n, test.h, test.w);
    forward_on_images(args, test);
    metrics_on_known_cases(args, test);
    std::fprintf(stderr, "[08_mnist] done in %.1f s\n", clock.seconds());
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("08_mnist", lesson, argc, argv); }
