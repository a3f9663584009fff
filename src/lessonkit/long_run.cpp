#include "lessonkit/long_run.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/common.h"
#include "core/io.h"
#include "store/image_checkpoint.h"

namespace ddpm {

namespace {

// The state file holds the trainer and the log so far (the log's lines carry wall times, so the
// state's bytes vary between runs; the weights in it do not).
void save_state(const std::string& path, const ImageTrainer& tr, const std::string& log, double seconds) {
    Checkpoint c = image_trainer_checkpoint(tr);
    c.set_meta("log.text", log);
    c.set_meta("log.seconds", fmt_exact(seconds));
    save_checkpoint(path, c);
}

}  // namespace

ImageTrainer resume_or_start(const LongRun& run, const std::function<ImageTrainer()>& fresh,
                             const std::function<void(const ImageTrainer&)>& check, std::string& log, double& seconds) {
    log.clear();
    seconds = 0.0;
    if (!std::filesystem::exists(run.state)) return fresh();
    const Checkpoint c = load_checkpoint(run.state);
    ImageTrainer t = image_trainer_from_checkpoint(c, run.state);
    check(t);
    if (c.has_meta("log.text")) log = c.get_meta("log.text");
    if (c.has_meta("log.seconds")) seconds = std::strtod(c.get_meta("log.seconds").c_str(), nullptr);
    std::fprintf(stderr, "resuming %s at step %lld (%.0f s of training so far)\n", run.state.c_str(), (long long)t.step,
                 seconds);
    return t;
}

void run_epochs(const LongRun& run, ImageTrainer& tr, const ImageSet& data, const std::vector<int>& rows, std::string& log,
                double seconds) {
    if (run.steps_per_epoch < 1 || run.every < 1 || run.progress_every < 1 || !run.score || !run.model_file)
        fail("run_epochs: the run is not set up");
    const int64_t last = int64_t(run.epochs) * run.steps_per_epoch;
    Stopwatch clock;
    double epoch_loss = 0.0;
    int64_t in_epoch = 0;
    const double seconds_at_start = seconds;
    const int64_t step_at_start = tr.step;
    while (tr.step < last) {
        epoch_loss += tr.train_step(data, rows);
        ++in_epoch;
        const double now = seconds_at_start + clock.seconds();
        const double rate = double(tr.step - step_at_start) * tr.config.batch / clock.seconds();  // images/s
        if (tr.step % run.progress_every == 0)
            std::fprintf(stderr, "  step %lld/%lld  loss %.5f  %.0f images/s  ETA %.0f min\n", (long long)tr.step,
                         (long long)last, epoch_loss / double(in_epoch), rate,
                         double(last - tr.step) * tr.config.batch / rate / 60.0);
        if (tr.step % run.steps_per_epoch == 0) {
            const int epoch = int(tr.step / run.steps_per_epoch);
            const ImageModel ema = tr.ema_model();
            const EpochScore s = run.score(ema, tr, epoch);
            const std::string train_loss = in_epoch == run.steps_per_epoch ? fmt(epoch_loss / double(in_epoch), 5) : "-";
            char head[100], times[100];
            std::snprintf(head, sizeof head, "%d %lld %s %.5f", epoch, (long long)tr.step, train_loss.c_str(), s.val_loss);
            std::snprintf(times, sizeof times, "%.0f %.0f", now, rate);
            const std::string line = std::string(head) + " " + s.fields + " " + times + (s.tail.empty() ? "" : " " + s.tail) + "\n";
            log += line;
            std::fprintf(stderr, "epoch %s", line.c_str());
            save_state(run.state, tr, log, now);
            Checkpoint m = run.model_file(ema, tr);
            m.set_meta("train.step", std::to_string(tr.step));
            m.set_meta("train.epochs", std::to_string(epoch));
            save_checkpoint(run.model, m);
            write_file_atomic(run.log, log);
            epoch_loss = 0.0;
            in_epoch = 0;
        } else if (tr.step % run.every == 0) {
            save_state(run.state, tr, log, now);
        }
    }
}

}  // namespace ddpm
