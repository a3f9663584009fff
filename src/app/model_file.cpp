#include "app/model_file.h"

#include <cstdint>

#include "core/common.h"
#include "core/io.h"
#include "store/settings.h"
#include "store/trainer_checkpoint.h"

namespace ddpm {

Checkpoint model_file_checkpoint(const ModelFile& mf) {
    Checkpoint c = trainer_checkpoint(mf.trainer);
    put_normalisation(c, mf.norm);
    c.set_meta("tool.steps_total", std::to_string(mf.steps_total));
    if (mf.objective != "eps") c.set_meta("model.objective", mf.objective);
    return c;
}

void save_model_file(const std::string& path, const ModelFile& mf) { save_checkpoint(path, model_file_checkpoint(mf)); }

namespace {

ModelFile read_model_file(const std::string& bytes, const std::string& path) {
    const Checkpoint c = parse_checkpoint(bytes, path);
    if (c.has_meta("model.kind") && c.get_meta("model.kind") == "image")
        fail(path + ": an image model (" + shown(c.has_meta("model.arch") ? c.get_meta("model.arch") : "?") +
             "); it trains on images (an IDX3 file or a folder of PNG files) and samples to .png or .idx, not CSV");
    Normalisation norm = get_normalisation(c, path);
    if (!c.has_meta("tool.steps_total")) fail(path + ": no entry 'tool.steps_total': not a checkpoint of the ddpm tool");
    const int64_t steps_total = checkpoint_setting(c, setting::steps, path);
    // trainer_from_checkpoint checks every entry of the trainer against the settings table, and the
    // network's size against the values the file holds, before it allocates anything.
    std::string objective = "eps";
    if (c.has_meta("model.objective")) {
        objective = c.get_meta("model.objective");
        // x0 and v: lesson 11's targets, in models of src/torch/train.py (sampled here, not trained)
        if (objective != "eps" && objective != "flow" && objective != "x0" && objective != "v")
            fail(path + ": model.objective '" + shown(objective) + "' is not eps, flow, x0 or v");
    }
    ModelFile mf{std::move(norm), trainer_from_checkpoint(c, path), steps_total, objective};
    if (mf.trainer.model.config.dim != mf.norm.columns())
        fail(path + ": the network has " + std::to_string(mf.trainer.model.config.dim) + " columns, its normalisation " +
             std::to_string(mf.norm.columns()));
    return mf;
}

}  // namespace

ModelFile load_model_file(const std::string& path) { return parse_model_file(read_file(path, kMaxInputBytes), path); }

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
