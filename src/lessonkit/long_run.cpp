#include "lessonkit/long_run.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/common.h"
#include "core/io.h"
#include "core/nn.h"
#include "store/image_checkpoint.h"

namespace ddpm {

namespace {

// The state file holds the trainer and the log so far (the log's lines may carry wall times, so the
// state's bytes vary between runs; the weights in it do not).
void save_state(const LongRun& run, const ImageTrainer& tr, const RunLog& log) {
    Checkpoint c = image_trainer_checkpoint(tr);
    c.set_meta("log.text", log.text);
    c.set_meta("log.seconds", fmt_exact(log.seconds));
    c.set_meta("log.block", std::to_string(run.block));
    c.set_meta("log.block_loss", fmt_exact(log.block_loss));
    c.set_meta("log.block_whole", log.block_whole ? "1" : "0");
    save_checkpoint(run.state, c);
}

double exact_number(const Checkpoint& c, const std::string& key, const std::string& path) {
    const std::string text = c.get_meta(key);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') fail(path + ": entry '" + key + "' is not a number; delete the file to start again");
    return v;
}

std::string run_name(const ImageTrainer& t) {
    std::string name = arch_name(t.model.arch);
    if (t.model.classes() > 0) name += " with " + std::to_string(t.model.classes()) + " classes";
    name += ", " + std::to_string(count_values(t.params)) + " parameters, ";
    name += t.config.blur_T > 0 ? "blur T=" + std::to_string(t.config.blur_T) : t.schedule.name;
    return name + ", seed " + std::to_string(t.config.seed) + ", batch " + std::to_string(t.config.batch) + ", lr " +
           fmt_g(t.config.lr);
}

bool same_run(const ImageTrainer& a, const ImageTrainer& b) {
    return a.model.arch == b.model.arch && a.model.classes() == b.model.classes() &&
           count_values(a.params) == count_values(b.params) && a.config.blur_T == b.config.blur_T &&
           a.config.blur_beta == b.config.blur_beta && a.config.blur_taps == b.config.blur_taps &&
           a.schedule.beta == b.schedule.beta && a.config.seed == b.config.seed && a.config.batch == b.config.batch &&
           a.config.lr == b.config.lr && a.config.ema_decay == b.config.ema_decay && a.config.clip == b.config.clip;
}

}  // namespace

bool resume(const LongRun& run, ImageTrainer& tr, RunLog& log, const std::function<void(const ImageTrainer&)>& check) {
    if (run.state.empty() || !std::filesystem::exists(run.state)) return false;
    const Checkpoint c = load_checkpoint(run.state);
    if (c.has_meta("lesson.steps"))
        fail(run.state + ": a lesson's state in the format before lessonkit/long_run.h; delete it to start again");
    ImageTrainer stored = image_trainer_from_checkpoint(c, run.state);
    if (check) check(stored);
    if (!same_run(stored, tr))
        fail(run.state + ": the state of another run (" + run_name(stored) + "; this run: " + run_name(tr) +
             "); delete it to start again");
    if (c.has_meta("log.block") && c.get_meta("log.block") != std::to_string(run.block))
        fail(run.state + ": saved with blocks of " + c.get_meta("log.block") + " steps, this run has " +
             std::to_string(run.block) + "; delete it to start again");
    RunLog l;
    if (c.has_meta("log.text")) l.text = c.get_meta("log.text");
    if (c.has_meta("log.seconds")) l.seconds = exact_number(c, "log.seconds", run.state);
    if (c.has_meta("log.block_loss")) {
        l.block_loss = exact_number(c, "log.block_loss", run.state);
        l.block_whole = !c.has_meta("log.block_whole") || c.get_meta("log.block_whole") == "1";
    } else {
        l.block_whole = stored.step % run.block == 0;  // an older state: the sums of a block under way were not kept
    }
    std::fprintf(stderr, "resuming %s at step %lld of %lld (%.0f s of training so far)\n", run.state.c_str(),
                 (long long)stored.step, (long long)run.steps, l.seconds);
    tr = std::move(stored);
    log = std::move(l);
    return true;
}

void run_blocks(const LongRun& run, ImageTrainer& tr, const ImageSet& data, const std::vector<int>& rows, RunLog& log) {
    if (run.block < 1 || run.every < 0 || run.progress_every < 0 || !run.at_block) fail("run_blocks: the run is not set up");
    const bool saving = !run.state.empty();
    Stopwatch clock;
    const double seconds_at_start = log.seconds;
    const int64_t step_at_start = tr.step;
    while (tr.step < run.steps) {
        log.block_loss += tr.train_step(data, rows);
        log.seconds = seconds_at_start + clock.seconds();
        const double rate = double(tr.step - step_at_start) * tr.config.batch / clock.seconds();  // images/s
        const int64_t in_block = tr.step % run.block == 0 ? run.block : tr.step % run.block;
        const int64_t counted = log.block_whole ? in_block : std::min(in_block, tr.step - step_at_start);
        if (run.progress_every > 0 && tr.step % run.progress_every == 0)
            std::fprintf(stderr, "  step %lld/%lld  loss %.5f  %.0f images/s  ETA %.0f min\n", (long long)tr.step,
                         (long long)run.steps, log.block_loss / double(counted), rate,
                         double(run.steps - tr.step) * tr.config.batch / rate / 60.0);
        if (tr.step % run.block == 0 || tr.step == run.steps) {
            BlockEnd end;
            end.step = tr.step;
            end.block = int((tr.step + run.block - 1) / run.block);
            end.whole = log.block_whole;
            end.train_loss = log.block_loss / double(counted);
            end.seconds = log.seconds;
            end.images_per_s = rate;
            log.text += run.at_block(tr, end) + "\n";
            log.block_loss = 0.0;
            log.block_whole = true;
            if (saving) save_state(run, tr, log);
        } else if (saving && run.every > 0 && tr.step % run.every == 0) {
            save_state(run, tr, log);
        }
    }
}

std::vector<std::vector<std::string>> log_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        rows.push_back(w);
    }
    return rows;
}

void run_epochs(LongRun run, const EpochFiles& files, ImageTrainer& tr, const ImageSet& data,
                const std::vector<int>& rows, RunLog& log) {
    if (!files.score || !files.model_file) fail("run_epochs: the run is not set up");
    run.at_block = [&](const ImageTrainer& t, const BlockEnd& end) {
        const ImageModel ema = t.ema_model();
        const EpochScore s = files.score(ema, t, end.block);
        const std::string train_loss = end.whole ? fmt(end.train_loss, 5) : "-";
        char head[100], times[100];
        std::snprintf(head, sizeof head, "%d %lld %s %.5f", end.block, (long long)end.step, train_loss.c_str(), s.val_loss);
        std::snprintf(times, sizeof times, "%.0f %.0f", end.seconds, end.images_per_s);
        const std::string line = std::string(head) + " " + s.fields + " " + times + (s.tail.empty() ? "" : " " + s.tail);
        std::fprintf(stderr, "epoch %s\n", line.c_str());
        Checkpoint m = files.model_file(ema, t);
        m.set_meta("train.step", std::to_string(end.step));
        m.set_meta("train.epochs", std::to_string(end.block));
        save_checkpoint(files.model, m);
        write_file_atomic(files.log, log.text + line + "\n");
        return line;
    };
    run_blocks(run, tr, data, rows, log);
}

}  // namespace ddpm
