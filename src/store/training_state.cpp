#include "store/image_checkpoint.h"
#include "store/training_state.h"

#include <cstdlib>
#include <filesystem>

#include "store/checkpoint.h"
#include "core/common.h"
#include "core/io.h"

namespace ddpm {

namespace {

std::string join_exact(const std::vector<double>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + fmt_exact(v[i]);
    return out;
}

std::vector<double> split_exact(const std::string& text, const std::string& path, const std::string& key) {
    std::vector<double> v;
    const char* p = text.c_str();
    while (*p) {
        char* end = nullptr;
        const double x = std::strtod(p, &end);
        if (end == p) fail(path + ": entry '" + key + "' is not a list of numbers");
        v.push_back(x);
        p = end;
        while (*p == ' ') ++p;
    }
    return v;
}

std::string meta(const Checkpoint& c, const std::string& key, const std::string& path) {
    if (!c.has_meta(key)) fail(path + ": no entry '" + key + "' (not a lesson's training state)");
    return c.get_meta(key);
}

}  // namespace

void save_training_state(const std::string& path, const ImageTrainer& tr, const TrainingLog& log, int64_t steps) {
    Checkpoint c = image_trainer_checkpoint(tr);
    c.set_meta("lesson.steps", std::to_string(steps));
    c.set_meta("lesson.train_loss", join_exact(log.train_loss));
    c.set_meta("lesson.val_loss", join_exact(log.val_loss));
    c.set_meta("lesson.block_loss", fmt_exact(log.block_loss));
    save_checkpoint(path, c);
}

bool load_training_state(const std::string& path, ImageTrainer& tr, TrainingLog& log, int64_t steps) {
    if (!std::filesystem::exists(path)) return false;
    const Checkpoint c = load_checkpoint(path);
    ImageTrainer loaded = image_trainer_from_checkpoint(c, path);
    const std::string stored_steps = meta(c, "lesson.steps", path);
    const bool same = loaded.model.arch == tr.model.arch && loaded.schedule.beta == tr.schedule.beta &&
                      loaded.config.seed == tr.config.seed && loaded.config.batch == tr.config.batch &&
                      loaded.config.lr == tr.config.lr && stored_steps == std::to_string(steps);
    if (!same)
        fail(path + ": the state of another run (" + arch_name(loaded.model.arch) + ", " + loaded.schedule.name +
             ", seed " + std::to_string(loaded.config.seed) + ", " + stored_steps + " steps); delete it to start again");
    TrainingLog l;
    l.train_loss = split_exact(meta(c, "lesson.train_loss", path), path, "lesson.train_loss");
    l.val_loss = split_exact(meta(c, "lesson.val_loss", path), path, "lesson.val_loss");
    const std::vector<double> b = split_exact(meta(c, "lesson.block_loss", path), path, "lesson.block_loss");
    if (b.size() != 1 || l.train_loss.size() != l.val_loss.size())
        fail(path + ": the loss log is damaged; delete the file to start again");
    l.block_loss = b[0];
    tr = std::move(loaded);
    log = std::move(l);
    return true;
}

}  // namespace ddpm
