#include "app/flow_sample.h"

#include <cstdio>
#include <vector>

#include "app/commands.h"
#include "app/platform.h"
#include "app/runtime.h"
#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"
#include "core/rng.h"
#include "diffusion/flow.h"
#include "store/csv.h"

namespace ddpm {

std::string flow_sampler_and_steps(const SampleArgs& a, int T, int* steps) {
    const std::string sampler = a.sampler_given ? a.sampler : "euler";
    if (sampler != "euler" && sampler != "heun")
        fail("--sampler " + sampler + ": " + a.model + " is a flow model (ddpm train --objective flow); it samples "
             "with --sampler euler or heun");
    if (a.sigma_max_given) fail("--sigma-max: " + a.model + " is a flow model; it starts at s = 1");
    if (a.spacing_given) fail("--spacing: " + a.model + " is a flow model; its K steps are equal steps in s");
    if (a.variance_given) fail("--variance: " + a.model + " is a flow model; its samplers add no noise");
    *steps = a.steps == 0 ? T : a.steps;
    if (*steps > T) fail("--steps " + std::to_string(*steps) + ": more than the T = " + std::to_string(T) + " of " + a.model);
    return sampler;
}

void print_column_moments(const ModelFile& mf, const Dataset& out, int dim) {
    const std::vector<double> mean = column_means(out), std_dev = column_stds(out);
    Table table({"column", "data_mean", "sample_mean", "data_std", "sample_std"});
    for (int c = 0; c < dim; ++c) {
        const std::string name = mf.norm.header.empty() ? std::to_string(c + 1) : mf.norm.header[size_t(c)];
        table.add_row({name, fmt(mf.norm.mean[size_t(c)], 4), fmt(mean[size_t(c)], 4), fmt(mf.norm.std[size_t(c)], 4),
                       fmt(std_dev[size_t(c)], 4)});
    }
    table.print("");
}

int run_sample_flow(const SampleArgs& a, const ModelFile& mf) {
    const int T = mf.trainer.schedule.T;
    int steps = 0;
    const std::string sampler = flow_sampler_and_steps(a, T, &steps);
    {
        const EpsModelConfig& m = mf.trainer.model.config;
        check_sample_memory(a.n, m.dim, m.hidden, m.layers, m.residual, num_threads(), 7);
    }
    check_writable(a.out);
    note_replaced(a.out);

    const EpsModel model = a.use_ema ? mf.trainer.ema_model() : mf.trainer.model;
    const int dim = model.config.dim;
    const FlowSolver solver = sampler == "heun" ? FlowSolver::Heun : FlowSolver::Euler;
    std::fprintf(stderr, "ddpm sample: %d rows from %s (flow model, step %lld, %s weights), %s, %d steps, %d thread%s\n",
                 a.n, terminal_text(a.model, 1024).c_str(), (long long)mf.trainer.step, a.use_ema ? "EMA" : "raw",
                 sampler.c_str(), steps, num_threads(), num_threads() == 1 ? "" : "s");
    // x at s = 1: N(0, I) in standardised units, (n, dim), the stream of every sampler of the tool
    std::vector<float> z(static_cast<size_t>(a.n) * static_cast<size_t>(dim));
    Rng(a.seed, kStartStream).fill_normal(z.data(), int64_t(z.size()));
    ProgressClock progress;
    const VelocityFunction velocity = model_velocity_function(model, T);
    const int calls = flow_solve(z.data(), a.n, dim, velocity, flow_grid(steps, T), solver, [&](int k, const float*) {
        if (k > 0 && k < steps && progress.due())
            std::fprintf(stderr, "  step %d of %d  %.0f steps/s\n", k, steps, k / progress.seconds());
    });

    Dataset out;
    out.name = a.out;
    out.dim = dim;
    out.x = unstandardise(mf.norm, z);
    out.header = mf.norm.header;
    save_csv(a.out, out);
    std::fprintf(stderr, "ddpm sample: %s\n", format_duration(progress.seconds()).c_str());
    std::printf("wrote %d rows to %s: flow model %s at step %lld, %s weights, %s sampler (flow ODE, %d network call%s), "
                "%d steps, seed %llu\n",
                a.n, terminal_text(a.out, 1024).c_str(), terminal_text(a.model, 1024).c_str(), (long long)mf.trainer.step,
                a.use_ema ? "EMA" : "raw", sampler.c_str(), calls, calls == 1 ? "" : "s", steps, (unsigned long long)a.seed);
    print_column_moments(mf, out, dim);
    return 0;
}

}  // namespace ddpm
