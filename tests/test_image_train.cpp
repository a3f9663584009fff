// The image trainer (diffusion/image_train.h): the training state that makes a stopped run continue
// with the same bits, the model file, and the same bits on any thread count. The U-Net's blocks
// (L09.1, L09.2) are tested in test_unet_blocks.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "store/checkpoint.h"
#include "core/image_ops.h"
#include "core/ops.h"
#include "core/pool.h"
#include "diffusion/image_train.h"
#include "helpers.h"
#include "store/image_checkpoint.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

// 12 images of 8 x 8 with values in [-1, 1]
ImageSet tiny_images() {
    ImageSet s;
    s.n = 12;
    s.h = s.w = 8;
    s.x.resize(size_t(s.n) * 64);
    Rng(5, 1).fill_uniform(s.x.data(), int64_t(s.x.size()), -1.0f, 1.0f);
    return s;
}

ImageTrainConfig tiny_config(UNetBlockKind kind) {
    ImageTrainConfig c;
    c.batch = 3;
    c.lr = 1e-3f;
    c.seed = 7;
    c.unet.block = kind;
    c.unet.c0 = c.unet.c1 = c.unet.c2 = 8;
    return c;
}

}  // namespace

TEST_CASE("image trainer: stopped and resumed from its checkpoint, it gives the same bits as one run") {
    const ImageSet data = tiny_images();
    std::vector<int> rows(static_cast<size_t>(data.n));
    for (int i = 0; i < data.n; ++i) rows[size_t(i)] = i;
    for (UNetBlockKind kind : {UNetBlockKind::Residual, UNetBlockKind::ConvNeXt}) {
        CAPTURE(unet_block_name(kind));
        ImageTrainer straight(ImageArch::UNet, tiny_config(kind), cosine_schedule(50));
        for (int i = 0; i < 6; ++i) straight.train_step(data, rows);

        ImageTrainer first(ImageArch::UNet, tiny_config(kind), cosine_schedule(50));
        for (int i = 0; i < 3; ++i) first.train_step(data, rows);
        const std::string bytes = serialize_checkpoint(image_trainer_checkpoint(first));
        ImageTrainer resumed = image_trainer_from_checkpoint(parse_checkpoint(bytes, "state"), "state");
        CHECK(resumed.step == 3);
        CHECK(resumed.model.unet.config.block == kind);
        for (int i = 0; i < 3; ++i) resumed.train_step(data, rows);
        CHECK(same_bits(straight.params, resumed.params));
        CHECK(same_bits(straight.ema_model().params(), resumed.ema_model().params()));
        CHECK_FALSE(same_bits(straight.params, first.params));  // the last three steps did change them
    }
}

TEST_CASE("image model file: the EMA weights and the schedule round-trip; bad entries are one-line errors") {
    ImageTrainer tr(ImageArch::UNet, tiny_config(UNetBlockKind::Residual), cosine_schedule(50));
    const ImageSet data = tiny_images();
    tr.train_step(data, {0, 1, 2});
    const ImageModel ema = tr.ema_model();
    const Checkpoint c = image_model_checkpoint(ema, tr.schedule);
    Schedule s;
    const ImageModel back = image_model_from_checkpoint(parse_checkpoint(serialize_checkpoint(c), "m"), "m", s);
    CHECK(same_bits(ema.params(), back.params()));
    CHECK(s.T == 50);
    CHECK(s.alpha_bar == tr.schedule.alpha_bar);
    CHECK(s.name == tr.schedule.name);

    Checkpoint bad = c;
    bad.set_meta("unet.channels", "8,8");
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s),
                      doctest::Contains("m.ckpt: entry 'unet.channels' is not three multiples of 8"));
    bad = c;
    bad.set_meta("model.arch", "mlp");
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s), doctest::Contains("m.ckpt: entry 'model.arch'"));
    bad = c;
    bad.tensors.pop_back();
    CHECK_THROWS_WITH(image_model_from_checkpoint(bad, "m.ckpt", s), doctest::Contains("m.ckpt"));
}

TEST_CASE("image trainer: the U-Net trains to the same bits on 1 and 2 threads") {
    const ImageSet data = tiny_images();
    std::vector<int> rows = {0, 1, 2, 3, 4, 5};
    Params results[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        ImageTrainer tr(ImageArch::UNet, tiny_config(UNetBlockKind::ConvNeXt), cosine_schedule(50));
        for (int i = 0; i < 3; ++i) tr.train_step(data, rows);
        results[threads - 1] = tr.params;
    }
    set_num_threads(default_num_threads());
    CHECK(same_bits(results[0], results[1]));
}
