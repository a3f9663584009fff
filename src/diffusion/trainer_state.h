// trainer_state.h: what every trainer carries from one step to the next, whatever it trains (the toy
// eps-model, an image network, lesson 11's objectives): the parameters, Adam's moments, the EMA of the
// weights, the step counter, and the three random streams of Algorithm 1 (which rows, which t, which
// noise). A trainer is one of these plus its configuration, its schedule and its network; its file
// holds exactly these (store/trainer_checkpoint.h), so that a run resumed from it goes on with the
// same bits as one that never stopped.
#pragma once

#include <cstdint>

#include "core/nn.h"
#include "core/optim.h"
#include "core/rng.h"

namespace ddpm {

struct TrainerState {
    Params params;
    Adam adam;
    EMA ema;
    int64_t step = 0;                // optimiser steps taken
    Rng index_rng, t_rng, eps_rng;   // the batch's rows, its timesteps, its noise

    // Takes the network's parameters, an Adam at learning rate lr and an EMA of the given decay, and
    // the three streams of `seed` (each trainer has its own stream numbers).
    void start(Params network, float lr, float ema_decay, uint64_t seed, uint64_t index_stream, uint64_t t_stream,
               uint64_t eps_stream);
    // After backward(): the gradients clipped to a joint norm of `clip` (<= 0: not clipped), one Adam
    // step, one EMA update, step + 1. Returns the norm before clipping (0 when not clipped).
    double update(double clip);
};

}  // namespace ddpm
