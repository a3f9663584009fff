#include "app/runtime.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"
#include "store/settings.h"

namespace ddpm {

void use_threads(int threads) {
    // --threads wins over DDPM_THREADS, which is then not read at all (a bad value there does not end a
    // run that says how many threads it wants)
    if (threads > 0) return set_num_threads(threads);
    const int n = default_num_threads();
    if (n != num_threads()) set_num_threads(n);
}

int train_threads_for(int64_t batch, int dim, int emb, int hidden, int layers, bool residual) {
    const int64_t work = batch * eps_model_values(dim, emb, hidden, layers, residual);
    const int64_t wanted = std::max<int64_t>(1, work / kTrainWorkPerThread);
    return int(std::min<int64_t>(wanted, default_num_threads()));
}

void note_replaced(const std::string& path) {
    if (file_id(path).known) std::fprintf(stderr, "ddpm: note: %s exists and will be replaced\n", terminal_text(path, 1024).c_str());
}

void check_writable(const std::string& path) {
    check_output_kind(path);
    const std::filesystem::path p(path);
    if (p.has_parent_path()) make_dirs(p.parent_path().string());
    const std::string probe = temp_path_for(path);  // a name of this process's own
    set_in_progress(probe);  // a signal between the fopen and the remove takes the probe with it
    FILE* f = std::fopen(probe.c_str(), "wbx");
    if (!f) {
        clear_in_progress();
        fail(path + ": cannot write: " + std::strerror(errno));
    }
    std::fclose(f);
    std::remove(probe.c_str());
    clear_in_progress();
}

void check_not_input(const std::string& out_flag, const std::string& out, const std::string& in_flag,
                     const std::string& in, const FileId& in_id) {
    if (file_id(out) == in_id)
        fail(out + ": " + out_flag + " is the same file as " + in_flag + " " + in + "; writing it would destroy it");
}

namespace {

constexpr double kFloat = 4.0;  // bytes

[[noreturn]] void too_much(const std::string& what, double bytes, const std::string& why) {
    fail(what + " needs about " + bytes_text(bytes) + " (" + why + "); the tool's limit is " +
         bytes_text(double(kMemoryLimit)));
}

}  // namespace

void check_train_memory(int64_t rows, int dim, int hidden, int layers, bool residual, int batch,
                        const std::string& who) {
    const int emb = int(setting::emb_dim.fallback);
    const double weights = double(eps_model_values(dim, emb, hidden, layers, residual));
    // the weights, their gradients, Adam's two moments and the average; a checkpoint copies four of
    // them and serialises them once more
    const double network = kFloat * weights * 13.0;
    // one step: inputs, pre-activations, activations and their gradients of every layer, per row
    const double per_row = double(dim + emb) + double(hidden) * double(layers) * (residual ? 8.0 : 4.0) + 2.0 * dim;
    const double step = kFloat * double(batch) * per_row * 2.0;
    const double data = kFloat * double(rows) * double(dim) * 2.0;  // the rows and their standardised copy
    if (network + step + data <= double(kMemoryLimit)) return;
    const std::string shape = "--hidden " + std::to_string(hidden) + " --layers " + std::to_string(layers);
    const std::string source = who.empty() ? "" : who + ": ";
    if (network >= step && network >= data)
        too_much(source + shape + ": a network of " + std::to_string(int64_t(weights)) + " weights", network + step + data,
                 "the weights, their gradients, Adam's moments, their average and the checkpoint");
    if (step >= data)
        too_much(source + "--batch " + std::to_string(batch) + " with " + shape, network + step + data,
                 "the activations and gradients of one step");
    too_much(source + std::to_string(rows) + " rows of " + std::to_string(dim) + " columns", network + step + data,
             "the data and its standardised copy");
}

void check_sample_memory(int64_t n, int dim, int hidden, int layers, bool residual, int threads, int floats) {
    const int emb = int(setting::emb_dim.fallback);
    const double weights = double(eps_model_values(dim, emb, hidden, layers, residual));
    // `floats` a value (x_t, eps, the noise and x_0 of every row, the rows in data units, for ddpm and
    // ddim), and the CSV text (at most 16 bytes a value)
    const double values = double(n) * double(dim);
    const double rows = values * (double(floats) * kFloat + 16.0);
    // every thread that evaluates the network keeps four buffers of a chunk's rows by the widest layer
    const int64_t chunk = std::min<int64_t>(n, 512), chunks = (n + 511) / 512;
    const double buffers = double(std::min<int64_t>(threads, chunks)) * 4.0 * double(chunk) *
                           double(std::max(hidden, dim + emb)) * kFloat;
    const double bytes = rows + buffers + 2.0 * kFloat * weights;
    if (bytes <= double(kMemoryLimit)) return;
    if (buffers > rows)
        too_much("--threads " + std::to_string(threads) + " on a network of width " + std::to_string(hidden), bytes,
                 "the buffers of 512 rows that each thread keeps; use fewer --threads");
    too_much("--n " + std::to_string(n) + " of " + std::to_string(dim) + " columns", bytes,
             "the rows of every step and the CSV text; write fewer rows per run, with another --seed each");
}

std::string format_duration(double seconds) {
    char buf[32];
    if (seconds < 10) std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    else if (seconds < 60) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
    else if (seconds < 3600) {
        const long s = std::lround(seconds);
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    } else {
        const long m = std::lround(seconds / 60);
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
    }
    return buf;
}

}  // namespace ddpm
