#include "evaluate.h"

#include <algorithm>

#include "data.h"

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

}  // namespace ddpm
