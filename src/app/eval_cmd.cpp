// ddpm eval: how far generated rows are from held-out data, beside the floor of the same sizes.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "app/commands.h"
#include "app/image_cmd.h"
#include "app/normalise.h"
#include "app/runtime.h"
#include "app/training_run.h"
#include "core/common.h"
#include "core/io.h"
#include "diffusion/metrics.h"
#include "core/rng.h"
#include "app/platform.h"
#include "store/csv.h"
#include "store/image_files.h"
#include "store/settings.h"

namespace ddpm {

namespace {

// The rows order[begin..end) of x (rows, dim), in that order.
std::vector<float> take_rows(const std::vector<float>& x, int dim, const std::vector<int>& order, int begin, int end) {
    std::vector<float> out;
    out.reserve(size_t(end - begin) * size_t(dim));
    for (int i = begin; i < end; ++i) {
        const float* row = x.data() + size_t(order[size_t(i)]) * size_t(dim);
        out.insert(out.end(), row, row + dim);
    }
    return out;
}

}  // namespace

int run_eval(const EvalArgs& a) {
    use_threads(a.threads);
    Stopwatch clock;
    // Each file read once, a regular file of at most kMaxEvalRows rows (and the columns and bytes of
    // every file of the tool).
    // Images (an IDX file or a folder of PNG files on either side) are image_cmd.cpp's.
    if (is_folder(a.samples) || is_folder(a.data)) return run_eval_images(a, "", "");
    FileId id;
    const std::string samples_bytes = read_input(a.samples, kMaxInputBytes, &id);
    if (looks_like_idx(samples_bytes)) return run_eval_images(a, samples_bytes, read_input(a.data, kMaxInputBytes, &id));
    const Dataset samples = parse_csv(samples_bytes, a.samples, kMaxEvalRows);
    const std::string data_bytes = read_input(a.data, kMaxInputBytes, &id);
    if (looks_like_idx(data_bytes)) return run_eval_images(a, samples_bytes, data_bytes);
    for (const char* flag : {"--paired", "--classifier"})
        if (a.given.count(flag)) fail(std::string(flag) + " applies to images only (IDX3 files or folders of PNG files)");
    const Dataset data = parse_csv(data_bytes, a.data, kMaxEvalRows);
    if (samples.dim != data.dim)
        fail(a.samples + " has " + std::to_string(samples.dim) + " columns, " + a.data + " has " +
             std::to_string(data.dim));
    if (data.n() < 4)
        fail(a.data + ": " + std::to_string(data.n()) + " rows; eval needs at least 4 (a floor and a reference part)");
    if (samples.n() < 2) fail(a.samples + ": 1 row; eval needs at least 2");
    const int dim = data.dim;

    // Both in the data's standard units, so that every column counts alike.
    std::vector<std::string> notes;  // printed now that every check has passed
    const Normalisation nm = fit_normalisation(data, a.data, &notes);
    for (const std::string& note : notes) std::fprintf(stderr, "%s\n", terminal_text(note, 1024).c_str());
    const std::vector<float> zs = standardise(nm, samples.x), zd = standardise(nm, data.x);

    // data = floor part F (the first n_floor rows of a shuffle) + reference part R (the rest);
    // the samples are cut to n_floor rows, so that d(A, R) and d(F, R) compare equal sizes with the same R.
    const int n_floor = std::min(samples.n(), data.n() / 2), n_ref = data.n() - n_floor;
    const std::vector<int> split = shuffled(data.n(), a.seed, kSplitStream);
    const std::vector<float> floor_part = take_rows(zd, dim, split, 0, n_floor);
    const std::vector<float> reference = take_rows(zd, dim, split, n_floor, data.n());
    const std::vector<int> subset = shuffled(samples.n(), a.seed, kSubsetStream);
    const std::vector<float> candidate = take_rows(zs, dim, subset, 0, n_floor);

    // distance_report's distances, with the energy distance (quadratic in the rows) on at most
    // kEnergyRows rows of each part: the first ones of each part, which are already in the seeded
    // random order of the shuffles above, so the subsample is a seeded random one.
    const int n_projections = 256;
    DistanceReport r;
    r.swd = sliced_wasserstein1(candidate.data(), n_floor, reference.data(), n_ref, dim, n_projections, a.seed);
    r.swd_floor = sliced_wasserstein1(floor_part.data(), n_floor, reference.data(), n_ref, dim, n_projections, a.seed);
    const int e_floor = int(std::min<int64_t>(n_floor, kEnergyRows)), e_ref = int(std::min<int64_t>(n_ref, kEnergyRows));
    r.energy = energy_distance(candidate.data(), e_floor, reference.data(), e_ref, dim);
    r.energy_floor = energy_distance(floor_part.data(), e_floor, reference.data(), e_ref, dim);

    std::printf("eval: %s against %s, %d column%s, both standardised with the column means and stds of %s\n",
                terminal_text(a.samples, 1024).c_str(), terminal_text(a.data, 1024).c_str(), dim, dim == 1 ? "" : "s", terminal_text(a.data, 1024).c_str());
    std::printf("sizes: %d of %d sample rows; the %d data rows split (seed %llu) into a floor part of %d rows and a "
                "reference part of %d\n\n",
                n_floor, samples.n(), data.n(), (unsigned long long)a.seed, n_floor, n_ref);
    if (e_floor < n_floor || e_ref < n_ref)
        std::printf("energy: on the first %d rows of the samples and of the floor part and the first %d of the "
                    "reference part (at most %lld each, in the seeded order of the split)\n\n",
                    e_floor, e_ref, (long long)kEnergyRows);
    Table table({"distance", "value", "floor", "ratio", "excess"});
    table.add_row({"sliced_w1", fmt(r.swd, 6), fmt(r.swd_floor, 6), r.swd_floor > 0 ? fmt(r.swd / r.swd_floor, 3) : "-",
                   fmt(r.swd - r.swd_floor, 6)});
    table.add_row({"energy", fmt(r.energy, 6), fmt(r.energy_floor, 6), "-", fmt(r.energy - r.energy_floor, 6)});
    // a floor of 0 (constant data: the floor part is the reference exactly) has no ratio: "-", never nan
    table.print("value = d(samples, reference), floor = d(floor part, reference), ratio = value / floor, "
                "excess = value - floor");
    std::printf("sliced_w1: a ratio near 1 is as good as a fresh sample of the data; energy: its floor estimates 0,\n"
                "so read the excess (the energy ratio would be noise over noise).\n");
    std::fprintf(stderr, "ddpm eval: %s\n", format_duration(clock.seconds()).c_str());
    return 0;
}

}  // namespace ddpm
