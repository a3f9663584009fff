#include "lessonkit/evaluate.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "store/checkpoint.h"
#include "diffusion/schedule.h"
#include "store/trainer_checkpoint.h"

namespace ddpm {

SetScore score_against_set(const float* samples, int n, const std::string& set, uint64_t seed, int draws) {
    const Dataset reference = make_dataset(set, n, seed + kHeldOut);
    const int dim = reference.dim;
    SetScore s;
    s.n = n;
    s.swd = sliced_wasserstein1(samples, n, reference.x.data(), n, dim, 256, seed);
    s.energy = energy_distance(samples, n, reference.x.data(), n, dim);
    s.floor = distance_floor(
        [&](int k, float* out) {
            const Dataset d = make_dataset(set, n, seed + kFloor + uint64_t(k));
            std::copy(d.x.begin(), d.x.end(), out);
        },
        n, reference.x.data(), n, dim, draws, seed);
    return s;
}

namespace {

void coordinates(const std::vector<float>& x, int n, std::vector<float>& xs, std::vector<float>& ys) {
    for (int i = 0; i < n; ++i) {
        xs.push_back(x[size_t(2 * i)]);
        ys.push_back(x[size_t(2 * i + 1)]);
    }
}

void toy_window(plot::Axes& ax, const std::string& title) {
    ax.xlim(-3.5f, 3.5f);
    ax.ylim(-3.5f, 3.5f);
    ax.equal_aspect();
    ax.title(title);
    ax.xlabel("first coordinate");
    ax.ylabel("second coordinate");
}

}  // namespace

void toy_scatter(plot::Axes& ax, const std::vector<float>& x, int n, const std::vector<plot::Color>& colours,
                 float radius, const std::string& title) {
    std::vector<float> xs, ys;
    coordinates(x, n, xs, ys);
    ax.scatter(xs, ys, colours, radius);
    toy_window(ax, title);
}

void toy_scatter(plot::Axes& ax, const std::vector<float>& x, int n, plot::Color colour, float radius,
                 const std::string& title) {
    std::vector<float> xs, ys;
    coordinates(x, n, xs, ys);
    ax.scatter(xs, ys, colour, radius);
    toy_window(ax, title);
}

Trainer toy_trainer(const Dataset& data, uint64_t seed) {
    EpsModelConfig mc;
    mc.dim = data.dim;
    TrainConfig tc;
    tc.seed = seed;
    return Trainer(mc, tc, linear_schedule(1000));
}

Trainer lesson03_model(const LessonArgs& args, const std::string& set) {
    const std::filesystem::path folder = std::filesystem::path(args.out_dir).parent_path() / "03_train";
    const std::string path = (folder / (set + ".ckpt")).string();
    if (std::filesystem::exists(path)) return trainer_from_checkpoint(load_checkpoint(path), path);
    std::fprintf(stderr, "  %s: %s not found (run lesson 03 first for the same model); training %d steps here\n",
                 set.c_str(), path.c_str(), kToyQuickSteps);
    const Dataset data = make_dataset(set, kToyRows, args.seed);
    Trainer tr = toy_trainer(data, args.seed);
    for (int i = 0; i < kToyQuickSteps; ++i) tr.train_step(data.x.data(), data.n());
    return tr;
}

}  // namespace ddpm
