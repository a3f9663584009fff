#include "diffusion/trainer_state.h"

#include <utility>

namespace ddpm {

void TrainerState::start(Params network, float lr, float ema_decay, uint64_t seed, uint64_t index_stream,
                         uint64_t t_stream, uint64_t eps_stream) {
    params = std::move(network);
    adam = Adam(AdamConfig{lr});
    ema = EMA(params, ema_decay);
    step = 0;
    index_rng = Rng(seed, index_stream);
    t_rng = Rng(seed, t_stream);
    eps_rng = Rng(seed, eps_stream);
}

double TrainerState::update(double clip) {
    const double norm = clip > 0 ? clip_grad_norm(params, clip) : 0.0;
    adam.step(params);
    ema.update(params);
    ++step;
    return norm;
}

}  // namespace ddpm
