// The one long-run loop (lessonkit/long_run.h) of the lessons' --full runs and the programs that
// train the shipped models: a run stopped at an epoch's end, or in the middle of a block, and started
// again from its state file ends with the bits of one that never stopped, and its log has the same
// lines (wall times aside); a state of another run, or of the format before this loop, is refused.
#include <doctest/doctest.h>

#include <sstream>
#include <stdexcept>
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

struct SmallRun {
    LongRun run;
    EpochFiles files;
};

SmallRun small_run(const std::string& dir, int epochs) {
    SmallRun r;
    r.run.state = dir + "/run.state";
    r.run.block = 3;
    r.run.steps = int64_t(epochs) * 3;
    r.run.every = 2;
    r.files.model = dir + "/run.ckpt";
    r.files.log = dir + "/run.log";
    r.files.score = [](const ImageModel&, const ImageTrainer& t, int epoch) {
        EpochScore e;
        e.val_loss = 0.25 * epoch;
        e.fields = "score" + std::to_string(t.step);
        e.tail = "tail";
        return e;
    };
    r.files.model_file = [](const ImageModel& ema, const ImageTrainer& t) { return image_model_checkpoint(ema, t.schedule); };
    return r;
}

// Trains as a program of src/shipped/ does: from the state file when there is one.
std::string train(const SmallRun& r, const ImageSet& data) {
    RunLog log;
    ImageTrainer tr = small_trainer();
    resume(r.run, tr, log, [&](const ImageTrainer& t) { if (t.config.batch != 2) fail(r.run.state + ": another batch"); });
    if (tr.step == 0) log.text = "# header\n";
    run_epochs(r.run, r.files, tr, data, {0, 1, 2, 3, 4, 5, 6, 7}, log);
    return log.text;
}

// A lesson's run of 7 steps: blocks of 2 steps, a log line of exact losses, the state saved every 3
// steps. When stop_at_block > 0 the run is cut off at that block's end, before the block's state is
// saved, as a kill would: the state file then holds the step before, in the middle of a block.
std::vector<std::string> lesson_run(const std::string& state, int stop_at_block, ImageTrainer& tr) {
    LongRun run;
    run.state = state;
    run.steps = 7;
    run.block = 2;
    run.every = 3;
    run.at_block = [&](const ImageTrainer& t, const BlockEnd& end) {
        if (end.block == stop_at_block) throw std::runtime_error("stopped");
        return fmt_exact(end.train_loss) + " " + std::to_string(t.step) + " " + std::to_string(end.block);
    };
    RunLog log;
    resume(run, tr, log);
    run_blocks(run, tr, random_digits(), {0, 1, 2, 3, 4, 5, 6, 7}, log);
    std::vector<std::string> lines;
    for (const auto& row : log_rows(log.text)) lines.push_back(row.at(0) + " " + row.at(1) + " " + row.at(2));
    return lines;
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

TEST_CASE("long run: stopped in the middle of a block and resumed, the same bits and the same losses") {
    TempDir tmp("long_run_mid_block");
    ImageTrainer whole = small_trainer();
    const std::vector<std::string> whole_lines = lesson_run("", 0, whole);
    REQUIRE(whole_lines.size() == 4);  // blocks end at steps 2, 4, 6 and the run's end, 7
    CHECK(whole_lines[3].find(" 7 4") != std::string::npos);

    ImageTrainer first = small_trainer();
    CHECK_THROWS(lesson_run(tmp / "state.ckpt", 2, first));  // cut off at step 4: the state holds step 3
    const Checkpoint saved = load_checkpoint(tmp / "state.ckpt");
    CHECK(image_trainer_from_checkpoint(saved, "saved").step == 3);
    CHECK(saved.get_meta("log.block_loss") != fmt_exact(0.0));  // step 3's loss, half of block 2
    ImageTrainer resumed = small_trainer();
    CHECK(lesson_run(tmp / "state.ckpt", 0, resumed) == whole_lines);
    CHECK(resumed.step == 7);
    CHECK(serialize_checkpoint(image_trainer_checkpoint(resumed)) == serialize_checkpoint(image_trainer_checkpoint(whole)));
}

TEST_CASE("long run: a state file of another run is refused with one line naming it") {
    TempDir dir("long_run_other");
    const ImageSet data = random_digits();
    const SmallRun r = small_run(dir.dir.string(), 1);
    ImageTrainConfig c;
    c.batch = 2;
    c.seed = 7;  // not the run's seed
    save_checkpoint(r.run.state, image_trainer_checkpoint(ImageTrainer(ImageArch::CNN, c, linear_schedule(20))));
    CHECK_THROWS_WITH(train(r, data),
                      (r.run.state + ": the state of another run (cnn, 124177 parameters, linear(0.0001, 0.02), seed 7, "
                                     "batch 2, lr 0.0002; this run: cnn, 124177 parameters, linear(0.0001, 0.02), seed 6, "
                                     "batch 2, lr 0.0002); delete it to start again").c_str());
    c.seed = 6;
    c.batch = 4;  // the program's own check speaks first
    save_checkpoint(r.run.state, image_trainer_checkpoint(ImageTrainer(ImageArch::CNN, c, linear_schedule(20))));
    CHECK_THROWS_WITH(train(r, data), (r.run.state + ": another batch").c_str());

    // the same run saved with other blocks, and a lesson's state of the format before this loop
    c.batch = 2;
    Checkpoint other = image_trainer_checkpoint(ImageTrainer(ImageArch::CNN, c, linear_schedule(20)));
    other.set_meta("log.block", "5");
    save_checkpoint(r.run.state, other);
    CHECK_THROWS_WITH(train(r, data), (r.run.state + ": saved with blocks of 5 steps, this run has 3; delete it to "
                                                     "start again").c_str());
    Checkpoint old = image_trainer_checkpoint(ImageTrainer(ImageArch::CNN, c, linear_schedule(20)));
    old.set_meta("lesson.steps", "7");
    save_checkpoint(r.run.state, old);
    CHECK_THROWS_WITH(train(r, data), (r.run.state + ": a lesson's state in the format before lessonkit/long_run.h; "
                                                     "delete it to start again").c_str());
}
