// plot_demo: draws figures that exercise every call of src/plot/plot.h into out/plot_demo/*.png, checks
// that bad input is handled, that rendering is deterministic, and times the large cases.
//
//   make plot-demo               # then look at out/plot_demo/*.png
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "plot/plot.h"

namespace plt = ddpm::plot;

namespace {

const std::string kDir = "out/plot_demo/";
const float kPi = 3.14159265f;

// ---- deterministic random numbers ----

struct Rng {
    std::mt19937 engine;
    explicit Rng(unsigned seed) : engine(seed) {}
    float uniform() { return (engine() + 0.5f) / 4294967296.0f; }
    float normal() {  // Box-Muller, written out so the demo gives the same numbers everywhere
        float u1 = uniform(), u2 = uniform();
        return std::sqrt(-2.f * std::log(u1)) * std::cos(2.f * kPi * u2);
    }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<unsigned char> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// ---- panels of the main figure ----

// Swiss roll coloured by its angle: per-point colours from viridis, equal aspect.
void swiss_roll_panel(plt::Axes& ax, Rng& rng) {
    std::vector<float> x, y;
    std::vector<plt::Color> c;
    for (int i = 0; i < 3000; ++i) {
        float t = 1.5f * kPi * (1.f + 2.f * rng.uniform());
        x.push_back(t * std::cos(t) / 10.f + 0.05f * rng.normal());
        y.push_back(t * std::sin(t) / 10.f + 0.05f * rng.normal());
        c.push_back(plt::viridis((t - 1.5f * kPi) / (3.f * kPi)));
    }
    ax.scatter(x, y, c, 2.0f);
    ax.equal_aspect();
    ax.title("Swiss roll, coloured by angle");
    ax.xlabel("x\u2081");
    ax.ylabel("x\u2082");
}

// 200 forward-diffusion paths of two clusters: red translucent paths, green start, blue end.
void trajectories_panel(plt::Axes& ax, Rng& rng) {
    const int paths = 200, steps = 100;
    const float beta = 0.03f;
    std::vector<float> start_x, start_y, end_x, end_y;
    for (int p = 0; p < paths; ++p) {
        float cx = p % 2 ? 2.f : -2.f;
        std::vector<float> x = {cx + 0.2f * rng.normal()}, y = {1.f + 0.2f * rng.normal()};
        for (int t = 0; t < steps; ++t) {
            x.push_back(std::sqrt(1 - beta) * x.back() + std::sqrt(beta) * rng.normal());
            y.push_back(std::sqrt(1 - beta) * y.back() + std::sqrt(beta) * rng.normal());
        }
        ax.line(x, y, plt::rgb(210, 40, 40, 40), 1.0f, p == 0 ? "path" : "");
        start_x.push_back(x.front());
        start_y.push_back(y.front());
        end_x.push_back(x.back());
        end_y.push_back(y.back());
    }
    ax.scatter(start_x, start_y, plt::colors::green, 3.0f, "x\u2080 (start)");
    ax.scatter(end_x, end_y, plt::colors::blue, 3.0f, "x\u2081\u2080\u2080 (end)");
    ax.title("Forward process: 200 paths");
    ax.xlabel("x\u2081");
    ax.ylabel("x\u2082");
    ax.equal_aspect();
}

float bimodal_density(float x) {
    auto gauss = [](float v, float mu, float s) {
        return std::exp(-0.5f * (v - mu) * (v - mu) / (s * s)) / (s * std::sqrt(2.f * kPi));
    };
    return 0.3f * gauss(x, -2.f, 0.5f) + 0.7f * gauss(x, 1.5f, 0.8f);
}

// Histogram of samples with the true density overlaid, a dashed mean line and a legend.
void histogram_panel(plt::Axes& ax, Rng& rng) {
    std::vector<float> samples;
    double sum = 0.0;
    for (int i = 0; i < 20000; ++i) {
        float v = rng.uniform() < 0.3f ? -2.f + 0.5f * rng.normal() : 1.5f + 0.8f * rng.normal();
        samples.push_back(v);
        sum += v;
    }
    samples.push_back(NAN);  // skipped
    samples.push_back(INFINITY);
    std::vector<float> xs, pdf;
    for (int i = 0; i <= 300; ++i) {
        xs.push_back(-5.f + 10.f * i / 300.f);
        pdf.push_back(bimodal_density(xs.back()));
    }
    ax.hist(samples, 60, plt::with_alpha(plt::palette(0), 140), true, "samples (n = 20000)");
    ax.line(xs, pdf, plt::colors::black, 1.8f, "true density");
    ax.vline(static_cast<float>(sum / 20000), plt::colors::orange, 1.5f, true, "sample mean");
    ax.title("Bimodal data: histogram vs density");
    ax.xlabel("x");
    ax.ylabel("density");
}

// A noisy loss curve on a log axis, raw and smoothed, with a reference level.
void loss_panel(plt::Axes& ax, Rng& rng) {
    std::vector<float> step, raw, smooth;
    float ema = 0.f;
    for (int i = 0; i < 3000; ++i) {
        float clean = 0.02f + 2.f * std::exp(-i / 300.f);
        float loss = clean * std::exp(0.4f * rng.normal());
        ema = i == 0 ? loss : 0.98f * ema + 0.02f * loss;
        step.push_back(static_cast<float>(i));
        raw.push_back(loss);
        smooth.push_back(ema);
    }
    raw[100] = -1.f;  // a non-positive value: skipped on a log axis
    ax.line(step, raw, plt::with_alpha(plt::palette(0), 70), 1.0f, "raw loss");
    ax.line(step, smooth, plt::palette(1), 2.0f, "EMA (0.98)");
    ax.hline(0.02f, plt::colors::gray, 1.0f, true, "noise floor");
    ax.logy();
    ax.title("Training loss (log scale)");
    ax.xlabel("step");
    ax.ylabel("L_simple");
}

// A 28 x 28 grayscale picture: a ring with a bar.
std::vector<float> ring_image(float phase) {
    std::vector<float> img(28 * 28);
    for (int y = 0; y < 28; ++y) {
        for (int x = 0; x < 28; ++x) {
            float r = std::hypot(x - 13.5f, y - 13.5f);
            float ring = std::exp(-0.5f * (r - 8.f) * (r - 8.f) / 2.f);
            float bar = std::fabs(x - 13.5f - 6.f * std::sin(phase)) < 1.5f && y > 6 && y < 22 ? 1.f : 0.f;
            img[y * 28 + x] = std::min(1.f, ring + bar);
        }
    }
    return img;
}

// alpha_bar of a linear and a cosine schedule, with fixed limits and a NaN gap in one curve.
void schedule_panel(plt::Axes& ax) {
    const int T = 1000;
    std::vector<float> t, linear, cosine;
    double prod = 1.0;
    for (int i = 1; i <= T; ++i) {
        prod *= 1.0 - (1e-4 + (0.02 - 1e-4) * (i - 1) / (T - 1));
        double f = std::cos((i / double(T) + 0.008) / 1.008 * kPi / 2), f0 = std::cos(0.008 / 1.008 * kPi / 2);
        t.push_back(static_cast<float>(i));
        linear.push_back(static_cast<float>(prod));
        cosine.push_back(static_cast<float>(f * f / (f0 * f0)));
    }
    for (int i = 480; i < 520; ++i) cosine[i] = NAN;  // breaks the curve, never crashes
    ax.line(t, linear, plt::palette(0), 2.0f, "linear 1e\u22124..0.02");
    ax.line(t, cosine, plt::palette(2), 2.0f, "cosine s = 0.008");
    ax.hline(0.5f, plt::colors::gray, 1.0f, true);
    ax.xlim(0, 1000);
    ax.ylim(0, 1.05f);
    ax.title("\u1fb1_t for two schedules");  // alpha with macron
    ax.xlabel("t");
    ax.ylabel("\u1fb1_t");
}

void main_figure(Rng& rng) {
    plt::Figure fig(2, 3);
    fig.suptitle("plot_demo: every call of src/plot/plot.h");
    swiss_roll_panel(fig.at(0, 0), rng);
    trajectories_panel(fig.at(0, 1), rng);
    histogram_panel(fig.at(0, 2), rng);
    loss_panel(fig.at(1, 0), rng);
    std::vector<float> img = ring_image(0.6f);
    fig.at(1, 1).image(img.data(), 28, 28);
    fig.at(1, 1).title("An image panel (28 x 28)");
    fig.at(1, 1).xlabel("ring and bar, values 0..1");
    schedule_panel(fig.at(1, 2));
    fig.save(kDir + "main.png");
}

// ---- edge cases: empty, extreme and awkward ranges ----

void edge_figure() {
    plt::Figure fig(2, 3, 360, 300);
    fig.at(0, 0).title("Empty panel");
    fig.at(0, 0).scatter({}, {}, plt::colors::red, 2.f, "nothing");
    fig.at(0, 0).hist({}, 10, plt::colors::blue);

    std::vector<float> x, big, tiny, neg;
    for (int i = 0; i <= 50; ++i) {
        x.push_back(i * 2e4f);
        big.push_back(i * i * 80.f + 1.f);
        tiny.push_back(3e-5f * std::sin(i * 0.3f));
        neg.push_back(-i * 0.37f);
    }
    fig.at(0, 1).line(x, big, plt::palette(3), 1.5f);
    fig.at(0, 1).title("Large x values");
    fig.at(0, 1).xlabel("x");
    fig.at(0, 1).ylabel("y");
    fig.at(0, 2).line(neg, tiny, plt::palette(4), 1.5f);
    fig.at(0, 2).title("Tiny y, negative x");
    fig.at(0, 2).xlabel("x");
    fig.at(0, 2).ylabel("y");

    fig.at(1, 0).scatter({1.f, NAN, 2.f, INFINITY}, {3.f, 4.f, NAN, 5.f}, plt::colors::red, 5.f, "one finite point");
    fig.at(1, 0).title("A single finite point");
    std::vector<float> decades_x, decades_y;
    for (int i = 0; i <= 40; ++i) {
        decades_x.push_back(static_cast<float>(i));
        decades_y.push_back(std::pow(10.f, -12.f + i * 0.5f));
    }
    fig.at(1, 1).line(decades_x, decades_y, plt::palette(0), 1.5f);
    fig.at(1, 1).logy();
    fig.at(1, 1).title("20 decades on a log axis");
    fig.at(1, 2).hist({0.5f, 0.5f, 0.5f}, 5, plt::palette(1), false, "three equal values");
    fig.at(1, 2).hline(2.f, plt::colors::black, 2.f, false, "solid hline");
    fig.at(1, 2).title("Counts, constant data");
    fig.at(1, 2).ylabel("count");
    fig.save(kDir + "edge.png");
}

// Small panels: layout must still leave every label readable.
void small_figure() {
    plt::Figure fig(2, 2, 240, 200);
    std::vector<float> x, y1, y2;
    for (int i = 0; i <= 100; ++i) {
        x.push_back(i * 0.01f);
        y1.push_back(0.0012f + 0.0003f * std::sin(i * 0.2f));
        y2.push_back(3.f + std::cos(i * 0.1f));
    }
    fig.at(0, 0).line(x, y1, plt::palette(0));
    fig.at(0, 0).title("Small panel, 4-digit labels");
    fig.at(0, 0).xlabel("fraction of training");
    fig.at(0, 0).ylabel("learning rate");
    for (int k = 0; k < 5; ++k) {
        std::vector<float> yk;
        for (float v : y2) yk.push_back(v + k);
        fig.at(0, 1).line(x, yk, plt::palette(k), 1.5f, "series " + std::to_string(k));
    }
    fig.at(0, 1).title("Five labelled series");
    fig.at(1, 0).line(x, y2, plt::palette(2));
    fig.at(1, 0).logy();
    fig.at(1, 0).ylim(2.f, 5.f);
    fig.at(1, 0).title("ylim inside one decade");
    fig.at(1, 1).scatter(y2, y2, plt::palette(3), 3.f);
    fig.at(1, 1).xlim(2.5f, 3.5f);
    fig.at(1, 1).title("xlim cuts the data");
    fig.save(kDir + "small.png");

    plt::Figure tiny(1, 2, 50, 50);  // margins larger than the panel: must not crash
    tiny.at(0, 0).line(x, y1, plt::palette(0), 1.5f, "a legend that does not fit");
    tiny.at(0, 0).title("a title far too long for the panel");
    tiny.at(0, 0).xlabel("x label");
    tiny.at(0, 0).ylabel("y label");
    tiny.at(0, 1).hist(y2, 10, plt::palette(1));
    tiny.save(kDir + "tiny.png");
}

// ---- image grids ----

void grids() {
    const int n = 15, h = 28, w = 28;
    std::vector<float> gray(n * h * w);
    for (int i = 0; i < n; ++i) {
        std::vector<float> img = ring_image(i * 0.4f);
        Rng rng(100 + i);
        float noise = (i % 5) * 0.25f;  // columns: more noise to the right, as in a forward process
        for (int p = 0; p < h * w; ++p) gray[i * h * w + p] = img[p] + noise * rng.normal();
    }
    gray[3 * h * w + 5 * w + 5] = NAN;  // shows red
    plt::save_image_grid(kDir + "grid_gray.png", gray.data(), n, 1, h, w, 5, 0.f, 1.f, 2,
                         {"image 1", "image 2", "image 3"}, {"t = 0", "t = 10", "t = 50", "t = 100", "t = 500"});

    std::vector<float> color(6 * 3 * 16 * 16);
    for (int i = 0; i < 6; ++i)
        for (int ch = 0; ch < 3; ++ch)
            for (int p = 0; p < 256; ++p)
                color[((i * 3 + ch) * 256) + p] = ch == i % 3 ? (p % 16) / 15.f : (p / 16) / 15.f * (i / 3);
    plt::save_image_grid(kDir + "grid_rgb.png", color.data(), 6, 3, 16, 16, 3, 0.f, 1.f, 4);
}

// ---- checks: errors, determinism, speed ----

int expect_error(const char* what, void (*call)()) {
    try {
        call();
    } catch (const std::runtime_error& e) {
        std::printf("ok   %-28s -> %s\n", what, e.what());
        return 0;
    }
    std::printf("FAIL %-28s -> no exception\n", what);
    return 1;
}

int check_errors() {
    int failures = 0;
    failures += expect_error("mismatched x/y", [] {
        plt::Figure(1, 1).at(0, 0).line({1, 2, 3}, {1, 2}, plt::colors::red);
    });
    failures += expect_error("mismatched colours", [] {
        plt::Figure(1, 1).at(0, 0).scatter({1, 2}, {1, 2}, std::vector<plt::Color>{plt::colors::red});
    });
    failures += expect_error("panel out of range", [] { plt::Figure(2, 2).at(2, 0); });
    failures += expect_error("unwritable path", [] { plt::Figure(1, 1).save("/proc/plot_demo/x.png"); });
    failures += expect_error("grid label count", [] {
        std::vector<float> img(4 * 4 * 4, 0.5f);
        plt::save_image_grid(kDir + "bad.png", img.data(), 4, 1, 4, 4, 2, 0.f, 1.f, 2, {"only one"});
    });
    return failures;
}

int check_determinism(Rng& rng) {
    (void)rng;
    Rng a(7), b(7);
    main_figure(a);
    std::vector<unsigned char> first = file_bytes(kDir + "main.png");
    main_figure(b);
    bool same = first == file_bytes(kDir + "main.png");
    std::printf("%s same input gives the same bytes (%zu bytes)\n", same ? "ok  " : "FAIL", first.size());
    return same ? 0 : 1;
}

void time_large_cases() {
    Rng rng(3);
    std::vector<float> x(100000), y(100000);
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = rng.normal();
        y[i] = 0.5f * x[i] + rng.normal();
    }
    auto start = std::chrono::steady_clock::now();
    plt::Figure points(1, 1, 600, 500);
    points.at(0, 0).scatter(x, y, plt::rgb(40, 110, 190, 30), 1.5f);
    points.at(0, 0).title("100,000 points, alpha 30/255");
    points.save(kDir + "perf_points.png");
    std::fprintf(stderr, "100k points: %.3f s\n", seconds_since(start));

    start = std::chrono::steady_clock::now();
    plt::Figure paths(1, 1, 600, 500);
    for (int p = 0; p < 2000; ++p) {
        std::vector<float> px = {rng.normal()}, py = {rng.normal()};
        for (int t = 0; t < 100; ++t) {
            px.push_back(0.98f * px.back() + 0.2f * rng.normal());
            py.push_back(0.98f * py.back() + 0.2f * rng.normal());
        }
        paths.at(0, 0).line(px, py, plt::rgb(90, 90, 90, 12), 1.0f, p == 0 ? "2,000 paths" : "");
    }
    paths.at(0, 0).title("2,000 paths of 100 segments, alpha 12/255");
    paths.at(0, 0).equal_aspect();
    paths.save(kDir + "perf_paths.png");
    std::fprintf(stderr, "2000 paths x 100 segments: %.3f s\n", seconds_since(start));
}

}  // namespace

int main() {
    try {
        Rng rng(7);
        main_figure(rng);
        edge_figure();
        small_figure();
        grids();
        int failures = check_errors() + check_determinism(rng);
        time_large_cases();
        std::printf("%s\n", failures == 0 ? "all checks passed" : "some checks FAILED");
        return failures == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "plot_demo: %s\n", e.what());
        return 1;
    }
}
