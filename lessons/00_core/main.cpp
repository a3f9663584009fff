// Lesson 00: the core. A tensor, its gradient, a check of every gradient by finite differences,
// the thread pool's promise (same bits for any thread count), and a first fit.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "lessonkit/ddpm.h"
#include "plot/plot.h"

using namespace ddpm;

namespace {

// ---- 1. a tiny graph, by hand ---------------------------------------------------------------
// y = sum(gelu(x W + b)): print the values and the gradients that backward() produces.
void tiny_graph() {
    Tensor x = Tensor::from(Shape{2, 3}, {1.0f, -1.0f, 0.5f, 0.0f, 2.0f, -0.5f});
    Tensor W = Tensor::from(Shape{3, 2}, {0.2f, -0.4f, 0.1f, 0.3f, -0.5f, 0.6f}, true);
    Tensor b = Tensor::from(Shape{2}, {0.05f, -0.05f}, true);
    Tensor y = sum(gelu(linear(x, W, b)));
    backward(y);
    Table t({"tensor", "index", "value", "grad"});
    t.add_row({"y", "0", fmt(y.item()), "1"});
    for (int i = 0; i < 6; ++i) t.add_row({"W", std::to_string(i), fmt(W.data()[i]), fmt(W.grad()[i])});
    for (int i = 0; i < 2; ++i) t.add_row({"b", std::to_string(i), fmt(b.data()[i]), fmt(b.grad()[i])});
    t.print("Table 0.1: y = sum(gelu(x W + b)) and dy/dW, dy/db from backward()");
}

// ---- 2. the gradient check of every differentiable op -----------------------------------------
Tensor randn(Shape shape, uint64_t stream, float std = 1.0f) {
    Tensor t = Tensor::zeros(shape, true);
    Rng rng(7, stream);
    rng.fill_normal(t.data(), t.numel(), 0.0f, std);
    return t;
}

struct OpCase {
    const char* op;
    GradFunction f;
    std::vector<Tensor> inputs;
};

bool gradcheck_all(const LessonArgs& args) {
    Tensor relu_input = randn(Shape{4, 5}, 8);
    for (int64_t i = 0; i < relu_input.numel(); ++i)  // keep ReLU's inputs away from its kink at 0
        relu_input.data()[i] += relu_input.data()[i] >= 0 ? 0.1f : -0.1f;
    std::vector<OpCase> cases = {
        {"add", [](const std::vector<Tensor>& in) { return add(in[0], in[1]); }, {randn(Shape{3, 4}, 1), randn(Shape{3, 4}, 2)}},
        {"sub", [](const std::vector<Tensor>& in) { return sub(in[0], in[1]); }, {randn(Shape{3, 4}, 3), randn(Shape{3, 4}, 4)}},
        {"mul", [](const std::vector<Tensor>& in) { return mul(in[0], in[1]); }, {randn(Shape{3, 4}, 5), randn(Shape{3, 4}, 6)}},
        {"scale", [](const std::vector<Tensor>& in) { return scale(in[0], -1.5f); }, {randn(Shape{6}, 7)}},
        {"matmul", [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {randn(Shape{3, 5}, 9), randn(Shape{5, 4}, 10)}},
        {"linear", [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
         {randn(Shape{4, 6}, 11), randn(Shape{6, 3}, 12), randn(Shape{3}, 13)}},
        {"relu", [](const std::vector<Tensor>& in) { return relu(in[0]); }, {relu_input}},
        {"gelu", [](const std::vector<Tensor>& in) { return gelu(in[0]); }, {randn(Shape{4, 5}, 14, 2.0f)}},
        {"silu", [](const std::vector<Tensor>& in) { return silu(in[0]); }, {randn(Shape{4, 5}, 15, 2.0f)}},
        {"concat", [](const std::vector<Tensor>& in) { return concat({in[0], in[1]}); },
         {randn(Shape{2, 1, 3, 3}, 16), randn(Shape{2, 2, 3, 3}, 17)}},
        {"reshape", [](const std::vector<Tensor>& in) { return reshape(in[0], Shape{2, 6}); }, {randn(Shape{3, 4}, 18)}},
        {"sum", [](const std::vector<Tensor>& in) { return sum(in[0]); }, {randn(Shape{3, 4}, 19)}},
        {"mean", [](const std::vector<Tensor>& in) { return mean(in[0]); }, {randn(Shape{3, 4}, 20)}},
        {"mse", [](const std::vector<Tensor>& in) { return mse(in[0], in[1]); }, {randn(Shape{4, 3}, 21), randn(Shape{4, 3}, 22)}},
    };
    Table shown({"op", "values", "max_abs_error", "max_rel_error", "result"});
    Table saved({"op", "values", "result"});  // errors are rounding noise: not compared by make diff
    bool all_ok = true;
    for (OpCase& c : cases) {
        GradcheckResult r = gradcheck(c.f, c.inputs);
        all_ok = all_ok && r.ok;
        const char* verdict = r.ok ? "ok" : "WRONG";
        shown.add_row({c.op, std::to_string(r.checked), fmt_sci(r.max_abs_error, 2), fmt_sci(r.max_rel_error, 2), verdict});
        saved.add_row({c.op, std::to_string(r.checked), verdict});
        if (!r.ok) std::fprintf(stderr, "gradcheck %s: %s\n", c.op, r.worst.c_str());
    }
    shown.print("Table 0.2: analytic gradients against central differences (h = 1e-2)");
    saved.save_tsv(args.out("gradcheck.tsv"));
    return all_ok;
}

// ---- 3. the pool: the same bits for any thread count ------------------------------------------
// A few steps of the canonical toy model (34 -> 128 -> 128 -> 128 -> 2, GELU, batch 256, Adam);
// returns the FNV-1a checksum of all the weights and the steps per second.
std::pair<uint64_t, double> toy_training(int threads, int steps) {
    set_num_threads(threads);
    Rng init(1, 0), data(2, 0);
    MLP net({34, 128, 128, 128, 2}, Activation::GELU, init);
    Params params;
    net.collect(params, "net");
    Adam adam(AdamConfig{});
    Tensor x = Tensor::zeros(Shape{256, 34}), y = Tensor::zeros(Shape{256, 2});
    Stopwatch clock;
    for (int s = 0; s < steps; ++s) {
        data.fill_normal(x.data(), x.numel());
        data.fill_normal(y.data(), y.numel());
        zero_grad(params);
        Tensor loss = mse(net.forward(x), y);
        backward(loss);
        adam.step(params);
    }
    const double rate = steps / clock.seconds();
    std::string bytes;
    for (const Param& p : params) bytes.append(reinterpret_cast<const char*>(p.tensor.data()), p.tensor.numel() * 4);
    return {fnv1a64(bytes.data(), bytes.size()), rate};
}

void thread_independence(const LessonArgs& args) {
    const int steps = 50;
    auto [sum1, rate1] = toy_training(1, steps);
    auto [sum2, rate2] = toy_training(2, steps);
    set_num_threads(args.threads);
    Table t({"threads", "weights_checksum"});
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sum1);
    t.add_row({"1", hex});
    std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sum2);
    t.add_row({"2", hex});
    t.print("Table 0.3: checksum of all weights after 50 training steps");
    std::printf("identical: %s\n\n", sum1 == sum2 ? "yes" : "NO");
    // The checksum itself depends on the compiler and the CPU; the verdict must not.
    Table verdict({"compared", "identical"});
    verdict.add_row({"1 thread vs 2 threads", sum1 == sum2 ? "yes" : "no"});
    verdict.save_tsv(args.out("threads.tsv"));
    std::fprintf(stderr, "toy training: %.0f steps/s on 1 thread, %.0f steps/s on 2 threads\n", rate1, rate2);
    if (sum1 != sum2) fail("the weights depend on the thread count: a kernel breaks the chunking rule of pool.h");
}

// ---- 4. a first fit: an MLP learns y = sin(3x) from noisy samples ------------------------------
void first_fit(const LessonArgs& args) {
    const int steps = args.full ? 5000 : 1500, batch = 128, report_every = 100;
    Rng init(args.seed, 10), data(args.seed, 11);
    MLP net({1, 64, 64, 1}, Activation::GELU, init);
    Params params;
    net.collect(params, "net");
    Adam adam(AdamConfig{3e-3f});
    Tensor x = Tensor::zeros(Shape{batch, 1}), y = Tensor::zeros(Shape{batch, 1});
    std::vector<float> noise(batch);
    std::vector<float> curve_steps, curve_loss;
    Table t({"step", "loss"});
    for (int step = 1; step <= steps; ++step) {
        data.fill_uniform(x.data(), batch, -2.0f, 2.0f);
        data.fill_normal(noise.data(), batch, 0.0f, 0.1f);
        for (int i = 0; i < batch; ++i) y.data()[i] = float(dmath::sin(3.0 * x.data()[i])) + noise[size_t(i)];
        zero_grad(params);
        Tensor loss = mse(net.forward(x), y);
        backward(loss);
        adam.step(params);
        curve_steps.push_back(float(step));
        curve_loss.push_back(loss.item());
        if (step % report_every == 0 || step == 1) t.add_row({std::to_string(step), fmt(loss.item())});
    }
    t.print("Table 0.4: the fit's loss (the noise alone gives 0.01)");
    t.save_tsv(args.out("fit_loss.tsv"));

    // The learned curve on a grid, without recording a graph.
    std::vector<float> grid_x, grid_fit, grid_true;
    {
        NoGrad no_grad;
        Tensor g = Tensor::zeros(Shape{201, 1});
        for (int i = 0; i <= 200; ++i) g.data()[i] = -2.0f + 4.0f * i / 200.0f;
        Tensor out = net.forward(g);
        for (int i = 0; i <= 200; ++i) {
            grid_x.push_back(g.data()[i]);
            grid_fit.push_back(out.data()[i]);
            grid_true.push_back(float(dmath::sin(3.0 * g.data()[i])));
        }
    }
    std::vector<float> sample_x(x.data(), x.data() + batch), sample_y(y.data(), y.data() + batch);
    plot::Figure fig(1, 2);
    fig.suptitle("Lesson 00: an MLP (1-64-64-1, GELU, Adam) fits y = sin(3x) + noise");
    plot::Axes& loss_ax = fig.at(0, 0);
    loss_ax.line(curve_steps, curve_loss, plot::palette(0), 1.0f, "mse per step");
    loss_ax.hline(0.01f, plot::colors::gray, 1.0f, true, "noise variance 0.01");
    loss_ax.logy();
    loss_ax.title("training loss");
    loss_ax.xlabel("step");
    loss_ax.ylabel("mse (log scale)");
    plot::Axes& fit_ax = fig.at(0, 1);
    fit_ax.scatter(sample_x, sample_y, plot::with_alpha(plot::palette(0), 140), 2.5f, "last batch");
    fit_ax.line(grid_x, grid_true, plot::colors::black, 1.5f, "sin(3x)");
    fit_ax.line(grid_x, grid_fit, plot::palette(1), 2.0f, "the MLP");
    fit_ax.title("the fitted function");
    fit_ax.xlabel("x");
    fit_ax.ylabel("y");
    fig.save(args.out("fit.png"));
    std::fprintf(stderr, "wrote %s\n", args.out("fit.png").c_str());
}

int lesson(int argc, char** argv) {
    LessonArgs args = parse_lesson_args(argc, argv, "00_core");
    Stopwatch clock;
    tiny_graph();
    bool grads_ok = gradcheck_all(args);
    thread_independence(args);
    first_fit(args);
    std::fprintf(stderr, "[00_core] done in %.1f s\n", clock.seconds());
    if (!grads_ok) fail("some gradients disagree with finite differences (Table 0.2)");
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("00_core", lesson, argc, argv); }
