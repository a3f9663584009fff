// A lesson's saved training state (store/training_state.h): a run stopped and resumed from its
// state file ends with the bits of one that never stopped, log included; another run's state is refused.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store/checkpoint.h"
#include "core/common.h"
#include "store/image_checkpoint.h"
#include "store/training_state.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

ImageSet small_digits() {
    ImageSet s;
    s.n = 10;
    s.h = s.w = 28;
    s.x.resize(size_t(s.n) * 784);
    Rng(3, 1).fill_uniform(s.x.data(), int64_t(s.x.size()), -1.0f, 1.0f);
    return s;
}

ImageTrainer small_trainer() {
    ImageTrainConfig c;
    c.batch = 2;
    c.seed = 4;
    return ImageTrainer(ImageArch::CNN, c, linear_schedule(20));
}

// `steps` steps in blocks of 2, logging as lesson 08 does; saved to `path` after step `stop_at`
// and then stopped, when stop_at > 0.
void run(ImageTrainer& tr, TrainingLog& log, const ImageSet& data, int steps, const std::string& path, int stop_at) {
    const std::vector<int> rows = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    for (int step = int(tr.step) + 1; step <= steps; ++step) {
        log.block_loss += tr.train_step(data, rows);
        if (step % 2 == 0) {
            log.train_loss.push_back(log.block_loss / 2);
            log.val_loss.push_back(0.1 * step);
            log.block_loss = 0.0;
        }
        if (step == stop_at) {
            save_training_state(path, tr, log, steps);
            return;
        }
    }
}

}  // namespace

TEST_CASE("training state: stopped in the middle of a block and resumed, the run ends with the same bits") {
    TempDir tmp("training_state");
    const ImageSet data = small_digits();
    ImageTrainer whole = small_trainer();
    TrainingLog whole_log;
    run(whole, whole_log, data, 7, "", 0);

    ImageTrainer first = small_trainer();
    TrainingLog first_log;
    run(first, first_log, data, 7, tmp / "state.ckpt", 3);  // mid-block: a partial block_loss is saved
    ImageTrainer resumed = small_trainer();
    TrainingLog log;
    REQUIRE(load_training_state(tmp / "state.ckpt", resumed, log, 7));
    CHECK(resumed.step == 3);
    run(resumed, log, data, 7, "", 0);
    CHECK(serialize_checkpoint(image_trainer_checkpoint(resumed)) == serialize_checkpoint(image_trainer_checkpoint(whole)));
    CHECK(log.train_loss == whole_log.train_loss);
    CHECK(log.val_loss == whole_log.val_loss);
    CHECK(log.block_loss == whole_log.block_loss);

    // no file: a fresh start; the state of another run: refused, naming the file
    ImageTrainer fresh = small_trainer();
    CHECK_FALSE(load_training_state(tmp / "missing.ckpt", fresh, log, 7));
    CHECK_THROWS_WITH(load_training_state(tmp / "state.ckpt", fresh, log, 8),
                      (tmp / "state.ckpt" + ": the state of another run (cnn, linear(0.0001, 0.02), seed 4, 7 steps); "
                                            "delete it to start again").c_str());
}
