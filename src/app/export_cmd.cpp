// ddpm export and ddpm import (export.h): checkpoint <-> safetensors.
#include <cstdio>
#include <cstring>

#include "app/cli.h"
#include "app/export.h"
#include "app/model_file.h"
#include "app/platform.h"
#include "app/runtime.h"
#include "core/common.h"
#include "core/io.h"
#include "store/image_checkpoint.h"
#include "store/safetensors.h"
#include "diffusion/image_train.h"
#include "store/settings.h"
#include "diffusion/train.h"
#include "store/trainer_checkpoint.h"

namespace ddpm {

const char* export_help() {
    return "usage: ddpm export --model IN.ckpt --out OUT.safetensors [--raw]\n"
           "\n"
           "Writes the weights of a checkpoint in the safetensors format, which PyTorch reads (with the\n"
           "safetensors package, or with json and torch.frombuffer: docs/next-steps.md shows how). Names are\n"
           "those of the checkpoint; Linear weights are transposed to PyTorch's (out, in); the checkpoint's\n"
           "metadata (architecture, schedule, normalisation, ...) goes into the header's __metadata__.\n"
           "\n"
           "  --model IN.ckpt          checkpoint of `ddpm train`, or any checkpoint of tensors (required)\n"
           "  --out OUT.safetensors    file to write (required); written atomically\n"
           "  --ema | --raw            the averaged weights (default) or the last iterate\n";
}

const char* import_help() {
    return "usage: ddpm import --model IN.safetensors --out OUT.ckpt\n"
           "\n"
           "Turns a file of `ddpm export` back into a checkpoint that `ddpm sample` reads: the weights become\n"
           "the checkpoint's weights (and its EMA weights), the metadata its entries. Adam's state was not\n"
           "exported: training resumed from the result starts the optimiser afresh.\n"
           "\n"
           "  --model IN.safetensors   file of `ddpm export` (required)\n"
           "  --out OUT.ckpt           checkpoint to write (required); written atomically\n";
}

namespace {

// "--flag value" or "--flag=value"; switches take no value.
bool parse_pair(const std::string& command, const std::vector<std::string>& args, std::string& model,
                std::string& out, bool* use_ema) {
    for (const std::string& a : args)
        if (a == "--help" || a == "-h") {
            std::fputs(command == "export" ? export_help() : import_help(), stdout);
            return false;
        }
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (word.compare(0, 2, "--") != 0)
            fail(command + ": unexpected argument '" + word + "' (flags start with --; try 'ddpm " + command + " --help')");
        const size_t eq = word.find('=');
        const std::string flag = word.substr(0, eq);
        const auto value = [&]() -> std::string {
            if (eq != std::string::npos) return word.substr(eq + 1);
            if (i + 1 >= args.size() || args[i + 1].compare(0, 2, "--") == 0) fail(command + " " + flag + ": missing value");
            return args[++i];
        };
        if (flag == "--model") model = value();
        else if (flag == "--out") out = value();
        else if (use_ema && (flag == "--ema" || flag == "--raw")) {
            if (eq != std::string::npos) fail(command + " " + flag + ": takes no value");
            *use_ema = flag == "--ema";
        } else fail(command + ": unknown flag '" + flag + "' (try 'ddpm " + command + " --help')");
    }
    const char* in_meta = command == "export" ? "--model IN.ckpt" : "--model IN.safetensors";
    const char* out_meta = command == "export" ? "--out OUT.safetensors" : "--out OUT.ckpt";
    if (model.empty()) fail(command + ": " + in_meta + " is required (try 'ddpm " + command + " --help')");
    if (out.empty()) fail(command + ": " + out_meta + " is required (try 'ddpm " + command + " --help')");
    require_file_name(model, "--model");
    require_file_name(out, "--out");
    return true;
}

bool starts_with(const std::string& s, const char* prefix) { return s.compare(0, std::strlen(prefix), prefix) == 0; }

// A Linear weight of ours: rank 2, named "*.weight" (every other parameter has rank 1 or 4).
bool is_linear_weight(const std::string& name, const Tensor& t) {
    const std::string suffix = ".weight";
    return t.ndim() == 2 && name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Tensor transposed(const Tensor& t) {
    const int r = t.dim(0), c = t.dim(1);
    std::vector<float> v(size_t(r) * size_t(c));
    for (int i = 0; i < r; ++i)
        for (int j = 0; j < c; ++j) v[size_t(j) * size_t(r) + size_t(i)] = t.data()[size_t(i) * size_t(c) + size_t(j)];
    return Tensor::from(Shape{c, r}, std::move(v));
}

// Runs `body`; an error that does not start with `source` gets it in front (some readers of the core
// do not know the file's name).
template <typename F>
void naming(const std::string& source, F body) {
    try {
        body();
    } catch (const NotImplemented&) {
        throw;
    } catch (const std::exception& e) {
        const std::string what = e.what();
        if (what.compare(0, source.size() + 1, source + ":") == 0) throw;
        fail(source + ": " + what);
    }
}

}  // namespace

bool parse_export_args(const std::vector<std::string>& args, ExportArgs& o) {
    return parse_pair("export", args, o.model, o.out, &o.use_ema);
}

bool parse_import_args(const std::vector<std::string>& args, ImportArgs& o) {
    return parse_pair("import", args, o.model, o.out, nullptr);
}

Checkpoint export_weights(const Checkpoint& c, bool use_ema, const std::string& source) {
    bool has_ema = false;
    for (const auto& nt : c.tensors) has_ema = has_ema || starts_with(nt.first, "ema.");
    if (!use_ema && !has_ema)
        fail(source + ": holds one set of weights (no 'ema.' tensors), so --raw has nothing to choose from");
    Checkpoint out;
    out.meta = c.meta;
    out.set_meta("format", "pt");
    out.set_meta("ddpm.weights", has_ema ? (use_ema ? "ema" : "raw") : "single");
    out.set_meta("ddpm.linear_weight_layout", "out_in");
    out.set_meta("ddpm.had_ema", has_ema ? "1" : "0");
    for (const auto& [name, t] : c.tensors) {
        if (starts_with(name, "adam.")) continue;
        const bool ema = starts_with(name, "ema.");
        if (has_ema && ema != use_ema) continue;
        const std::string plain = ema ? name.substr(4) : name;
        if (has_ema && !ema && !c.find_tensor("ema." + name))
            fail(source + ": tensor '" + shown(name) + "' has no EMA counterpart 'ema." + shown(name) + "'");
        if (has_ema && ema && !c.find_tensor(plain))
            fail(source + ": EMA tensor '" + shown(name) + "' has no weight '" + shown(plain) + "' beside it");
        out.add_tensor(plain, is_linear_weight(plain, t) ? transposed(t) : t);
    }
    if (out.tensors.empty()) fail(source + ": holds no weights to export");
    return out;
}

Checkpoint import_weights(const Checkpoint& x, const std::string& source) {
    const auto meta = [&](const char* key) -> std::string {
        if (!x.has_meta(key)) fail(source + ": no metadata '" + key + "': not a file of `ddpm export`");
        return x.get_meta(key);
    };
    if (meta("ddpm.linear_weight_layout") != "out_in")
        fail(source + ": metadata 'ddpm.linear_weight_layout' is '" + shown(x.get_meta("ddpm.linear_weight_layout")) +
             "', this program reads out_in");
    const std::string had_ema = meta("ddpm.had_ema");
    if (had_ema != "0" && had_ema != "1") fail(source + ": metadata 'ddpm.had_ema' is neither 0 nor 1");
    Checkpoint c;
    for (const auto& kv : x.meta)
        if (kv.first != "format" && !starts_with(kv.first, "ddpm.")) c.meta.push_back(kv);
    if (c.has_meta("adam.t")) c.set_meta("adam.t", "0");
    std::vector<std::pair<std::string, Tensor>> weights;
    for (const auto& [name, t] : x.tensors) {
        if (starts_with(name, "ema.") || starts_with(name, "adam."))
            fail(source + ": tensor '" + shown(name) + "': an export holds one set of weights, without ema. or adam. names");
        weights.push_back({name, is_linear_weight(name, t) ? transposed(t) : t});
    }
    if (weights.empty()) fail(source + ": holds no tensors");
    for (const auto& nt : weights) c.add_tensor(nt.first, nt.second);
    if (had_ema == "1")
        for (const auto& nt : weights) c.add_tensor("ema." + nt.first, nt.second);
    return c;
}

void check_imported(const Checkpoint& c, const std::string& source) {
    naming(source, [&] {
        // the kinds of model import does not make a checkpoint of, named (issue 33.11)
        if (c.has_meta("blur.T"))
            fail(source + ": a cold-diffusion model (lesson 10's blur); ddpm import takes the models of ddpm train "
                          "and of the lessons' noise diffusion");
        const bool image = c.has_meta("model.kind") && c.get_meta("model.kind") == "image";
        if (!image && !c.has_meta("model.dim") && !c.has_meta("schedule.name"))
            fail(source + ": not a diffusion model (no schedule and no network entries: the MNIST classifier?); "
                          "ddpm import takes the models of ddpm train and of the lessons' noise diffusion");
        if (image) {
            if (c.find_tensor("ema." + c.tensors.at(0).first)) {
                (void)image_trainer_from_checkpoint(c, source);
            } else {
                Schedule s;
                (void)image_model_from_checkpoint(c, source, s);
            }
        } else if (c.has_meta("tool.steps_total")) {
            (void)parse_model_file(serialize_checkpoint(c), source);
        } else {
            (void)trainer_from_checkpoint(c, source);
        }
    });
}

int run_export(const ExportArgs& a) {
    StopSignals stop("ddpm export: %s: stopped; " + a.out + " was not written");
    use_process_temp_names();
    check_output_kind(a.out);
    OutputLock lock(a.out, "export");
    remove_stale_temp_files(a.out);
    FileId model_id;
    const std::string bytes = read_input(a.model, kMaxInputBytes, &model_id);
    check_not_input("--out", a.out, "--model", a.model, model_id);
    if (looks_like_safetensors(bytes))
        fail(a.model + ": a safetensors file already (`ddpm import` makes a checkpoint of it)");
    const Checkpoint c = parse_checkpoint(bytes, a.model);
    const Checkpoint x = export_weights(c, a.use_ema, a.model);
    std::string out;
    naming(a.out, [&] { out = serialize_safetensors(x); });
    note_replaced(a.out);
    write_file_atomic(a.out, out);
    int64_t values = 0;
    for (const auto& nt : x.tensors) values += nt.second.numel();
    std::printf("wrote %s: %zu tensors, %lld values (%s weights) and %zu metadata entries of %s\n", terminal_text(a.out, 1024).c_str(),
                x.tensors.size(), (long long)values, x.get_meta("ddpm.weights").c_str(), x.meta.size(), terminal_text(a.model, 1024).c_str());
    return 0;
}

int run_import(const ImportArgs& a) {
    StopSignals stop("ddpm import: %s: stopped; " + a.out + " was not written");
    use_process_temp_names();
    check_output_kind(a.out);
    OutputLock lock(a.out, "import");
    remove_stale_temp_files(a.out);
    FileId model_id;
    const std::string bytes = read_input(a.model, kMaxInputBytes, &model_id);
    check_not_input("--out", a.out, "--model", a.model, model_id);
    if (bytes.compare(0, 8, "DDPMCKPT") == 0)
        fail(a.model + ": a ddpm checkpoint already (`ddpm export` makes a safetensors file of it)");
    const Checkpoint c = import_weights(parse_safetensors(bytes, a.model), a.model);
    check_imported(c, a.model);
    note_replaced(a.out);
    save_checkpoint(a.out, c);
    std::printf("wrote %s: %zu tensors and %zu metadata entries from %s\n", terminal_text(a.out, 1024).c_str(), c.tensors.size(),
                c.meta.size(), terminal_text(a.model, 1024).c_str());
    return 0;
}

}  // namespace ddpm
