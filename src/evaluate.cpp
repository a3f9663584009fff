#include "evaluate.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "checkpoint.h"
#include "data.h"
#include "schedule.h"

namespace ddpm {

SetScore score_against_set(const float* samples, int n, const std::string& set, uint64_t seed, int draws) {
    const Dataset reference = make_dataset(set, n, seed + 1000);
    const int dim = reference.dim;
    SetScore s;
    s.n = n;
    s.swd = sliced_wasserstein1(samples, n, reference.x.data(), n, dim, 256, seed);
    s.energy = energy_distance(samples, n, reference.x.data(), n, dim);
    s.floor = distance_floor(
        [&](int k, float* out) {
            const Dataset d = make_dataset(set, n, seed + 2000 + uint64_t(k));
            std::copy(d.x.begin(), d.x.end(), out);
        },
        n, reference.x.data(), n, dim, draws, seed);
    return s;
}

Trainer lesson03_model(const std::string& set, uint64_t seed) {
    const std::string path = "out/03_train/" + set + ".ckpt";
    if (std::filesystem::exists(path)) return trainer_from_checkpoint(load_checkpoint(path), path);
    std::fprintf(stderr, "  %s: %s not found (run lesson 03 first for the same model); training 3000 steps here\n",
                 set.c_str(), path.c_str());
    const Dataset data = make_dataset(set, 20000, seed);
    EpsModelConfig mc;
    mc.dim = data.dim;
    TrainConfig tc;
    tc.seed = seed;
    Trainer tr(mc, tc, linear_schedule(1000));
    for (int i = 0; i < 3000; ++i) tr.train_step(data.x.data(), data.n());
    return tr;
}

}  // namespace ddpm
