// The long-run loop of the programs that train the shipped models (lessonkit/long_run.h): a run
// stopped at an epoch's end and started again from its state file ends with the bits of one that never
// stopped, and its log has the same lines (wall times aside); a state of another run is refused.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "core/common.h"
#include "core/io.h"
#include "lessonkit/long_run.h"
#include "store/checkpoint.h"
#include "store/image_checkpoint.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

ImageSet random_digits() {
    ImageSet s;
    s.n = 8;
    s.h = s.w = 28;
    s.x.resize(size_t(s.n) * 784);
    Rng(5, 1).fill_uniform(s.x.data(), int64_t(s.x.size()), -1.0f, 1.0f);
    return s;
}

ImageTrainer small_trainer() {
    ImageTrainConfig c;
    c.batch = 2;
    c.seed = 6;
    return ImageTrainer(ImageArch::CNN, c, linear_schedule(20));
}

LongRun small_run(const std::string& dir, int epochs) {
    LongRun run;
    run.state = dir + "/run.state";
    run.model = dir + "/run.ckpt";
    run.log = dir + "/run.log";
    run.steps_per_epoch = 3;
    run.epochs = epochs;
    run.every = 2;
    run.score = [](const ImageModel&, const ImageTrainer& t, int epoch) {
        EpochScore e;
        e.val_loss = 0.25 * epoch;
        e.fields = "score" + std::to_string(t.step);
        e.tail = "tail";
        return e;
    };
    run.model_file = [](const ImageModel& ema, const ImageTrainer& t) { return image_model_checkpoint(ema, t.schedule); };
    return run;
}

// Trains as a program of src/shipped/ does: from the state file when there is one.
std::string train(const LongRun& run, const ImageSet& data) {
    std::string log;
    double seconds = 0.0;
    ImageTrainer tr = resume_or_start(
        run, small_trainer, [&](const ImageTrainer& t) { if (t.config.seed != 6) fail(run.state + ": another run"); }, log,
        seconds);
    if (tr.step == 0) log = "# header\n";
    run_epochs(run, tr, data, {0, 1, 2, 3, 4, 5, 6, 7}, log, seconds);
    return log;
}

// A log's lines without their two wall-time fields (seconds, images/s), which are the 5th and 6th.
std::vector<std::string> without_times(const std::string& log) {
    std::vector<std::string> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("#", 0) == 0) {
            lines.push_back(line);
            continue;
        }
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        REQUIRE(w.size() == 8);
        lines.push_back(w[0] + " " + w[1] + " " + w[2] + " " + w[3] + " " + w[4] + " " + w[7]);
    }
    return lines;
}

}  // namespace

TEST_CASE("long run: stopped at an epoch's end and started again, the same bits and log lines as one run") {
    TempDir a("long_run_whole"), b("long_run_resumed");
    const ImageSet data = random_digits();
    const std::string whole_log = train(small_run(a.dir.string(), 3), data);
    train(small_run(b.dir.string(), 1), data);  // stops after the first epoch
    const std::string resumed_log = train(small_run(b.dir.string(), 3), data);

    const Checkpoint whole = load_checkpoint(a.dir.string() + "/run.state"), resumed = load_checkpoint(b.dir.string() + "/run.state");
    CHECK(image_trainer_from_checkpoint(whole, "whole").step == 9);
    CHECK(serialize_checkpoint(image_trainer_checkpoint(image_trainer_from_checkpoint(resumed, "resumed"))) ==
          serialize_checkpoint(image_trainer_checkpoint(image_trainer_from_checkpoint(whole, "whole"))));
    CHECK(read_file(a.dir.string() + "/run.ckpt") == read_file(b.dir.string() + "/run.ckpt"));  // the EMA model of epoch 3
    const std::vector<std::string> lines = without_times(whole_log);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "# header");
    CHECK(lines[3].rfind("3 9 ", 0) == 0);
    CHECK(lines[3].find(" 0.75000 score9 tail") != std::string::npos);
    CHECK(without_times(resumed_log) == lines);
    CHECK(read_file(b.dir.string() + "/run.log") == resumed_log);
}

TEST_CASE("long run: a state file of another run is refused with one line naming it") {
    TempDir dir("long_run_other");
    const ImageSet data = random_digits();
    LongRun run = small_run(dir.dir.string(), 1);
    ImageTrainConfig c;
    c.batch = 2;
    c.seed = 7;  // not the run's seed
    ImageTrainer other(ImageArch::CNN, c, linear_schedule(20));
    save_checkpoint(run.state, image_trainer_checkpoint(other));
    CHECK_THROWS_WITH(train(run, data), (run.state + ": another run").c_str());
}
