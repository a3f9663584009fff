// bench: the speed of the core on the canonical toy workload, printed as key=value lines.
//
//   build/bench [--workload toy2d|cnn|unet] [--threads N] [--blocks K] [--block-steps S] [--quick]
//               [--only train|sample]   (time one half alone, e.g. under perf record)
//   build/bench --peak       the machine's fp32 FMA peak on one thread (GFLOP/s), for docs/performance.md
//
// Workload toy2d (keep it exactly so; tests/bench/toy2d_torch.py runs the same in PyTorch):
//   eps-MLP [x (2) | sinusoidal t-embedding (32)] -> 128 -> 128 -> 128 -> 2, GELU,
//   batch 256, Adam lr 1e-3 (with gradient-norm clipping at 1 and an EMA of the weights, as every
//   lesson trains), T = 1000 linear betas, data: the eight Gaussians (10,000 points).
//   train_steps_per_s:        median over K timed blocks of S steps each, after a warm-up block;
//   sample_point_steps_per_s: 10,000 points through 100 DDPM steps (t = 1000 ... 901), median of 3;
//   peak_rss_mb:              the process's peak resident memory (getrusage).
//
// Workloads cnn and unet (--workload cnn|unet; tests/bench/images_torch.py runs the same in PyTorch):
//   the [003] CNN and the small U-Net of src/nets/ on (B, 1, 28, 28) images, batch 128 drawn
//   from a fixed set of 1,024 images, t ~ U{1..1000}, linear betas, L_simple, Adam lr 1e-3;
//   train_images_per_s:       median over K timed blocks of S steps (default 5 x 3), after a warm-up;
//   sample_image_steps_per_s: 128 images through 10 ancestral steps (t = 1000 ... 991), median of 3.
// A benchmark prints figures; it asserts nothing (the tests check correctness).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "nets/cnn.h"
#include "nets/unet.h"
#include "lessonkit/ddpm.h"
#include "diffusion/sampler.h"
#include "diffusion/train.h"

using namespace ddpm;

namespace {

double median(std::vector<double> v) {  // 0 for none (a half that --only left out)
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The machine's single-thread peak: 12 independent chains of vector multiply-adds, nothing loaded
// or stored, 2 flops per lane per step. `fused` lets the compiler fuse each multiply and add (the
// hardware's FMA peak); without it they stay two instructions, as the project's arithmetic rule has
// them everywhere else (docs/reproducibility.md), and the figure is the peak that rule can reach.
// The vector is one register of the target wide. (Twelve named variables, not an array: an array
// would live in memory.)
#if defined(__AVX512F__)
const int kPeakLanes = 16;
#elif defined(__AVX__)
const int kPeakLanes = 8;
#else
const int kPeakLanes = 4;
#endif
typedef float peak_vec __attribute__((vector_size(4 * kPeakLanes)));

#if defined(__x86_64__)
#define KEEP_IN_REGISTERS(...) asm volatile("" : __VA_ARGS__)
#else
#define KEEP_IN_REGISTERS(...)
#endif

template <bool fused>
double peak_loop(int64_t iters, peak_vec* out) {
    peak_vec mul, add;
    for (int l = 0; l < kPeakLanes; ++l) {
        mul[l] = 0.999999f;
        add[l] = 1e-7f;
    }
    peak_vec a0 = mul, a1 = mul * 2, a2 = mul * 3, a3 = mul * 4, a4 = mul * 5, a5 = mul * 6;
    peak_vec a6 = mul * 7, a7 = mul * 8, a8 = mul * 9, a9 = mul * 10, a10 = mul * 11, a11 = mul * 12;
    Stopwatch clock;
    for (int64_t i = 0; i < iters; ++i) {
        a0 = a0 * mul + add, a1 = a1 * mul + add, a2 = a2 * mul + add, a3 = a3 * mul + add;
        a4 = a4 * mul + add, a5 = a5 * mul + add, a6 = a6 * mul + add, a7 = a7 * mul + add;
        a8 = a8 * mul + add, a9 = a9 * mul + add, a10 = a10 * mul + add, a11 = a11 * mul + add;
        KEEP_IN_REGISTERS("+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7),
                          "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));  // keeps the loop from being folded away
    }
    const double seconds = clock.seconds();
    *out = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    return double(iters) * 12 * kPeakLanes * 2 / seconds * 1e-9;
}

__attribute__((optimize("fp-contract=fast"))) double peak_fused(int64_t iters, peak_vec* out) {
    return peak_loop<true>(iters, out);
}

double peak_gflops(bool fused) {
    const int64_t iters = 20000000 * 16 / kPeakLanes;
    peak_vec sum;
    const double g = fused ? peak_fused(iters, &sum) : peak_loop<false>(iters, &sum);
    std::fprintf(stderr, "bench: peak loop checksum %g\n", double(sum[0]));
    return g;
}

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// ---- the image workloads ----------------------------------------------------------------------
template <typename Model>
void bench_images(const char* workload, int threads, int blocks, int block_steps, const std::string& only) {
    const int batch = 128, dataset = 1024, pixels = 28 * 28;
    std::vector<float> data(size_t(dataset) * pixels);
    Rng(1, 0).fill_normal(data.data(), int64_t(data.size()));
    for (float& v : data) v = std::min(1.0f, std::max(-1.0f, v));
    const Schedule s = linear_schedule(1000);
    Rng init(1, kInitStream);
    const Model model(init);
    Params params = model.params();
    Adam adam(AdamConfig{});
    Rng index(1, kIndexStream), steps(1, kTimestepStream), noise(1, kNoiseStream);
    Tensor x0 = Tensor::zeros(Shape{batch, 1, 28, 28}), eps = Tensor::zeros(Shape{batch, 1, 28, 28});
    Tensor x_t = Tensor::zeros(Shape{batch, 1, 28, 28});
    std::vector<int> rows(batch), t(batch);
    float last_loss = 0.0f;
    auto step = [&] {
        index.fill_randint(rows.data(), batch, 0, dataset - 1);
        for (int b = 0; b < batch; ++b)
            std::copy_n(data.data() + int64_t(rows[size_t(b)]) * pixels, pixels, x0.data() + int64_t(b) * pixels);
        steps.fill_randint(t.data(), batch, 1, s.T);
        noise.fill_normal(eps.data(), eps.numel());
        q_sample_rows(x_t.data(), x0.data(), eps.data(), t.data(), batch, pixels, s);
        zero_grad(params);
        Tensor loss = mse(model.forward(x_t, std::vector<float>(t.begin(), t.end())), eps);
        backward(loss);
        adam.step(params);
        last_loss = loss.item();
    };
    for (int i = 0; i < block_steps && only != "sample"; ++i) step();
    std::vector<double> rates;
    for (int b = 0; b < blocks && only != "sample"; ++b) {
        Stopwatch clock;
        for (int i = 0; i < block_steps; ++i) step();
        rates.push_back(double(batch) * block_steps / clock.seconds());
    }

    const int images = 128, sample_steps = 10;
    const int64_t n = int64_t(images) * pixels;
    std::vector<double> sample_rates;
    for (int rep = 0; rep < 3 && only != "train"; ++rep) {
        NoGrad no_grad;
        Rng rng(7, 0);
        Tensor x = Tensor::zeros(Shape{images, 1, 28, 28});
        rng.fill_normal(x.data(), n);
        std::vector<float> z(static_cast<size_t>(n));
        Stopwatch clock;
        for (int step_t = s.T; step_t > s.T - sample_steps; --step_t) {
            const Tensor e = model.forward(x, std::vector<float>(size_t(images), float(step_t)));
            rng.fill_normal(z.data(), n);
            p_sample_step(x.data(), x.data(), e.data(), z.data(), n, s, step_t, Variance::BetaTilde);
        }
        sample_rates.push_back(double(images) * sample_steps / clock.seconds());
    }
    std::printf("%s threads=%d train_images_per_s=%.1f sample_image_steps_per_s=%.1f peak_rss_mb=%.1f\n", workload,
                threads, median(rates), median(sample_rates), peak_rss_mb());
    std::fprintf(stderr, "bench: %s train blocks (images/s):", workload);
    for (double r : rates) std::fprintf(stderr, " %.1f", r);
    std::fprintf(stderr, "; last loss %.4f; %lld parameters\n", double(last_loss), (long long)count_values(params));
}

int bench(int argc, char** argv) {
    int threads = default_num_threads(), blocks = 7, block_steps = 300;
    std::string workload = "toy2d";
    std::string only;  // "train" or "sample" times that half alone
    bool blocks_given = false, steps_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + ": missing value");
            return argv[++i];
        };
        if (a == "--threads") threads = int(parse_int(value(), 1, 256, "--threads"));
        else if (a == "--blocks") blocks = int(parse_int(value(), 5, 1000, "--blocks")), blocks_given = true;
        else if (a == "--block-steps") block_steps = int(parse_int(value(), 1, 1000000, "--block-steps")), steps_given = true;
        else if (a == "--quick") block_steps = 50, steps_given = true;
        else if (a == "--only") {
            only = value();
            if (only != "train" && only != "sample") fail("--only: expected train or sample, got " + only);
        }
        else if (a == "--workload") {
            workload = value();
            if (workload != "toy2d" && workload != "cnn" && workload != "unet")
                fail("--workload: expected toy2d, cnn or unet, got " + workload);
        }
        else if (a == "--peak") {
            // on 1 thread, then on `threads` at once: whether the cores share their FMA units
            for (bool fused : {true, false}) {
                const double one = peak_gflops(fused);
                std::vector<double> each(size_t(threads), 0.0);
                std::vector<std::thread> team;
                for (int t = 0; t < threads; ++t)
                    team.emplace_back([&each, t, fused] { each[size_t(t)] = peak_gflops(fused); });
                for (auto& th : team) th.join();
                double all = 0.0;
                for (double g : each) all += g;
                std::printf("peak fp32_%s_gflops threads=1 %.1f threads=%d %.1f\n", fused ? "fma" : "mul_add", one,
                            threads, all);
            }
            return 0;
        } else fail("unknown flag " + a +
                      " (flags: --workload W --threads N --blocks K --block-steps S --quick --only train|sample --peak)");
    }
    set_num_threads(threads);
    if (workload != "toy2d") {
        if (!blocks_given) blocks = 5;
        if (!steps_given) block_steps = 3;
        if (workload == "cnn") bench_images<ImageCNN>("cnn", threads, blocks, block_steps, only);
        else bench_images<SmallUNet>("unet", threads, blocks, block_steps, only);
        return 0;
    }

    const Dataset data = make_dataset("eight_gaussians", 10000, 1);
    EpsModelConfig mc;  // the canonical model: 34-128-128-128-2, GELU
    TrainConfig tc;     // batch 256, Adam lr 1e-3, clip 1, EMA 0.999
    Trainer tr(mc, tc, linear_schedule(1000));

    // training: a warm-up block, then `blocks` timed blocks
    for (int s = 0; s < block_steps; ++s) tr.train_step(data.x.data(), data.n());
    std::vector<double> rates;
    for (int b = 0; b < blocks && only != "sample"; ++b) {
        Stopwatch clock;
        for (int s = 0; s < block_steps; ++s) tr.train_step(data.x.data(), data.n());
        rates.push_back(block_steps / clock.seconds());
    }

    // sampling: 10,000 points, 100 ancestral steps from t = T down
    const int rows = 10000, steps = 100;
    const EpsModel model = tr.ema_model();
    const EpsFunction eps_fn = model_eps_function(model);
    const Schedule& s = tr.schedule;
    std::vector<float> x(size_t(rows) * 2), eps(x.size()), z(x.size());
    std::vector<double> sample_rates;
    for (int rep = 0; rep < 3 && only != "train"; ++rep) {
        Rng rng(7, 0);
        rng.fill_normal(x.data(), int64_t(x.size()));
        Stopwatch clock;
        for (int t = s.T; t > s.T - steps; --t) {
            eps_fn(eps.data(), x.data(), rows, t);
            rng.fill_normal(z.data(), int64_t(z.size()));
            p_sample_step(x.data(), x.data(), eps.data(), z.data(), int64_t(x.size()), s, t, Variance::BetaTilde);
        }
        sample_rates.push_back(double(rows) * steps / clock.seconds());
    }

    std::printf("toy2d threads=%d train_steps_per_s=%.0f sample_point_steps_per_s=%.4g peak_rss_mb=%.1f\n",
                threads, median(rates), median(sample_rates), peak_rss_mb());
    std::fprintf(stderr, "bench: train blocks (steps/s):");
    for (double r : rates) std::fprintf(stderr, " %.0f", r);
    std::fprintf(stderr, "; final loss %.4f\n", double(tr.train_step(data.x.data(), data.n()).loss));
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main("bench", bench, argc, argv); }
