// training_run.cpp: the parts of `ddpm train` that the CSV and the image path share (training_run.h).
#include "app/training_run.h"

#include <cmath>
#include <cstdio>
#include <numeric>

#include "app/runtime.h"
#include "core/io.h"
#include "core/rng.h"
#include "store/settings.h"

namespace ddpm {

Schedule checked_schedule(const TrainArgs& a) {
    Schedule s = make_schedule(a.schedule, a.T, a.beta);
    const double last = s.alpha_bar[size_t(s.T)];
    if (!(last >= kMinAlphaBar)) {
        const std::string flags = a.schedule == "constant"
                                      ? "--beta " + fmt_g(a.beta) + " with --T " + std::to_string(a.T)
                                      : "--T " + std::to_string(a.T) + " with --schedule " + a.schedule;
        fail(flags + " takes alpha_bar_T to " + fmt_g(last, 3) + ", below the " + fmt_g(kMinAlphaBar, 2) +
             " that sampling needs (1 / sqrt(alpha_bar_T) must be a float); use a smaller --T" +
             (a.schedule == "constant" ? " or --beta" : " or another --schedule"));
    }
    return s;
}

std::vector<int> shuffled(int n, uint64_t seed, uint64_t stream) {
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    Rng rng(seed, stream);
    for (int i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.randint(0, i))]);
    return order;
}

void Saver::save(const Checkpoint& c, int64_t step) {
    for (const auto& [name, t] : c.tensors)
        for (int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(t.data()[i])) diverged(step, "tensor '" + name + "' holds " + fmt_sci(t.data()[i]));
    save_checkpoint(path_, c);
    saved_step_ = step;
}

void Saver::diverged(int64_t step, const std::string& what) const {
    const std::string kept = saved_step_ < 0 ? "no checkpoint of this run was written"
                                             : path_ + " keeps the checkpoint of step " + std::to_string(saved_step_);
    fail("training diverged at step " + std::to_string(step) + " (" + what + "); " + kept + "; try a smaller --lr");
}

TrainingEnd run_training_loop(const TrainingLoop& loop, StopSignals& stop, const std::string& model, bool resumed) {
    const int64_t first = loop.step_count(), total = loop.total;
    // Smoothed loss: an exponential average with its start-up bias divided out (as Adam does).
    const double smoothing = 0.99;
    double average = 0.0, weight = 0.0, last_loss = 0.0;
    ProgressClock progress;
    Saver saver(model, resumed ? first : -1);
    TrainingEnd end;
    stop.defer();
    std::string diverged;
    while (loop.step_count() < total) {
        if (const int signal = stop.received()) {
            const char* name = signal_name(signal);
            const int64_t step = loop.step_count();
            if (step == first) {
                std::fprintf(stderr, "ddpm train: %s before the first step; %s was not written\n", name, terminal_text(model, 1024).c_str());
            } else {
                saver.save(loop.checkpoint(), step);
                std::fprintf(stderr, "ddpm train: %s: saved step %lld of %lld to %s; 'ddpm train --resume' continues it\n",
                             name, (long long)step, (long long)total, terminal_text(model, 1024).c_str());
            }
            end.signal = signal;
            return end;
        }
        diverged.clear();
        const double loss = loop.step(diverged);
        const int64_t step = loop.step_count();
        if (!diverged.empty()) saver.diverged(step, diverged);
        last_loss = loss;
        average = smoothing * average + (1.0 - smoothing) * loss;
        weight = smoothing * weight + (1.0 - smoothing);
        if (step % loop.checkpoint_every == 0 && step < total) saver.save(loop.checkpoint(), step);
        if (progress.due()) {
            const double rate = double(step - first) / progress.seconds();
            std::fprintf(stderr, "  step %lld/%lld  loss %.4f  smoothed %.4f  %.*f steps/s  ETA %s\n", (long long)step,
                         (long long)total, last_loss, average / weight, loop.rate_decimals, rate,
                         format_duration(double(total - step) / rate).c_str());
        }
    }
    saver.save(loop.checkpoint(), loop.step_count());
    end.seconds = progress.seconds();
    std::fprintf(stderr, "ddpm train: %lld steps in %s (%.*f steps/s)\n", (long long)(total - first),
                 format_duration(end.seconds).c_str(), loop.rate_decimals,
                 end.seconds > 0 ? double(total - first) / end.seconds : 0.0);
    end.last_loss = last_loss;
    end.smoothed_loss = weight > 0 ? average / weight : 0.0;
    return end;
}

}  // namespace ddpm
