// ddpm train: Algorithm 1 of Ho et al. 2020 on the standardised rows of a CSV file.
#include <cmath>
#include <csignal>
#include <vector>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/commands.h"
#include "app/image_cmd.h"
#include "app/model_file.h"
#include "app/platform.h"
#include "app/runtime.h"
#include "app/training_run.h"
#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"
#include "diffusion/flow.h"
#include "store/csv.h"
#include "store/image_files.h"
#include "store/settings.h"

namespace ddpm {

namespace {

// ---- a new model, or the one to resume --------------------------------------------------------
ModelFile new_model(const TrainArgs& a, const Dataset& data, const Normalisation& norm) {
    EpsModelConfig mc;  // the defaults (emb 32, GELU) with the data's dimension
    mc.dim = data.dim;
    mc.hidden = a.hidden;
    mc.layers = a.layers;
    mc.residual = a.residual;
    TrainConfig tc;
    tc.batch = a.batch;
    tc.lr = float(a.lr);
    tc.ema_decay = float(a.ema);
    tc.seed = a.seed;
    tc.lr_decay_steps = a.lr_decay == "cosine" ? a.steps : 0;
    return ModelFile{norm, Trainer(mc, tc, checked_schedule(a)), a.steps, a.objective};
}

// A resumed run must be the run that was started: flags that would change it are refused.
void check_resume_flags(const TrainArgs& a, const Trainer& tr) {
    const TrainConfig& c = tr.config;
    const EpsModelConfig& m = tr.model.config;
    must_agree(a, "--batch", a.batch, c.batch, std::to_string(a.batch), std::to_string(c.batch));
    must_agree(a, "--lr", float(a.lr), c.lr, fmt_sci(a.lr), fmt_sci(c.lr));
    must_agree(a, "--ema", float(a.ema), c.ema_decay, fmt(a.ema, 6), fmt(c.ema_decay, 6));
    const std::string decay = c.lr_decay_steps > 0 ? "cosine" : "none";
    must_agree(a, "--lr-decay", a.lr_decay, decay, a.lr_decay, decay);
    must_agree(a, "--hidden", a.hidden, m.hidden, std::to_string(a.hidden), std::to_string(m.hidden));
    must_agree(a, "--layers", a.layers, m.layers, std::to_string(a.layers), std::to_string(m.layers));
    if (a.residual && !m.residual)
        fail("--resume: --residual, but " + a.model + " has plain layers (drop the flag, or train a new model)");
    must_agree(a, "--seed", a.seed, c.seed, std::to_string(a.seed), std::to_string(c.seed));
    must_agree(a, "--T", a.T, tr.schedule.T, std::to_string(a.T), std::to_string(tr.schedule.T));
    if (a.given.count("--schedule")) {
        // the checkpoint stores the betas; the requested schedule must give the same ones
        const double beta = a.given.count("--beta") ? a.beta : tr.schedule.beta[1];
        const Schedule s = make_schedule(a.schedule, tr.schedule.T, beta);
        if (s.beta != tr.schedule.beta)
            fail("--resume: --schedule asks for " + s.name + ", " + a.model + " has " + tr.schedule.name +
                 " (drop the flag, or train a new model)");
    }
}

ModelFile resumed_model(const TrainArgs& a, const Dataset& data, std::vector<std::string>& notes) {
    FileId id;
    ModelFile mf = parse_model_file(read_input(a.model, kMaxInputBytes, &id), a.model);
    if (mf.norm.columns() != data.dim)
        fail("model " + a.model + " has " + std::to_string(mf.norm.columns()) + " columns, " + a.data + " has " +
             std::to_string(data.dim));
    if (mf.objective == "x0" || mf.objective == "v")
        fail("--resume: " + a.model + " predicts " + mf.objective + " (lesson 11's target, a model of src/torch/train.py); "
             "ddpm train continues eps and flow models, train.py --init continues this one");
    check_resume_flags(a, mf.trainer);
    must_agree(a, "--objective", a.objective, mf.objective, a.objective, mf.objective);
    if (a.given.count("--steps")) mf.steps_total = a.steps;
    const int64_t decay = mf.trainer.config.lr_decay_steps;
    if (decay > 0 && mf.steps_total != decay)
        fail("--resume: --steps " + std::to_string(mf.steps_total) + ", but " + a.model +
             " decays its learning rate to 0 over " + std::to_string(decay) +
             " steps (--lr-decay cosine); resume it to " + std::to_string(decay) + ", or train a new model");
    if (mf.trainer.step > mf.steps_total)
        fail("--resume: " + a.model + " is at step " + std::to_string(mf.trainer.step) + ", beyond --steps " +
             std::to_string(mf.steps_total));
    // The normalisation stays the checkpoint's (the same bits as an uninterrupted run); other data is
    // allowed, but said.
    std::vector<double> mean = column_means(data), std_dev = column_stds(data);
    for (double& s : std_dev)
        if (!(s > 0.0)) s = 1.0;
    if (mean != mf.norm.mean || std_dev != mf.norm.std)
        notes.push_back("ddpm: note: the column means or stds of " + a.data + " differ from those " + a.model +
                        " was trained with; training continues with the checkpoint's");
    return mf;
}

// "1.5 -20" for a summary line: %.6g, at most 8 values.
std::string short_list(const std::vector<double>& values) {
    std::string out;
    for (size_t i = 0; i < values.size() && i < 8; ++i) out += (i ? " " : "") + fmt_g(values[i], 6);
    if (values.size() > 8) out += " ...";
    return out;
}

}  // namespace

// ---- the training loop -------------------------------------------------------------------------
int run_train(const TrainArgs& a) {
    // From the start: a signal while the files are read and checked ends the run at once (nothing
    // has been written); once training runs, it saves the last completed step (below).
    StopSignals stop("ddpm train: %s before the first step; " + a.model + " was not written");
    use_process_temp_names();
    use_threads(a.threads);
    // The output first: no device, FIFO or folder is ever replaced, and a second writer is refused.
    check_output_kind(a.model);
    OutputLock lock(a.model, "train");
    remove_stale_temp_files(a.model);
    if (!a.arch.empty() || is_folder(a.data)) return run_train_images(a, stop, nullptr, FileId{});  // image_cmd.cpp
    if (a.given.count("--block")) fail("--block applies to image models (--arch unet) only");
    if (a.objective == "flow" && (a.given.count("--schedule") || a.given.count("--beta")))
        fail("--objective flow: a flow model has no noise schedule (--schedule, --beta); --T sets its grid s = t / T");

    FileId data_id;
    const std::string data_bytes = read_input(a.data, kMaxInputBytes, &data_id);
    if (looks_like_idx(data_bytes)) {
        if (!a.resume) fail(a.data + ": an IDX file of images, not CSV rows; image training needs --arch cnn or --arch unet");
        return run_train_images(a, stop, &data_bytes, data_id);  // --resume: the model says which network
    }
    const Dataset data = parse_csv(data_bytes, a.data);
    check_not_input("--model", a.model, "--data", a.data, data_id);
    if (data.n() < 2)
        fail(a.data + ": 1 data row; training needs at least 2 (a single point has no spread to learn)");
    std::vector<std::string> notes;
    const bool replaces = !a.resume && file_id(a.model).known;
    // The memory a new run asks for, from its flags; a resumed one's network is bounded by the file
    // it is read from (parse_model_file), and its batch is checked once the file is read.
    if (!a.resume) {
        check_train_memory(data.n(), data.dim, a.hidden, a.layers, a.residual, a.batch, "");
        checked_schedule(a);  // (cheap: T + 1 numbers) refused before anything else is built
    }
    const Normalisation norm = a.resume ? Normalisation{} : fit_normalisation(data, a.data, &notes);
    ModelFile mf = a.resume ? resumed_model(a, data, notes) : new_model(a, data, norm);
    if (a.resume) {
        const EpsModelConfig& m = mf.trainer.model.config;
        check_train_memory(data.n(), data.dim, m.hidden, m.layers, m.residual, mf.trainer.config.batch, a.model);
    }
    check_writable(a.model);
    Trainer& tr = mf.trainer;
    // Notes only once every check has passed: an error is the one line a failed run prints.
    if (replaces)
        notes.insert(notes.begin(),
                     "ddpm: note: " + a.model + " exists and will be replaced (--resume continues it instead)");
    for (const std::string& note : notes) std::fprintf(stderr, "%s\n", terminal_text(note, 1024).c_str());

    if (a.threads == 0 && !std::getenv("DDPM_THREADS")) {  // by the work of a step, not the core count
        const EpsModelConfig& m = tr.model.config;
        use_threads(train_threads_for(tr.config.batch, m.dim, m.emb_dim, m.hidden, m.layers, m.residual));
    }
    const std::vector<float> z = standardise(mf.norm, data.x);  // (n, dim), what the network sees
    const int n = data.n();
    const int64_t first = tr.step, total = mf.steps_total;
    std::fprintf(stderr, "ddpm train: %s, %d rows x %d columns; %s, %s; steps %lld to %lld, %d thread%s\n",
                 terminal_text(a.data, 1024).c_str(), n, data.dim, describe(tr.model.config).c_str(), tr.schedule.name.c_str(),
                 (long long)first, (long long)total, num_threads(), num_threads() == 1 ? "" : "s");

    TrainingLoop loop;
    loop.step_count = [&] { return tr.step; };
    loop.step = [&](std::string& diverged) {
        const StepStats st = mf.objective == "flow"
                                 ? flow_train_step(tr, tr.config, tr.model, tr.schedule.T, z.data(), n)
                                 : tr.train_step(z.data(), n);
        if (!std::isfinite(st.loss) || !std::isfinite(st.grad_norm))
            diverged = "loss " + fmt_sci(st.loss) + ", gradient norm " + fmt_sci(st.grad_norm);
        return double(st.loss);
    };
    loop.checkpoint = [&] { return model_file_checkpoint(mf); };
    loop.total = total;
    loop.checkpoint_every = a.checkpoint_every;
    const TrainingEnd end = run_training_loop(loop, stop, a.model, a.resume);
    if (end.signal) return 128 + end.signal;  // as a shell reports a program stopped by the signal: 130, 143

    std::printf("model     %s\n", describe(tr.model.config).c_str());
    if (mf.objective == "flow")
        std::printf("objective flow (velocity eps - x_0 on the straight path), s = t / T, T = %d\n", tr.schedule.T);
    else
        std::printf("schedule  %s, T = %d\n", tr.schedule.name.c_str(), tr.schedule.T);
    const std::string lr_text = fmt_sci(tr.config.lr) + (tr.config.lr_decay_steps > 0 ? " (cosine decay over " +
                                                          std::to_string(tr.config.lr_decay_steps) + " steps)" : "");
    std::printf("training  %lld steps (this run: %lld to %lld), batch %d, lr %s, ema %s, seed %llu\n",
                (long long)total, (long long)first, (long long)total, tr.config.batch, lr_text.c_str(),
                fmt(tr.config.ema_decay, 4).c_str(), (unsigned long long)tr.config.seed);
    if (total > first)
        std::printf("loss      last %s, smoothed %s\n", fmt(end.last_loss, 4).c_str(), fmt(end.smoothed_loss, 4).c_str());
    std::printf("data      %s: %d rows, %d columns, mean [%s], std [%s]\n", terminal_text(a.data, 1024).c_str(), n, data.dim,
                short_list(mf.norm.mean).c_str(), short_list(mf.norm.std).c_str());
    std::printf("wrote     %s\n", terminal_text(a.model, 1024).c_str());
    return 0;
}

}  // namespace ddpm
