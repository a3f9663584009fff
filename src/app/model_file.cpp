#include "app/model_file.h"

#include <cstdlib>

#include "common.h"

namespace ddpm {

Checkpoint model_file_checkpoint(const ModelFile& mf) {
    Checkpoint c = trainer_checkpoint(mf.trainer);
    put_normalisation(c, mf.norm);
    c.set_meta("tool.steps_total", std::to_string(mf.steps_total));
    return c;
}

void save_model_file(const std::string& path, const ModelFile& mf) { save_checkpoint(path, model_file_checkpoint(mf)); }

namespace {

ModelFile read_model_file(const std::string& path) {
    const Checkpoint c = load_checkpoint(path);
    Normalisation norm = get_normalisation(c, path);
    if (!c.has_meta("tool.steps_total")) fail(path + ": no entry 'tool.steps_total': not a checkpoint of the ddpm tool");
    const std::string text = c.get_meta("tool.steps_total");
    char* end = nullptr;
    const long long steps_total = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || steps_total < 1)
        fail(path + ": entry 'tool.steps_total' is not a step count: '" + text + "'");
    ModelFile mf{std::move(norm), trainer_from_checkpoint(c, path), steps_total};
    if (mf.trainer.model.config.dim != mf.norm.columns())
        fail(path + ": the network has " + std::to_string(mf.trainer.model.config.dim) + " columns, its normalisation " +
             std::to_string(mf.norm.columns()));
    return mf;
}

}  // namespace

ModelFile load_model_file(const std::string& path) {
    try {
        return read_model_file(path);
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
