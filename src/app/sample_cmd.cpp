// ddpm sample: Algorithm 2 of Ho et al. 2020, DDIM or a solver of the probability-flow ODE, from a
// model of `ddpm train`, rows in data units.
#include <cmath>
#include <cstdio>
#include <vector>

#include "app/commands.h"
#include "app/flow_sample.h"
#include "app/image_cmd.h"
#include "app/model_file.h"
#include "app/ode_sample.h"
#include "app/platform.h"
#include "app/runtime.h"
#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"
#include "core/rng.h"
#include "store/csv.h"
#include "diffusion/ddim.h"
#include "diffusion/objectives.h"
#include "store/settings.h"
#include "diffusion/sampler.h"

namespace ddpm {

int run_sample(const SampleArgs& a) {
    // A signal ends the run at once, removing the temporary file of the output if it is being written.
    StopSignals stop("ddpm sample: %s: stopped; " + a.out + " was not written");
    use_process_temp_names();
    use_threads(a.threads);
    check_output_kind(a.out);
    OutputLock lock(a.out, "sample");
    remove_stale_temp_files(a.out);
    FileId model_id;
    const std::string model_bytes = read_input(a.model, kMaxInputBytes, &model_id);
    check_not_input("--out", a.out, "--model", a.model, model_id);
    if (is_image_model(model_bytes, a.model)) return run_sample_images(a, model_bytes, model_id);  // image_cmd.cpp
    if (a.label >= 0)
        fail("--class: " + a.model + " is a model of CSV rows; --class and --guidance apply to a class-conditional "
             "image model");
    const ModelFile mf = parse_model_file(model_bytes, a.model);
    if (is_image_output(a.out))
        fail("--out " + a.out + ": " + a.model + " is a model of CSV rows; it writes a .csv file (images come from "
             "a model of ddpm train --arch)");
    if (mf.objective == "flow") return run_sample_flow(a, mf);  // app/flow_sample.cpp: euler or heun
    const Schedule& s = mf.trainer.schedule;
    const bool ddim = a.sampler == "ddim", ode = is_ode_sampler(a.sampler);
    const int steps = a.steps == 0 ? s.T : a.steps;
    if (!ddim && !ode && steps != s.T)
        fail("--steps " + std::to_string(a.steps) + ": the ddpm sampler runs all T = " + std::to_string(s.T) +
             " steps of " + a.model + "; strided sampling needs --sampler ddim, euler, heun or dpmpp2m");
    if ((ddim || ode) && steps > s.T)
        fail("--steps " + std::to_string(steps) + ": more than the T = " + std::to_string(s.T) + " of " + a.model);
    // the ODE solvers start at the largest t with sigma_t <= --sigma-max (diffusion/ode.h)
    const int start = ode ? ode_start_timestep(s, a.sigma_max) : s.T;
    if (ode && steps > start)
        fail("--steps " + std::to_string(steps) + ": more than the " + std::to_string(start) + " timesteps of " + a.model +
             " below --sigma-max " + fmt_g(a.sigma_max) + " (t = " + std::to_string(start) + ")");
    std::vector<int> tau;        // DDIM's subsequence of 1..T, checked here and run below
    std::vector<int> timesteps;  // the ODE solvers' timesteps, from T down
    if (ddim || ode) {
        // DDIM's first step takes x_{t'} = sqrt(alpha_bar_t') x0_hat + ..., with x0_hat = (x_T - sqrt(1 - alpha_bar_T)
        // eps) / sqrt(alpha_bar_T) (Song et al. 2021, eq. 12): the error of eps at T is multiplied by
        // sqrt(alpha_bar_t' / alpha_bar_T). A schedule that ends near alpha_bar_T = 0 (the cosine one, 2.4e-9
        // at T = 1000) makes that gain 30 or more, and so does a chain of one or two steps; the rows are then
        // garbage (standard deviations up to 20 times the data's). An image model clips x0_hat to the pixel
        // range instead; the ddpm sampler's noise absorbs the first step. The ODE solvers start the same
        // way: euler's first step is DDIM's with eta 0, dpmpp2m's is first order (the same step), and
        // heun's starts with that step and evaluates the network where it lands.
        int next = 0;
        if (ddim) {
            tau = ddim_timesteps(s.T, steps, a.spacing == "quadratic" ? Spacing::Quadratic : Spacing::Uniform);
            next = tau.size() > 1 ? tau[tau.size() - 2] : 0;
        } else {
            timesteps = ode_timesteps(cut_schedule(s, start), steps, ode_spacing_of(a.spacing));
            next = timesteps.size() > 1 ? timesteps[1] : 0;
        }
        const double gain = std::sqrt(s.alpha_bar[size_t(next)] / s.alpha_bar[size_t(start)]);
        if (!(gain <= kMaxDdimGain))
            fail("--sampler " + a.sampler + ": " + a.model + "'s schedule (" + s.name + ") has alpha_bar = " +
                 fmt_g(s.alpha_bar[size_t(start)]) + " at t = " + std::to_string(start) + ", so " +
                 (ddim ? std::string("DDIM") : a.sampler) + "'s first step (t = " + std::to_string(start) + " to " +
                 std::to_string(next) +
                 ") multiplies the error of the noise prediction by " + fmt_g(gain) + " (at most " +
                 fmt_g(kMaxDdimGain) + " is allowed); use --sampler ddpm, more --steps, " +
                 (ode ? "a smaller --sigma-max, " : "") + "or a model trained with --schedule linear or sigmoid");
    }
    {
        const EpsModelConfig& m = mf.trainer.model.config;
        // the ODE solvers keep two more floats a value than the ddpm and ddim samplers (diffusion/ode.cpp)
        check_sample_memory(a.n, m.dim, m.hidden, m.layers, m.residual, num_threads(), ode ? 7 : 5);
    }
    check_writable(a.out);
    note_replaced(a.out);

    const EpsModel model = a.use_ema ? mf.trainer.ema_model() : mf.trainer.model;
    const int dim = model.config.dim;
    // an x0 or v model (lesson 11, from src/torch/train.py): its prediction turned into eps at every call
    Target target = Target::Eps;
    if (!parse_target(mf.objective, target)) fail(a.model + ": model.objective '" + mf.objective + "' is not one the samplers take");
    const EpsFunction eps_fn = eps_from_target_function(model_eps_function(model), target, s, dim);
    SampleOptions options;
    options.variance = a.variance == "beta" ? Variance::Beta : Variance::BetaTilde;
    options.seed = a.seed;
    const std::string sampler = ode ? a.sampler + " (" + a.spacing + " spacing)" : a.sampler;
    std::fprintf(stderr, "ddpm sample: %d rows from %s (step %lld, %s weights%s), %s, %d steps, %d thread%s\n", a.n,
                 terminal_text(a.model, 1024).c_str(), (long long)mf.trainer.step, a.use_ema ? "EMA" : "raw",
                 target == Target::Eps ? "" : (std::string(", predicts ") + target_name(target)).c_str(), sampler.c_str(), steps,
                 num_threads(), num_threads() == 1 ? "" : "s");

    // x_T ~ N(0, I) in standardised units, (n, dim)
    std::vector<float> z(static_cast<size_t>(a.n) * static_cast<size_t>(dim));
    Rng(a.seed, kStartStream).fill_normal(z.data(), int64_t(z.size()));
    ProgressClock progress;
    int done = 0;
    auto report = [&](int t, const float*) {
        if (t == s.T) return;
        ++done;
        if (t > 0 && progress.due()) {
            const double rate = done / progress.seconds();
            std::fprintf(stderr, "  t = %d  %.0f steps/s  ETA %s\n", t, rate,
                         format_duration((steps - done) / rate).c_str());
        }
    };
    int calls = 0;  // the ODE solvers' network calls
    if (ode) {
        const OdeSolver solver = ode_solver_of(a.sampler);
        const int total = ode_calls_of(solver, steps);
        calls = run_ode_sampler(z.data(), a.n, dim, s, eps_fn, solver, timesteps, [&](int done_calls) {
            if (done_calls < total && progress.due()) {
                const double rate = done_calls / progress.seconds();
                std::fprintf(stderr, "  network call %d of %d  %.0f calls/s  ETA %s\n", done_calls, total, rate,
                             format_duration((total - done_calls) / rate).c_str());
            }
        });
    } else if (ddim) {
        ddim_sample(z.data(), a.n, dim, s, eps_fn, tau, float(a.eta), a.seed, report);
    } else {
        ddpm_sample(z.data(), a.n, dim, s, eps_fn, options, report);
    }

    Dataset out;
    out.name = a.out;
    out.dim = dim;
    out.x = unstandardise(mf.norm, z);
    out.header = mf.norm.header;
    save_csv(a.out, out);
    std::fprintf(stderr, "ddpm sample: %s\n", format_duration(progress.seconds()).c_str());

    // What was written, and a first check of it: the columns' means and stds beside the data's.
    const std::string how = ode    ? ode_sampler_text(ode_solver_of(a.sampler), ode_spacing_of(a.spacing), calls, s, start)
                            : ddim ? "ddim sampler (eta " + fmt(a.eta, 2) + ", " + a.spacing + ")"
                                   : std::string("ddpm sampler (variance ") + variance_name(options.variance) + ")";
    std::printf("wrote %d rows to %s: model %s at step %lld, %s weights, %s, %d steps, seed %llu\n", a.n,
                terminal_text(a.out, 1024).c_str(), terminal_text(a.model, 1024).c_str(), (long long)mf.trainer.step, a.use_ema ? "EMA" : "raw", how.c_str(),
                steps, (unsigned long long)a.seed);
    print_column_moments(mf, out, dim);
    return 0;
}

}  // namespace ddpm
