#include "lessonkit/recipes.h"

namespace ddpm {

ImageTrainConfig unet_recipe(uint64_t seed, bool conditional) {
    ImageTrainConfig c;
    c.batch = 64;
    c.lr = 1e-3f;
    c.ema_decay = 0.999f;
    c.clip = 1.0;
    c.seed = seed;
    c.unet = unet_residual_config();
    if (conditional) {
        c.unet.classes = 10;
        c.label_drop = 0.1f;
    }
    return c;
}

ImageTrainConfig cold_recipe(uint64_t seed, bool blur) {
    ImageTrainConfig c;
    c.batch = 128;
    c.lr = 2e-4f;
    c.ema_decay = 0.999f;
    c.clip = 1.0;
    c.seed = seed;
    c.unet = unet_convnext_config();
    if (blur) c.blur_T = 100;  // beta 1, 11 taps: the defaults of ImageTrainConfig
    return c;
}

}  // namespace ddpm
