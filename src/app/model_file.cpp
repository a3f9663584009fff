#include "app/model_file.h"

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"

namespace ddpm {

Checkpoint model_file_checkpoint(const ModelFile& mf) {
    Checkpoint c = trainer_checkpoint(mf.trainer);
    put_normalisation(c, mf.norm);
    c.set_meta("tool.steps_total", std::to_string(mf.steps_total));
    return c;
}

void save_model_file(const std::string& path, const ModelFile& mf) { save_checkpoint(path, model_file_checkpoint(mf)); }

namespace {

// ---- what must hold before trainer_from_checkpoint may build anything --------------------------
// trainer_from_checkpoint (src/diffusion/train.cpp) allocates the network its metadata describes before it
// compares that with the tensors, and takes the training settings as they are. A file is checked
// here first, so that a damaged or crafted one (with a valid checksum) gives one line instead of an
// allocation of terabytes, an overflow, or a batch size of -1 on --resume.

// The whole number in entry `key`, which must lie in [lo, hi].
int64_t entry_int(const Checkpoint& c, const std::string& key, int64_t lo, int64_t hi, const std::string& path) {
    if (!c.has_meta(key)) fail(path + ": no entry '" + key + "'");
    const std::string text = c.get_meta(key);
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        fail(path + ": entry '" + key + "' should be a whole number from " + std::to_string(lo) + " to " +
             std::to_string(hi) + ", not '" + shown(text) + "'");
    return v;
}

// The number in entry `key`, which must be finite and lie in [lo, hi] (hi_open: in [lo, hi)).
double entry_number(const Checkpoint& c, const std::string& key, double lo, double hi, bool hi_open,
                    const std::string& path) {
    if (!c.has_meta(key)) fail(path + ": no entry '" + key + "'");
    const std::string text = c.get_meta(key);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi || (hi_open && v == hi))
        fail(path + ": entry '" + key + "' is not a number in the range the tool writes: '" + shown(text) + "'");
    return v;
}

void check_trainer_entries(const Checkpoint& c, const std::string& path) {
    // The bounds of trainer_from_checkpoint and of `ddpm train`'s flags.
    const int64_t dim = entry_int(c, "model.dim", 1, kMaxColumns, path);
    const int64_t emb = entry_int(c, "model.emb_dim", 2, 4096, path);
    const int64_t hidden = entry_int(c, "model.hidden", 1, 65536, path);
    const int64_t layers = entry_int(c, "model.layers", 1, 64, path);
    entry_int(c, "model.residual", 0, 1, path);
    // Every weight is stored in the file, so the network cannot hold more values than the file does.
    // A lower bound of its size for both kinds (plain: one hidden x hidden matrix per layer after the
    // first; residual: at least one per block) is enough to bound what gets allocated.
    const int64_t least = (dim + emb) * hidden + (layers - 1) * hidden * hidden + hidden * dim;
    int64_t stored = 0;
    for (const auto& [name, t] : c.tensors) {
        stored += t.numel();
        // `ddpm train` never saves a state that is not finite (a diverged run stops first).
        for (int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(t.data()[i])) fail(path + ": tensor '" + shown(name) + "' holds a value that is not finite");
    }
    if (least > stored)
        fail(path + ": the model it describes (" + std::to_string(layers) + " layers of " + std::to_string(hidden) +
             ") needs at least " + std::to_string(least) + " values, the file holds " + std::to_string(stored));
    entry_int(c, "schedule.T", 1, 1000000, path);
    entry_int(c, "train.batch", 1, 1 << 20, path);
    entry_number(c, "train.lr", FLT_MIN, FLT_MAX, false, path);  // the float Adam uses
    entry_number(c, "train.ema_decay", 0.0, 1.0, true, path);
    entry_number(c, "train.clip", -1e300, 1e300, false, path);
    for (const char* key : {"train.step", "adam.t", "ema.updates", "train.seed", "rng.index", "rng.t", "rng.eps"})
        entry_int(c, key, 0, INT64_MAX, path);
    if (!c.has_meta("model.act")) fail(path + ": no entry 'model.act'");
    const std::string act = c.get_meta("model.act");
    if (act != "relu" && act != "gelu" && act != "silu")
        fail(path + ": entry 'model.act' is not an activation (relu, gelu or silu): '" + shown(act) + "'");
    // The schedule's name is printed in progress lines: short and free of control bytes.
    if (!c.has_meta("schedule.name")) fail(path + ": no entry 'schedule.name'");
    const std::string schedule = c.get_meta("schedule.name");
    if (schedule.size() > 200 || shown(schedule, schedule.size()) != schedule)
        fail(path + ": entry 'schedule.name' is not a schedule's name: '" + shown(schedule) + "'");
}

ModelFile read_model_file(const std::string& bytes, const std::string& path) {
    const Checkpoint c = parse_checkpoint(bytes, path);
    Normalisation norm = get_normalisation(c, path);
    if (!c.has_meta("tool.steps_total")) fail(path + ": no entry 'tool.steps_total': not a checkpoint of the ddpm tool");
    const std::string text = c.get_meta("tool.steps_total");
    char* end = nullptr;
    const long long steps_total = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || steps_total < 1)
        fail(path + ": entry 'tool.steps_total' is not a step count: '" + shown(text) + "'");
    check_trainer_entries(c, path);
    ModelFile mf{std::move(norm), trainer_from_checkpoint(c, path), steps_total};
    if (mf.trainer.model.config.dim != mf.norm.columns())
        fail(path + ": the network has " + std::to_string(mf.trainer.model.config.dim) + " columns, its normalisation " +
             std::to_string(mf.norm.columns()));
    return mf;
}

}  // namespace

ModelFile load_model_file(const std::string& path) { return parse_model_file(read_file(path), path); }

ModelFile parse_model_file(const std::string& bytes, const std::string& path) {
    try {
        return read_model_file(bytes, path);
    } catch (const NotImplemented&) {
        throw;
    } catch (const std::exception& e) {
        // Some messages of the core do not know the file ("checkpoint has no entry 'model.dim'").
        const std::string what = e.what();
        if (what.compare(0, path.size() + 1, path + ":") == 0) throw;
        fail(path + ": " + what);
    }
}

}  // namespace ddpm
