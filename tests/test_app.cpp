// The ddpm tool (src/app/): train, sample and eval end to end on a CSV far from the origin, the
// normalisation in the checkpoint, bit-identical --resume, and the one-line error of every bad input.
// Every case runs the program in-process through ddpm_main, with small settings.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/model_file.h"
#include "app/normalise.h"
#include "app/runtime.h"
#include "store/image_checkpoint.h"
#include "store/settings.h"
#include "diffusion/train.h"
#include "store/checkpoint.h"
#include "store/idx.h"
#include "store/png.h"
#include "core/common.h"
#include "store/csv.h"
#include "diffusion/data.h"
#include "diffusion/image_train.h"
#include "core/io.h"
#include "core/pool.h"
#include "core/rng.h"
#include "helpers.h"

using namespace ddpm;
namespace fs = std::filesystem;
using testing_helpers::TempDir;

namespace {

// Sends one of stdout/stderr to a file while alive, and gives back what was written.
class Capture {
 public:
    Capture(FILE* stream, const std::string& path) : stream_(stream), path_(path) {
        std::fflush(stream_);
        saved_ = dup(fileno(stream_));
        FILE* f = std::fopen(path_.c_str(), "wb");
        dup2(fileno(f), fileno(stream_));
        std::fclose(f);
    }
    ~Capture() { restore(); }
    std::string text() {
        restore();
        return read_file(path_);
    }

 private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stream_);
        dup2(saved_, fileno(stream_));
        close(saved_);
        saved_ = -1;
    }
    FILE* stream_;
    std::string path_;
    int saved_ = -1;
};

struct Outcome {
    int status = 0;
    std::string out, err;  // what went to stdout and stderr
};

// Runs `ddpm args...` as main() would (run_main prints an error as "ddpm: <problem>" and returns 1).
Outcome run_ddpm(const TempDir& tmp, std::vector<std::string> args) {
    args.insert(args.begin(), "ddpm");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    Outcome o;
    Capture out(stdout, tmp / "stdout.txt"), err(stderr, tmp / "stderr.txt");
    o.status = run_main("ddpm", ddpm_main, int(argv.size()), argv.data());
    o.out = out.text();
    o.err = err.text();
    return o;
}

// The last line of stderr (an error is the last thing said).
std::string last_line(const std::string& text) {
    std::string t = text;
    while (!t.empty() && t.back() == '\n') t.pop_back();
    const size_t nl = t.rfind('\n');
    return nl == std::string::npos ? t : t.substr(nl + 1);
}

// Two clusters far from the origin with very unequal column scales: "height" near 1000 (std about
// 40), "weight" near -0.05 (std about 0.01). Written with a header line.
Dataset far_data(int n, uint64_t seed) {
    Dataset d;
    d.dim = 2;
    Rng pick(seed, 0), noise(seed, 1);
    for (int i = 0; i < n; ++i) {
        const float side = pick.uniform() < 0.5f ? -1.0f : 1.0f;
        d.x.push_back(1000.0f + 40.0f * side + 8.0f * noise.normal());
        d.x.push_back(-0.05f + 0.01f * side + 0.002f * noise.normal());
    }
    return d;
}

// `ddpm train` with small settings (T = 50, a 16-wide hidden layer, batches of 32), then `extra`.
std::vector<std::string> small_train(const std::string& data, const std::string& model, const std::string& steps = "50",
                                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"train",   "--data", data, "--model",  model, "--steps",  steps,
                                     "--batch", "32",     "--T", "50",      "--hidden", "16", "--layers", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// The files beside `path` whose names extend its own ("m.ckpt.ddpm-12-1.tmp", "m.ckpt.ddpm-lock", "m.ckpt.tmp").
std::vector<std::string> beside(const std::string& path) {
    std::vector<std::string> names;
    const fs::path p(path);
    const std::string prefix = p.filename().string() + ".";
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(p.parent_path(), ec)) {
        const std::string name = e.path().filename().string();
        if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(name);
    }
    return names;
}

std::vector<double> doubles_of(const std::string& text) {
    std::vector<double> v;
    const char* p = text.c_str();
    char* end = nullptr;
    for (double x = std::strtod(p, &end); end != p; x = std::strtod(p, &end)) {
        v.push_back(x);
        p = end;
    }
    return v;
}

}  // namespace

TEST_CASE("app: --help returns 0 for the tool and for every subcommand") {
    TempDir tmp("help");
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--help"}, {"train", "--help"}, {"sample", "--help"}, {"eval", "--help"}, {"train", "--T", "0", "-h"}}) {
        const Outcome o = run_ddpm(tmp, args);
        CHECK(o.status == 0);
        CHECK(o.out.find("usage: ddpm") == 0);
        CHECK(o.err.empty());
    }
    // no command is a usage error
    const Outcome none = run_ddpm(tmp, {});
    CHECK(none.status == 1);
    CHECK(none.err.find("ddpm: no command given") == 0);
}

TEST_CASE("app: the help texts give the defaults of the settings table") {
    const std::string train = train_help(), sample = sample_help();
    for (const IntSetting* s : {&setting::steps, &setting::batch, &setting::T, &setting::hidden, &setting::layers,
                                &setting::checkpoint_every}) {
        CAPTURE(s->flag);
        const size_t at = train.find(std::string("  ") + s->flag + " ");
        REQUIRE(at != std::string::npos);
        const std::string line = train.substr(at, train.find('\n', at) - at);
        CHECK(line.find("(default " + std::to_string(s->fallback)) != std::string::npos);
    }
    CHECK(sample.find("(default " + std::to_string(setting::sample_rows.fallback) + ")") != std::string::npos);
    CHECK(train.find("1 to " + std::to_string(setting::threads.hi)) != std::string::npos);
    TrainArgs t;  // the parsed defaults are the table's
    CHECK(t.batch == setting::batch.fallback);
    CHECK(t.lr == setting::lr.fallback);
    CHECK(t.ema == setting::ema.fallback);
    TrainConfig c;  // and the trainer's
    CHECK(c.batch == t.batch);
    CHECK(c.lr == float(t.lr));
    CHECK(c.ema_decay == float(t.ema));
    CHECK(t.hidden == 64);  // the tool's width (docs/defaults.md); the lessons' network keeps 128
    CHECK(EpsModelConfig{}.hidden == 128);
}

TEST_CASE("app: ddpm train picks its thread count by the work of a step, not by the core count") {
    // batch x weights (about the multiply-adds of a forward pass) over 400,000, from 1 to every core
    CHECK(train_threads_for(32, 2, 32, 16, 3, false) == 1);   // 35 k: one thread
    CHECK(train_threads_for(128, 2, 32, 32, 3, false) == 1);  // 0.4 M
    const int64_t big = 256 * eps_model_values(2, 32, 64, 3, false) / kTrainWorkPerThread;  // the defaults: 6
    CHECK(big == 6);
    CHECK(train_threads_for(256, 2, 32, 64, 3, false) == std::min<int64_t>(big, default_num_threads()));
    CHECK(train_threads_for(1 << 20, 2, 32, 4096, 8, true) == default_num_threads());  // never more than the cores
}

TEST_CASE("app: what a flag accepts, a checkpoint's entry accepts, and no more (one settings table)") {
    for (const IntSetting* s : {&setting::hidden, &setting::layers, &setting::T, &setting::batch, &setting::seed,
                                &setting::steps}) {
        const std::string flag = s->flag;
        CAPTURE(flag);
        for (const int64_t v : {s->lo, s->hi, s->fallback}) {
            if (v == 0 && s->lo > 0) continue;
            Checkpoint c;
            c.set_meta(s->key, std::to_string(v));
            CHECK(parse_setting(*s, std::to_string(v)) == v);
            CHECK(checkpoint_setting(c, *s, "m.ckpt") == v);
        }
        if (s->lo > INT64_MIN) {
            const std::string below = std::to_string(s->lo - 1);
            Checkpoint c;
            c.set_meta(s->key, below);
            CHECK_THROWS_WITH(parse_setting(*s, below),
                              (std::string(s->flag) + " must be " + bounds_text(*s) + ", got " + below).c_str());
            CHECK_THROWS(checkpoint_setting(c, *s, "m.ckpt"));
        }
        if (s->hi < INT64_MAX) {
            const std::string above = std::to_string(s->hi + 1);
            Checkpoint c;
            c.set_meta(s->key, above);
            CHECK_THROWS(parse_setting(*s, above));
            CHECK_THROWS_WITH(checkpoint_setting(c, *s, "m.ckpt"),
                              ("m.ckpt: entry '" + std::string(s->key) + "' should be a whole number from " +
                               std::to_string(s->lo) + " to " + std::to_string(s->hi) + ", not '" + above + "'")
                                  .c_str());
        }
    }
    for (const RealSetting* s : {&setting::lr, &setting::ema}) {
        const std::string flag = s->flag;
        CAPTURE(flag);
        for (const std::string text : {"1e-3", "0.5", "0.999", "1e-38", "0", "1", "0.9999999999", "1e-50", "3e38", "1e39", "-1"}) {
            CAPTURE(text);
            Checkpoint c;
            c.set_meta(s->key, text);
            bool flag_ok = true, entry_ok = true;
            try {
                parse_setting(*s, text);
            } catch (const std::exception&) {
                flag_ok = false;
            }
            try {
                checkpoint_setting(c, *s, "m.ckpt");
            } catch (const std::exception&) {
                entry_ok = false;
            }
            CHECK(flag_ok == entry_ok);
        }
    }
    CHECK(parse_setting(setting::ema, "0.999") == 0.999);
    CHECK_THROWS_WITH(parse_setting(setting::ema, "0.9999999999"), "--ema must lie in [0, 1), got 0.9999999999 (1 as a float)");
    CHECK_THROWS_WITH(parse_setting(setting::lr, "1e-50"), "--lr must lie within the range of a float, got 1e-50");
    CHECK_THROWS_WITH(parse_setting(setting::lr, "-1"), "--lr must be positive, got -1");
    CHECK(parse_setting(setting::ema, "1e-50") == 1e-50);  // 0 as a float, which is a decay --ema allows
    CHECK_THROWS_WITH(parse_setting(setting::eta, "x"), "--eta: expected a number, got 'x'");
}

TEST_CASE("app: parsing fills the arguments, also in the --flag=value form") {
    TrainArgs t;
    REQUIRE(parse_train_args({"--data", "d.csv", "--model=m.ckpt", "--T", "200", "--schedule", "constant", "--beta=0.02",
                              "--residual", "--lr", "3e-4", "--checkpoint-every", "5"},
                             t));
    CHECK(t.data == "d.csv");
    CHECK(t.model == "m.ckpt");
    CHECK(t.T == 200);
    CHECK(t.beta == 0.02);
    CHECK(t.residual);
    CHECK(t.lr == 3e-4);
    CHECK(t.checkpoint_every == 5);
    CHECK(t.steps == 20000);  // the defaults
    CHECK(t.batch == 256);
    CHECK(t.hidden == 64);
    CHECK(t.layers == 3);
    CHECK(t.ema == 0.999);
    CHECK(t.given.count("--T") == 1);
    CHECK(t.given.count("--steps") == 0);
    SampleArgs s;
    REQUIRE(parse_sample_args({"--model", "m.ckpt", "--out", "s.csv", "--raw", "--variance", "beta"}, s));
    CHECK(!s.use_ema);
    CHECK(s.variance == "beta");
    CHECK(s.n == 8000);
    TrainArgs fresh;
    CHECK_THROWS_WITH(parse_train_args({"--data", "d.csv", "--model", "m", "--beta", "0.1"}, fresh),
                      "--beta applies to --schedule constant only (the schedule is linear)");
}

TEST_CASE("app: train, sample and eval end to end on data far from the origin with unequal scales") {
    TempDir tmp("end_to_end");
    const Dataset data = far_data(2000, 1);
    save_csv(tmp / "data.csv", data, {"height", "weight"});
    save_csv(tmp / "held_out.csv", far_data(2000, 2), {"height", "weight"});

    const Outcome train = run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "m.ckpt", "50", {"--ema", "0.9", "--lr", "3e-3"}));
    REQUIRE_MESSAGE(train.status == 0, train.err);
    CHECK(train.out.find("wrote") != std::string::npos);
    CHECK(fs::exists(tmp / "m.ckpt"));
    CHECK(beside(tmp / "m.ckpt").empty());  // no temporary or lock file

    const Outcome sample =
        run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "samples.csv", "--n", "200", "--seed", "3"});
    REQUIRE_MESSAGE(sample.status == 0, sample.err);
    const Dataset samples = load_csv(tmp / "samples.csv");
    CHECK(samples.n() == 200);
    CHECK(samples.dim == 2);
    CHECK(samples.header == std::vector<std::string>{"height", "weight"});
    // In data units: the columns' means sit near the data's, on the scale of each column's own std.
    const std::vector<double> data_mean = column_means(data), data_std = column_stds(data);
    const std::vector<double> mean = column_means(samples);
    for (int c = 0; c < 2; ++c) {
        INFO("column " << c << ": samples' mean " << mean[size_t(c)] << ", data's " << data_mean[size_t(c)]);
        CHECK(std::fabs(mean[size_t(c)] - data_mean[size_t(c)]) < 0.5 * data_std[size_t(c)]);
    }

    // The same seed gives the same file; the raw weights give another.
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "again.csv", "--n", "200", "--seed", "3"})
                .status == 0);
    CHECK(read_file(tmp / "again.csv") == read_file(tmp / "samples.csv"));
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "raw.csv", "--n", "200", "--seed", "3",
                           "--raw"})
                .status == 0);
    CHECK(read_file(tmp / "raw.csv") != read_file(tmp / "samples.csv"));
    // DDIM with eta = 0 is deterministic: two noise seeds, one x_T (the same seed of x_T needs the same
    // --seed, so compare 10 steps against 10 steps with the same seed twice, and eta 1 against it)
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "ddim.csv", "--n", "200", "--seed", "3",
                           "--sampler", "ddim", "--steps", "10"})
                .status == 0);
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "ddim_eta.csv", "--n", "200", "--seed",
                           "3", "--sampler", "ddim", "--steps", "10", "--eta", "1"})
                .status == 0);
    CHECK(read_file(tmp / "ddim.csv") != read_file(tmp / "ddim_eta.csv"));
    // DDIM on a schedule that ends near alpha_bar_T = 0 (cosine) would scale the error of eps at T by
    // sqrt(alpha_bar_t' / alpha_bar_T): refused in one line; the ddpm sampler takes it.
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "cos.ckpt", "20", {"--schedule", "cosine"})).status == 0);
    const Outcome cos_ddim = run_ddpm(tmp, {"sample", "--model", tmp / "cos.ckpt", "--out", tmp / "cos.csv", "--n", "20",
                                            "--sampler", "ddim", "--steps", "10"});
    CHECK(cos_ddim.status == 1);
    CHECK(last_line(cos_ddim.err).find("ddpm: --sampler ddim: " + tmp / "cos.ckpt" + "'s schedule (cosine") == 0);
    CHECK(last_line(cos_ddim.err).find("use --sampler ddpm") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "cos.csv"));
    // the ODE solvers start at --sigma-max (80 by default) rather than T: on this schedule (T = 50)
    // that is a t below T, they run, and the summary says where they started; from T
    // (--sigma-max above sigma_T) their first step is DDIM's (euler's is, dpmpp2m's first is first
    // order, heun's starts with it): the same refusal, naming the solver and --sigma-max
    for (const char* solver : {"euler", "heun", "dpmpp2m"}) {
        CAPTURE(solver);
        const Outcome from_80 = run_ddpm(tmp, {"sample", "--model", tmp / "cos.ckpt", "--out", tmp / "cos.csv", "--n",
                                               "20", "--sampler", solver, "--steps", "10"});
        CHECK(from_80.status == 0);
        CHECK(from_80.out.find(std::string(solver) + " sampler (probability-flow ODE from t = ") != std::string::npos);
        CHECK(from_80.out.find("karras spacing") != std::string::npos);
        fs::remove(tmp / "cos.csv");
        const Outcome cos_ode = run_ddpm(tmp, {"sample", "--model", tmp / "cos.ckpt", "--out", tmp / "cos.csv", "--n",
                                               "20", "--sampler", solver, "--steps", "10", "--sigma-max", "1e9"});
        CHECK(cos_ode.status == 1);
        CHECK(last_line(cos_ode.err).find("ddpm: --sampler " + std::string(solver) + ": " + tmp / "cos.ckpt" +
                                          "'s schedule (cosine") == 0);
        CHECK(last_line(cos_ode.err).find(std::string(", so ") + solver + "'s first step (t = 50 to ") != std::string::npos);
        CHECK(last_line(cos_ode.err).find("use --sampler ddpm, more --steps, a smaller --sigma-max, or a model") !=
              std::string::npos);
        CHECK_FALSE(fs::exists(tmp / "cos.csv"));
    }
    CHECK(run_ddpm(tmp, {"sample", "--model", tmp / "cos.ckpt", "--out", tmp / "cos.csv", "--n", "20"}).status == 0);
    // one DDIM step from T to 0 is x0_hat itself, 1 / sqrt(alpha_bar_T), about 1.3 times the error of eps at T = 50 here: allowed
    CHECK(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "one.csv", "--n", "20", "--sampler", "ddim",
                         "--steps", "1"}).status == 0);
    CHECK(load_csv(tmp / "ddim.csv").n() == 200);

    const Outcome eval = run_ddpm(tmp, {"eval", "--samples", tmp / "samples.csv", "--data", tmp / "held_out.csv"});
    REQUIRE_MESSAGE(eval.status == 0, eval.err);
    CHECK(eval.out.find("sliced_w1") != std::string::npos);
    CHECK(eval.out.find("energy") != std::string::npos);
    // |F| = min(200, 2000 / 2) = 200 and R = the other 1800 rows
    CHECK(eval.out.find("200 of 200 sample rows") != std::string::npos);
    CHECK(eval.out.find("floor part of 200 rows and a reference part of 1800") != std::string::npos);
    // the data against itself: the same split, so the samples' part is a true sample too
    const Outcome self = run_ddpm(tmp, {"eval", "--samples", tmp / "data.csv", "--data", tmp / "held_out.csv"});
    REQUIRE(self.status == 0);
    CHECK(self.out.find("1000 of 2000 sample rows") != std::string::npos);
}

TEST_CASE("app: the checkpoint holds the normalisation and the requested steps") {
    TempDir tmp("normalisation");
    const Dataset data = far_data(500, 4);
    save_csv(tmp / "data.csv", data, {"height", "weight"});
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "m.ckpt")).status == 0);
    const Checkpoint c = load_checkpoint(tmp / "m.ckpt");
    CHECK(c.get_meta("data.columns") == "2");
    CHECK(c.get_meta("data.header") == "height,weight");
    CHECK(c.get_meta("tool.steps_total") == "50");
    CHECK(c.get_meta("train.step") == "50");
    CHECK(doubles_of(c.get_meta("data.mean")) == column_means(data));  // %.17g: the same doubles
    CHECK(doubles_of(c.get_meta("data.std")) == column_stds(data));
    const Normalisation nm = get_normalisation(c, "m.ckpt");
    CHECK(nm.mean[0] == doctest::Approx(1000).epsilon(0.01));
    CHECK(nm.std[1] < 0.1);
    // a lesson's checkpoint has no normalisation: one line naming the file
    Checkpoint lesson = c;
    lesson.meta.clear();
    CHECK_THROWS_WITH(get_normalisation(lesson, "m.ckpt"),
                      "m.ckpt: no entry 'data.columns': not a checkpoint of the ddpm tool (a lesson's model?)");
}

TEST_CASE("app: a constant column is centred with std 1, never NaN; 3 columns without a header") {
    TempDir tmp("constant");
    Dataset d;
    d.dim = 3;
    Rng rng(5, 0);
    for (int i = 0; i < 300; ++i) {
        d.x.push_back(rng.normal());
        d.x.push_back(7.5f);  // constant
        d.x.push_back(100.0f * rng.normal());
    }
    save_csv(tmp / "data.csv", d);
    const Outcome train = run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "m.ckpt"));
    REQUIRE(train.status == 0);
    CHECK(train.err.find("column 2 is constant (std 0)") != std::string::npos);
    const Normalisation nm = get_normalisation(load_checkpoint(tmp / "m.ckpt"), "m.ckpt");
    CHECK(nm.std[1] == 1.0);
    CHECK(nm.mean[1] == 7.5);
    CHECK(nm.header.empty());
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "s.csv", "--n", "50"}).status == 0);
    const Dataset s = load_csv(tmp / "s.csv");  // load_csv refuses NaN
    CHECK(s.dim == 3);
    CHECK(s.header.empty());
}

TEST_CASE("app: --resume after a shorter run gives the checkpoint of one uninterrupted run, byte for byte") {
    TempDir tmp("resume");
    save_csv(tmp / "data.csv", far_data(1000, 6), {"height", "weight"});
    const std::string data = tmp / "data.csv";
    REQUIRE(run_ddpm(tmp, small_train(data, tmp / "whole.ckpt", "50", {"--seed", "9"})).status == 0);

    // 20 steps, then on to 50 (with another thread count and periodic checkpoints on the way)
    REQUIRE(run_ddpm(tmp, small_train(data, tmp / "parts.ckpt", "20", {"--seed", "9"})).status == 0);
    CHECK(load_checkpoint(tmp / "parts.ckpt").get_meta("train.step") == "20");
    CHECK(read_file(tmp / "parts.ckpt") != read_file(tmp / "whole.ckpt"));
    const Outcome resumed = run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "parts.ckpt", "--resume", "--steps",
                                           "50", "--threads", "1", "--checkpoint-every", "7"});
    set_num_threads(default_num_threads());
    REQUIRE_MESSAGE(resumed.status == 0, resumed.err);
    CHECK(read_file(tmp / "parts.ckpt") == read_file(tmp / "whole.ckpt"));

    // Without --steps, --resume goes to the checkpoint's tool.steps_total: here it is done already.
    REQUIRE(run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "parts.ckpt", "--resume"}).status == 0);
    CHECK(read_file(tmp / "parts.ckpt") == read_file(tmp / "whole.ckpt"));

    // Flags that would change the run are refused.
    const Outcome changed =
        run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "parts.ckpt", "--resume", "--steps", "60", "--hidden", "32"});
    CHECK(changed.status == 1);
    CHECK(last_line(changed.err) == "ddpm: --resume: --hidden 32 differs from " + tmp / "parts.ckpt" +
                                        ", which has 16 (drop the flag, or train a new model)");
    const Outcome other_schedule =
        run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "parts.ckpt", "--resume", "--steps", "60", "--schedule", "cosine"});
    CHECK(other_schedule.status == 1);
    CHECK(last_line(other_schedule.err).find("ddpm: --resume: --schedule asks for cosine") == 0);
    // A run with --lr-decay cosine decays over its --steps: resuming it to another total is refused,
    // and so is --lr-decay against a checkpoint without the decay.
    REQUIRE(run_ddpm(tmp, small_train(data, tmp / "decay.ckpt", "20", {"--lr-decay", "cosine"})).status == 0);
    CHECK(load_checkpoint(tmp / "decay.ckpt").get_meta("train.lr_decay_steps") == "20");
    const Outcome longer = run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "decay.ckpt", "--resume", "--steps", "40"});
    CHECK(longer.status == 1);
    CHECK(last_line(longer.err) == "ddpm: --resume: --steps 40, but " + tmp / "decay.ckpt" +
                                       " decays its learning rate to 0 over 20 steps (--lr-decay cosine); resume it to "
                                       "20, or train a new model");
    const Outcome added = run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "parts.ckpt", "--resume", "--lr-decay", "cosine"});
    CHECK(added.status == 1);
    CHECK(last_line(added.err).find("ddpm: --resume: --lr-decay cosine differs from") == 0);
    const Outcome bad = run_ddpm(tmp, small_train(data, tmp / "bad.ckpt", "20", {"--lr-decay", "linear"}));
    CHECK(bad.status == 1);
    CHECK(last_line(bad.err) == "ddpm: --lr-decay: expected none or cosine, got 'linear'");
    // Flags that agree with the checkpoint are accepted.
    const Outcome same = run_ddpm(tmp, {"train", "--data", data, "--model", tmp / "parts.ckpt", "--resume", "--schedule",
                                        "linear", "--T", "50", "--hidden", "16", "--batch", "32", "--seed", "9"});
    CHECK_MESSAGE(same.status == 0, same.err);
    CHECK(read_file(tmp / "parts.ckpt") == read_file(tmp / "whole.ckpt"));
}

TEST_CASE("app: every bad input is one line 'ddpm: <problem>', a non-zero status and no output file") {
    TempDir tmp("errors");
    save_csv(tmp / "data.csv", far_data(300, 7), {"height", "weight"});
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "m.ckpt")).status == 0);
    Dataset three;
    three.dim = 3;
    three.x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    save_csv(tmp / "three.csv", three);
    {  // a checkpoint cut short
        const std::string bytes = read_file(tmp / "m.ckpt");
        write_file_atomic(tmp / "cut.ckpt", bytes.substr(0, bytes.size() / 2));
    }
    const std::string data = tmp / "data.csv", model = tmp / "m.ckpt", out = tmp / "out.csv", new_model = tmp / "new.ckpt";

    struct Case {
        std::vector<std::string> args;
        std::string message;  // the whole line on stderr
        std::string output;   // the file that must not appear
    };
    const std::vector<Case> cases = {
        {{"train", "--data", data, "--model", new_model, "--frobnicate"},
         "ddpm: train: unknown flag '--frobnicate' (try 'ddpm train --help')", new_model},
        {{"sample", "--model", model, "--out", out, "--n"}, "ddpm: sample --n: missing value", out},
        {{"train", "--data", data, "--model", new_model, "--steps", "--T", "5"}, "ddpm: train --steps: missing value",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--T", "0"}, "ddpm: --T must be from 1 to 1000000, got 0",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--steps", "0"}, "ddpm: --steps must be at least 1, got 0",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--batch", "0"}, "ddpm: --batch must be from 1 to 1048576, got 0",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--lr", "0"}, "ddpm: --lr must be positive, got 0", new_model},
        {{"train", "--data", data, "--model", new_model, "--schedule", "constant", "--beta", "1"},
         "ddpm: --beta must lie in [1e-12, 1), got 1", new_model},
        {{"train", "--data", data, "--model", new_model, "--ema", "1"}, "ddpm: --ema must lie in [0, 1), got 1",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--hidden", "0"}, "ddpm: --hidden must be from 1 to 65536, got 0",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--layers", "0"}, "ddpm: --layers must be from 1 to 64, got 0",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--threads", "0"}, "ddpm: --threads must be from 1 to 256, got 0",
         new_model},
        {{"train", "--data", data, "--model", new_model, "--schedule", "quadratic"},
         "ddpm: --schedule: unknown schedule 'quadratic' (linear, cosine, constant or sigmoid)", new_model},
        {{"train", "--data", tmp / "missing.csv", "--model", new_model},
         "ddpm: " + tmp / "missing.csv" + ": cannot open: No such file or directory", new_model},
        {{"train", "--data", data}, "ddpm: train: --model OUT.ckpt is required (try 'ddpm train --help')", new_model},
        {{"train", "--data", tmp / "three.csv", "--model", model, "--resume"},
         "ddpm: model " + model + " has 2 columns, " + tmp / "three.csv" + " has 3", out},
        {{"sample", "--model", model, "--out", out, "--n", "0"}, "ddpm: --n must be from 1 to 100000000, got 0", out},
        {{"sample", "--model", model, "--out", out, "--steps", "10"},
         "ddpm: --steps 10: the ddpm sampler runs all T = 50 steps of " + model +
             "; strided sampling needs --sampler ddim, euler, heun or dpmpp2m",
         out},
        {{"sample", "--model", model, "--out", out, "--sampler", "ddim", "--eta", "2"},
         "ddpm: --eta must lie in [0, 1], got 2", out},
        {{"sample", "--model", model, "--out", out, "--eta", "0.5"},
         "ddpm: --eta applies to --sampler ddim only (ddpm adds the full noise of every step)", out},
        {{"sample", "--model", model, "--out", out, "--spacing", "quadratic"},
         "ddpm: --spacing applies to the samplers that skip steps (ddim, euler, heun, dpmpp2m); ddpm runs all T steps",
         out},
        {{"sample", "--model", model, "--out", out, "--sampler", "ddim", "--steps", "51"},
         "ddpm: --steps 51: more than the T = 50 of " + model, out},
        // the solvers of the probability-flow ODE (ode_sample.h): no noise to scale, at most T steps,
        // karras spacing for them alone
        {{"sample", "--model", model, "--out", out, "--sampler", "heun", "--steps", "5", "--eta", "0"},
         "ddpm: --eta applies to --sampler ddim only (heun solves the probability-flow ODE, which adds no noise; ddim "
         "--eta 0 is its euler step)",
         out},
        {{"sample", "--model", model, "--out", out, "--eta", "1", "--sampler=dpmpp2m"},
         "ddpm: --eta applies to --sampler ddim only (dpmpp2m solves the probability-flow ODE, which adds no noise; "
         "ddim --eta 0 is its euler step)",
         out},
        {{"sample", "--model", model, "--out", out, "--sampler", "dpmpp2m", "--steps", "51"},
         "ddpm: --steps 51: more than the T = 50 of " + model, out},
        {{"sample", "--model", model, "--out", out, "--sampler", "heun", "--steps", "51", "--spacing", "karras"},
         "ddpm: --steps 51: more than the T = 50 of " + model, out},
        {{"sample", "--model", model, "--out", out, "--sampler", "ddim", "--steps", "5", "--spacing", "karras"},
         "ddpm: --spacing karras applies to --sampler euler, heun or dpmpp2m; ddim takes uniform or quadratic", out},
        {{"sample", "--model", model, "--out", out, "--sampler", "ddim", "--steps", "5", "--sigma-max", "10"},
         "ddpm: --sigma-max applies to --sampler euler, heun or dpmpp2m; ddim starts at T", out},
        {{"sample", "--model", model, "--out", out, "--sampler", "heun", "--steps", "50", "--sigma-max", "1e-9"},
         "ddpm: --steps 50: more than the 1 timesteps of " + model + " below --sigma-max 1e-09 (t = 1)", out},
        {{"sample", "--model", model, "--out", out, "--sampler", "heun", "--spacing", "log"},
         "ddpm: --spacing: expected uniform, quadratic or karras, got 'log'", out},
        {{"sample", "--model", model, "--out", out, "--sampler", "rk4"},
         "ddpm: --sampler: unknown sampler 'rk4' (expected ddpm, ddim, euler, heun or dpmpp2m)", out},
        {{"sample", "--model", model, "--out", out, "--variance", "big"},
         "ddpm: --variance: expected beta or beta_tilde, got 'big'", out},
        {{"sample", "--model", tmp / "cut.ckpt", "--out", out},
         "ddpm: " + tmp / "cut.ckpt" + ": offset " + std::to_string(read_file(tmp / "cut.ckpt").size() - 8) +
             ": checksum mismatch: the file is damaged or truncated",
         out},
        {{"sample", "--model", tmp / "missing.ckpt", "--out", out},
         "ddpm: " + tmp / "missing.ckpt" + ": cannot open: No such file or directory", out},
        {{"sample", "--model", data, "--out", out},
         "ddpm: " + data + ": offset 0: not a ddpm checkpoint (wrong magic number)", out},
        {{"eval", "--samples", tmp / "three.csv", "--data", data},
         "ddpm: " + tmp / "three.csv" + " has 3 columns, " + data + " has 2", out},
        {{"eval", "--samples", data}, "ddpm: eval: --data B.csv is required (try 'ddpm eval --help')", out},
        {{"bake"}, "ddpm: unknown command 'bake' (train, sample, eval, export or import; try 'ddpm --help')", out},
    };
    for (const Case& c : cases) {
        const Outcome o = run_ddpm(tmp, c.args);
        INFO("ddpm " << c.args[0] << " ... -> " << o.err);
        CHECK(o.status == 1);
        CHECK(last_line(o.err) == c.message);
        CHECK(!fs::exists(c.output));
        CHECK(beside(c.output).empty());
    }
    // the model used by the failed resume is untouched and still loads
    CHECK(load_checkpoint(model).get_meta("train.step") == "50");
}

TEST_CASE("app: sample --sampler euler, heun and dpmpp2m solve the probability-flow ODE on CSV rows") {
    TempDir tmp("ode");
    save_csv(tmp / "data.csv", far_data(500, 5), {"height", "weight"});
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "m.ckpt", "50", {"--ema", "0.9", "--lr", "3e-3"})).status == 0);
    const std::string model = tmp / "m.ckpt";
    auto sample = [&](const std::string& out, std::vector<std::string> extra) {
        std::vector<std::string> args = {"sample", "--model", model, "--out", tmp / out, "--n", "100", "--seed", "4"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_ddpm(tmp, args);
    };
    // the summary line names the solver and the spacing and counts the network calls: heun's last step
    // (to t = 0) is Euler's, so N steps make 2N - 1 calls; dpmpp2m and euler one a step
    const Outcome heun = sample("heun.csv", {"--sampler", "heun", "--steps", "6", "--spacing", "uniform"});
    REQUIRE_MESSAGE(heun.status == 0, heun.err);
    CHECK(heun.out.find("heun sampler (probability-flow ODE from t = 50, sigma ") != std::string::npos);
    CHECK(heun.out.find(", uniform spacing, 11 network calls), 6 steps, seed 4") != std::string::npos);
    const Dataset heun_rows = load_csv(tmp / "heun.csv");
    CHECK(heun_rows.n() == 100);
    CHECK(heun_rows.header == std::vector<std::string>{"height", "weight"});
    const Outcome dpm = sample("dpm.csv", {"--sampler", "dpmpp2m", "--steps", "6", "--spacing", "karras"});
    REQUIRE_MESSAGE(dpm.status == 0, dpm.err);
    CHECK(dpm.out.find(", karras spacing, 6 network calls), 6 steps") != std::string::npos);
    CHECK(load_csv(tmp / "dpm.csv").n() == 100);
    const Outcome one = sample("one.csv", {"--sampler", "heun", "--steps", "1", "--spacing", "uniform"});  // one Euler step: one call
    REQUIRE_MESSAGE(one.status == 0, one.err);
    CHECK(one.out.find(", uniform spacing, 1 network call), 1 steps") != std::string::npos);
    const Outcome quad = sample("quad.csv", {"--sampler", "heun", "--steps", "4", "--spacing", "quadratic"});
    REQUIRE_MESSAGE(quad.status == 0, quad.err);
    CHECK(quad.out.find(", quadratic spacing, 7 network calls)") != std::string::npos);

    // euler is DDIM with eta 0 on the same timesteps, computed in other variables: the same rows up to
    // float rounding (in units of each column's spread)
    const Outcome euler = sample("euler.csv", {"--sampler", "euler", "--steps", "8", "--spacing", "uniform"});
    REQUIRE_MESSAGE(euler.status == 0, euler.err);
    CHECK(euler.out.find(", uniform spacing, 8 network calls)") != std::string::npos);
    REQUIRE(sample("ddim.csv", {"--sampler", "ddim", "--steps", "8", "--eta", "0"}).status == 0);
    const Dataset e = load_csv(tmp / "euler.csv"), d = load_csv(tmp / "ddim.csv");
    REQUIRE(e.x.size() == d.x.size());
    const std::vector<double> spread = column_stds(d);
    double worst = 0.0;
    for (size_t i = 0; i < e.x.size(); ++i)
        worst = std::max(worst, std::fabs(double(e.x[i]) - d.x[i]) / spread[i % 2]);
    CHECK(worst < 1e-4);
    CHECK(read_file(tmp / "euler.csv") != read_file(tmp / "heun.csv"));

    // the same bits for any thread count
    for (const char* solver : {"heun", "dpmpp2m"}) {
        CAPTURE(solver);
        REQUIRE(sample("t1.csv", {"--sampler", solver, "--steps", "5", "--spacing", "karras", "--threads", "1"}).status == 0);
        REQUIRE(sample("t2.csv", {"--sampler", solver, "--steps", "5", "--spacing", "karras", "--threads", "2"}).status == 0);
        set_num_threads(default_num_threads());
        CHECK(read_file(tmp / "t1.csv") == read_file(tmp / "t2.csv"));
    }
}

TEST_CASE("app: train --objective flow records the objective, samples with euler and heun, refuses the others") {
    TempDir tmp("flow");
    save_csv(tmp / "data.csv", far_data(500, 5), {"height", "weight"});
    const std::string model = tmp / "f.ckpt", eps_model = tmp / "e.ckpt";
    const Outcome trained =
        run_ddpm(tmp, small_train(tmp / "data.csv", model, "300", {"--ema", "0.9", "--lr", "3e-3", "--objective", "flow"}));
    REQUIRE_MESSAGE(trained.status == 0, trained.err);
    CHECK(trained.out.find("objective flow") != std::string::npos);
    // the file says flow; a file without the entry (every eps model, and every file before it) is eps
    CHECK(load_checkpoint(model).get_meta("model.objective") == "flow");
    CHECK(load_model_file(model).objective == "flow");
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", eps_model, "20")).status == 0);
    CHECK_FALSE(load_checkpoint(eps_model).has_meta("model.objective"));
    CHECK(load_model_file(eps_model).objective == "eps");
    {  // a damaged entry is one line naming the file
        Checkpoint c = load_checkpoint(model);
        c.set_meta("model.objective", "score");
        save_checkpoint(tmp / "bad.ckpt", c);
        const std::string bad = tmp / "bad.ckpt";
        CHECK_THROWS_WITH(load_model_file(bad), (bad + ": model.objective 'score' is not eps, flow, x0 or v").c_str());
    }
    auto sample = [&](const std::string& out, std::vector<std::string> extra) {
        std::vector<std::string> args = {"sample", "--model", model, "--out", tmp / out, "--n", "400", "--seed", "4"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_ddpm(tmp, args);
    };
    // euler by default, K calls; heun 2K (to s = 0); the rows in data units with the data's spread
    const Outcome euler = sample("euler.csv", {"--steps", "10"});
    REQUIRE_MESSAGE(euler.status == 0, euler.err);
    CHECK(euler.out.find("euler sampler (flow ODE, 10 network calls), 10 steps, seed 4") != std::string::npos);
    const Outcome heun = sample("heun.csv", {"--sampler", "heun", "--steps", "5"});
    REQUIRE_MESSAGE(heun.status == 0, heun.err);
    CHECK(heun.out.find("heun sampler (flow ODE, 10 network calls), 5 steps") != std::string::npos);
    const Dataset rows = load_csv(tmp / "heun.csv"), data = load_csv(tmp / "data.csv");
    CHECK(rows.n() == 400);
    CHECK(rows.header == std::vector<std::string>{"height", "weight"});
    const std::vector<double> m = column_means(rows), sd = column_stds(rows), dm = column_means(data), dsd = column_stds(data);
    for (int c = 0; c < 2; ++c) {
        CAPTURE(c);
        CHECK(std::fabs(m[size_t(c)] - dm[size_t(c)]) < 0.2 * dsd[size_t(c)]);
        CHECK(sd[size_t(c)] == doctest::Approx(dsd[size_t(c)]).epsilon(0.25));
    }
    // the same bits for any thread count
    REQUIRE(sample("t1.csv", {"--sampler", "heun", "--steps", "4", "--threads", "1"}).status == 0);
    REQUIRE(sample("t2.csv", {"--sampler", "heun", "--steps", "4", "--threads", "2"}).status == 0);
    set_num_threads(default_num_threads());
    CHECK(read_file(tmp / "t1.csv") == read_file(tmp / "t2.csv"));
    // what does not apply to a flow model: one line naming the model file, no output
    for (const char* s : {"ddpm", "ddim", "dpmpp2m"}) {
        CAPTURE(s);
        const Outcome o = sample("no.csv", {"--sampler", s, "--steps", "10"});
        CHECK(o.status != 0);
        CHECK(last_line(o.err) == "ddpm: --sampler " + std::string(s) + ": " + model +
                                      " is a flow model (ddpm train --objective flow); it samples with --sampler euler or heun");
    }
    CHECK(last_line(sample("no.csv", {"--sampler", "euler", "--spacing", "karras"}).err) ==
          "ddpm: --spacing: " + model + " is a flow model; its K steps are equal steps in s");
    CHECK(last_line(sample("no.csv", {"--steps", "51"}).err) == "ddpm: --steps 51: more than the T = 50 of " + model);
    CHECK_FALSE(fs::exists(tmp / "no.csv"));
    // training: the objective's flags, and --resume keeps the file's objective
    CHECK(last_line(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "g.ckpt", "5", {"--objective", "flow", "--schedule", "cosine"})).err) ==
          "ddpm: --objective flow: a flow model has no noise schedule (--schedule, --beta); --T sets its grid s = t / T");
    CHECK(last_line(run_ddpm(tmp, small_train(tmp / "data.csv", model, "400", {"--resume", "--objective", "eps"})).err) ==
          "ddpm: --resume: --objective eps differs from " + model + ", which has flow (drop the flag, or train a new model)");
    CHECK(last_line(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "g.ckpt", "5", {"--objective", "v"})).err) ==
          "ddpm: --objective: expected eps or flow, got 'v'");
    // a resumed flow run is the uninterrupted one, byte for byte
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "r.ckpt", "30", {"--objective", "flow"})).status == 0);
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "h.ckpt", "10", {"--objective", "flow"})).status == 0);
    REQUIRE(run_ddpm(tmp, small_train(tmp / "data.csv", tmp / "h.ckpt", "30", {"--resume"})).status == 0);
    CHECK(read_file(tmp / "h.ckpt") == read_file(tmp / "r.ckpt"));
    // the eps model samples as before (its file has no model.objective): ddpm by default
    const Outcome eps = run_ddpm(tmp, {"sample", "--model", eps_model, "--out", tmp / "e.csv", "--n", "50"});
    REQUIRE_MESSAGE(eps.status == 0, eps.err);
    CHECK(eps.out.find("ddpm sampler") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Images (src/app/image_cmd.cpp)
// ---------------------------------------------------------------------------------------------
namespace {

// n images of 28 x 28 bytes: a bright square at a place that depends on the image, on black.
IdxArray square_images(int n) {
    IdxArray a;
    a.dims = {n, 28, 28};
    a.data.assign(size_t(n) * 784, 0);
    for (int i = 0; i < n; ++i)
        for (int y = 4 + i % 8; y < 14 + i % 8; ++y)
            for (int x = 6 + i % 5; x < 16 + i % 5; ++x) a.data[size_t(i) * 784 + size_t(y) * 28 + size_t(x)] = 255;
    return a;
}

std::vector<std::string> small_image_train(const std::string& data, const std::string& model, const std::string& steps,
                                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"train", "--data", data, "--model", model, "--arch", "cnn", "--steps", steps,
                                     "--batch", "4", "--T", "20", "--seed", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

}  // namespace

TEST_CASE("app: images: train on an IDX3 file and on a PNG folder, resume with the same bits, sample, eval") {
    TempDir tmp("images");
    const std::string idx = tmp / "train.idx";
    save_idx(idx, square_images(40));

    // the same images as a folder of PNG files give the same model
    fs::create_directories(tmp / "png");
    const IdxArray a = square_images(40);
    for (int i = 0; i < 40; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "img%03d.png", i);
        write_file_atomic((tmp.dir / "png" / name).string(), encode_png_grey(a.data.data() + size_t(i) * 784, 28, 28));
    }
    const Outcome whole = run_ddpm(tmp, small_image_train(idx, tmp / "whole.ckpt", "6"));
    REQUIRE_MESSAGE(whole.status == 0, whole.err);
    CHECK(whole.out.find("model     cnn, ") == 0);
    CHECK(whole.out.find("data      " + idx + ": 40 images of 28 x 28 (IDX3)") != std::string::npos);
    const Outcome from_png = run_ddpm(tmp, small_image_train(tmp / "png", tmp / "png.ckpt", "6"));
    REQUIRE_MESSAGE(from_png.status == 0, from_png.err);
    CHECK(read_file(tmp / "png.ckpt") == read_file(tmp / "whole.ckpt"));
    const Checkpoint c = load_checkpoint(tmp / "whole.ckpt");
    CHECK(c.get_meta("model.kind") == "image");
    CHECK(c.get_meta("tool.steps_total") == "6");
    CHECK(c.get_meta("train.batch") == "4");

    // 2 steps, then on to 6 with a checkpoint every step and another thread count: the same bytes
    REQUIRE(run_ddpm(tmp, small_image_train(idx, tmp / "parts.ckpt", "2")).status == 0);
    const Outcome resumed = run_ddpm(tmp, {"train", "--data", idx, "--model", tmp / "parts.ckpt", "--resume", "--steps",
                                           "6", "--threads", "1", "--checkpoint-every", "1"});
    set_num_threads(default_num_threads());
    REQUIRE_MESSAGE(resumed.status == 0, resumed.err);
    CHECK(read_file(tmp / "parts.ckpt") == read_file(tmp / "whole.ckpt"));
    const Outcome changed = run_ddpm(tmp, {"train", "--data", idx, "--model", tmp / "parts.ckpt", "--resume", "--steps",
                                           "8", "--arch", "unet"});
    CHECK(changed.status == 1);
    CHECK(last_line(changed.err) == "ddpm: --resume: --arch unet differs from " + tmp / "parts.ckpt" +
                                        ", which has cnn (drop the flag, or train a new model)");

    // sample: a PNG grid and an IDX3 file, by the extension; the same seed gives the same images
    const Outcome png = run_ddpm(tmp, {"sample", "--model", tmp / "whole.ckpt", "--out", tmp / "s.png", "--n", "5",
                                       "--sampler", "ddim", "--steps", "4"});
    REQUIRE_MESSAGE(png.status == 0, png.err);
    CHECK(png.out.find("wrote 5 images of 28 x 28 to " + tmp / "s.png" + " (a PNG grid of 3 columns)") == 0);
    PngInfo info = png_info(read_file(tmp / "s.png"), "s.png");
    CHECK(info.width == 3 * 30 + 2);
    CHECK(info.height == 2 * 30 + 2);
    const Outcome out_idx = run_ddpm(tmp, {"sample", "--model", tmp / "whole.ckpt", "--out", tmp / "s.idx", "--n", "6"});
    REQUIRE_MESSAGE(out_idx.status == 0, out_idx.err);
    const IdxArray samples = load_idx(tmp / "s.idx");
    CHECK(samples.dims == std::vector<int>{6, 28, 28});
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "whole.ckpt", "--out", tmp / "again.idx", "--n", "6"}).status == 0);
    CHECK(read_file(tmp / "again.idx") == read_file(tmp / "s.idx"));

    // the weights alone (image_model_checkpoint, as data/models/ ships a lesson's model) sample the same images
    {
        const ImageTrainer tr = image_trainer_from_checkpoint(c, "whole.ckpt");
        save_checkpoint(tmp / "weights.ckpt", image_model_checkpoint(tr.ema_model(), tr.schedule));
        const Outcome w = run_ddpm(tmp, {"sample", "--model", tmp / "weights.ckpt", "--out", tmp / "w.idx", "--n", "6"});
        REQUIRE_MESSAGE(w.status == 0, w.err);
        CHECK(w.out.find("(cnn), its one set of weights, ") != std::string::npos);
        CHECK(read_file(tmp / "w.idx") == read_file(tmp / "s.idx"));
        // data/models/'s files also record their training's step: still one set of weights
        Checkpoint shipped = image_model_checkpoint(tr.ema_model(), tr.schedule);
        shipped.set_meta("train.step", "6");
        save_checkpoint(tmp / "shipped.ckpt", shipped);
        const Outcome sh = run_ddpm(tmp, {"sample", "--model", tmp / "shipped.ckpt", "--out", tmp / "sh.idx", "--n", "6"});
        REQUIRE_MESSAGE(sh.status == 0, sh.err);
        CHECK(read_file(tmp / "sh.idx") == read_file(tmp / "s.idx"));
        // a lesson's training state is refused in one line
        save_checkpoint(tmp / "lesson.state", image_trainer_checkpoint(tr));
        const Outcome st = run_ddpm(tmp, {"sample", "--model", tmp / "lesson.state", "--out", tmp / "st.idx", "--n", "2"});
        CHECK(st.status == 1);
        CHECK(last_line(st.err).find("a training state of the lessons") != std::string::npos);
    }

    // eval: the Frechet distance beside its floor; with --paired, the pairwise metrics (an image
    // against itself: RMSE 0, SSIM 1, PSNR inf)
    const Outcome ev = run_ddpm(tmp, {"eval", "--samples", tmp / "s.idx", "--data", idx});
    REQUIRE_MESSAGE(ev.status == 0, ev.err);
    CHECK(ev.out.find("sizes: 6 samples; the data split (seed 0) into a reference part of 6 images and a floor part of 6") !=
          std::string::npos);
    CHECK(ev.out.find("frechet") != std::string::npos);
    CHECK(ev.out.find("rmse, psnr, ssim: not computed") != std::string::npos);
    const Outcome same = run_ddpm(tmp, {"eval", "--samples", idx, "--data", tmp / "png", "--paired"});
    REQUIRE_MESSAGE(same.status == 0, same.err);
    CHECK(same.out.find("\n   40  0.0000      inf  1.0000\n") != std::string::npos);
}

TEST_CASE("app: images: the ODE solvers sample an image model, x_0 clipped as ddim's is") {
    TempDir tmp("images_ode");
    save_idx(tmp / "train.idx", square_images(12));
    REQUIRE(run_ddpm(tmp, small_image_train(tmp / "train.idx", tmp / "cnn.ckpt", "2")).status == 0);
    auto sample = [&](const std::string& out, std::vector<std::string> extra) {
        std::vector<std::string> args = {"sample", "--model", tmp / "cnn.ckpt", "--out", tmp / out, "--n", "4"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_ddpm(tmp, args);
    };
    const Outcome heun = sample("heun.idx", {"--sampler", "heun", "--steps", "3", "--spacing", "uniform"});
    REQUIRE_MESSAGE(heun.status == 0, heun.err);
    CHECK(heun.out.find(", uniform spacing, 5 network calls), x_0 clipped to [-1, 1], 3 steps") != std::string::npos);
    CHECK(load_idx(tmp / "heun.idx").dims == std::vector<int>{4, 28, 28});
    const Outcome dpm = sample("dpm.png", {"--sampler", "dpmpp2m", "--steps", "4", "--spacing", "karras"});
    REQUIRE_MESSAGE(dpm.status == 0, dpm.err);
    CHECK(dpm.out.find(", karras spacing, 4 network calls)") != std::string::npos);
    // euler with the clipped prediction is ddim --eta 0 with its clip: the same bytes, give or take one
    // level where rounding falls on the other side
    REQUIRE(sample("euler.idx", {"--sampler", "euler", "--steps", "5", "--spacing", "uniform"}).status == 0);
    REQUIRE(sample("ddim.idx", {"--sampler", "ddim", "--steps", "5"}).status == 0);
    const IdxArray e = load_idx(tmp / "euler.idx"), d = load_idx(tmp / "ddim.idx");
    REQUIRE(e.data.size() == d.data.size());
    int worst = 0;
    for (size_t i = 0; i < e.data.size(); ++i) worst = std::max(worst, std::abs(int(e.data[i]) - int(d.data[i])));
    CHECK(worst <= 1);
    // the same bits for any thread count
    REQUIRE(sample("t1.idx", {"--sampler", "heun", "--steps", "3", "--spacing", "uniform", "--threads", "1"}).status == 0);
    set_num_threads(default_num_threads());
    CHECK(read_file(tmp / "t1.idx") == read_file(tmp / "heun.idx"));
}

TEST_CASE("app: images: train --objective flow records it, samples with euler and heun, refuses the others") {
    TempDir tmp("images_flow");
    save_idx(tmp / "train.idx", square_images(12));
    const std::string model = tmp / "flow.ckpt";
    const Outcome trained = run_ddpm(tmp, small_image_train(tmp / "train.idx", model, "2", {"--objective", "flow"}));
    REQUIRE_MESSAGE(trained.status == 0, trained.err);
    CHECK(trained.out.find("objective flow (velocity eps - x_0 on the straight path), s = t / T, T = 20") != std::string::npos);
    CHECK(load_checkpoint(model).get_meta("model.objective") == "flow");
    REQUIRE(run_ddpm(tmp, small_image_train(tmp / "train.idx", tmp / "eps.ckpt", "2")).status == 0);
    CHECK_FALSE(load_checkpoint(tmp / "eps.ckpt").has_meta("model.objective"));  // eps, as every file before
    auto sample = [&](const std::string& out, std::vector<std::string> extra) {
        std::vector<std::string> args = {"sample", "--model", model, "--out", tmp / out, "--n", "4", "--seed", "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_ddpm(tmp, args);
    };
    const Outcome euler = sample("euler.idx", {"--steps", "5"});
    REQUIRE_MESSAGE(euler.status == 0, euler.err);
    CHECK(euler.out.find("euler sampler (flow ODE from s = 1 to 0, 5 network calls), 5 steps, seed 2") != std::string::npos);
    CHECK(load_idx(tmp / "euler.idx").dims == std::vector<int>{4, 28, 28});
    const Outcome heun = sample("heun.png", {"--sampler", "heun", "--steps", "3"});
    REQUIRE_MESSAGE(heun.status == 0, heun.err);
    CHECK(heun.out.find("heun sampler (flow ODE from s = 1 to 0, 6 network calls), 3 steps") != std::string::npos);
    CHECK(heun.out.find("(a PNG grid of 2 columns)") != std::string::npos);
    // the same bits for any thread count
    REQUIRE(sample("t1.idx", {"--steps", "5", "--threads", "1"}).status == 0);
    REQUIRE(sample("t2.idx", {"--steps", "5", "--threads", "2"}).status == 0);
    set_num_threads(default_num_threads());
    CHECK(read_file(tmp / "t1.idx") == read_file(tmp / "euler.idx"));
    CHECK(read_file(tmp / "t2.idx") == read_file(tmp / "euler.idx"));
    // what does not apply to a flow model: one line naming the model file, no output
    for (const char* s : {"ddpm", "ddim", "dpmpp2m"}) {
        CAPTURE(s);
        const Outcome o = sample("no.idx", {"--sampler", s, "--steps", "4"});
        CHECK(o.status == 1);
        CHECK(last_line(o.err) == "ddpm: --sampler " + std::string(s) + ": " + model +
                                      " is a flow model (ddpm train --objective flow); it samples with --sampler euler or heun");
    }
    CHECK(last_line(sample("no.idx", {"--sampler", "euler", "--spacing", "uniform"}).err) ==
          "ddpm: --spacing: " + model + " is a flow model; its K steps are equal steps in s");
    CHECK(last_line(sample("no.idx", {"--sampler", "heun", "--sigma-max", "80"}).err) ==
          "ddpm: --sigma-max: " + model + " is a flow model; it starts at s = 1");
    CHECK(last_line(sample("no.idx", {"--variance", "beta"}).err) ==
          "ddpm: --variance: " + model + " is a flow model; its samplers add no noise");
    CHECK(last_line(sample("no.idx", {"--sampler", "euler", "--eta", "0"}).err).find("--eta applies to --sampler ddim only") !=
          std::string::npos);
    CHECK(last_line(sample("no.idx", {"--steps", "21"}).err) == "ddpm: --steps 21: more than the T = 20 of " + model);
    CHECK_FALSE(fs::exists(tmp / "no.idx"));
    // training: no schedule flags; --resume keeps the objective, byte for byte as one run
    CHECK(last_line(run_ddpm(tmp, small_image_train(tmp / "train.idx", tmp / "g.ckpt", "2",
                                                    {"--objective", "flow", "--schedule", "cosine"})).err) ==
          "ddpm: --objective flow: a flow model has no noise schedule (--schedule, --beta); --T sets its grid s = t / T");
    CHECK(last_line(run_ddpm(tmp, {"train", "--data", tmp / "train.idx", "--model", model, "--resume", "--steps", "3",
                                   "--objective", "eps"}).err) ==
          "ddpm: --resume: --objective eps differs from " + model + ", which has flow (drop the flag, or train a new model)");
    REQUIRE(run_ddpm(tmp, small_image_train(tmp / "train.idx", tmp / "whole.ckpt", "4", {"--objective", "flow"})).status == 0);
    REQUIRE(run_ddpm(tmp, {"train", "--data", tmp / "train.idx", "--model", model, "--resume", "--steps", "4"}).status == 0);
    CHECK(read_file(model) == read_file(tmp / "whole.ckpt"));
}

TEST_CASE("app: images: --class and --guidance sample a class-conditional model; misuse is a one-line error") {
    TempDir tmp("guidance");
    // a tiny conditional U-Net, six steps on labelled squares, saved as data/models/ ships a model
    const IdxArray a = square_images(20);
    ImageSet data;
    data.n = 20;
    data.h = data.w = 28;
    for (uint8_t b : a.data) data.x.push_back(byte_to_unit(b));
    for (int i = 0; i < 20; ++i) data.labels.push_back(i % 10);
    ImageTrainConfig c;
    c.batch = 4;
    // 16 channels: with 8 (one per GroupNorm group) the GroupNorm after each block's time-and-label
    // add would take that per-channel add away again, and the table would get next to no gradient
    c.unet.c0 = c.unet.c1 = c.unet.c2 = 16;
    c.unet.classes = 10;
    c.unet.zero_head = false;  // a zero head would pass no gradient to the label table in the first steps
    c.lr = 1e-2f;              // so that a few steps move the table far enough to change the images' bytes
    ImageTrainer tr(ImageArch::UNet, c, cosine_schedule(20));
    for (int i = 0; i < 6; ++i) tr.train_step(data, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    save_checkpoint(tmp / "cond.ckpt", image_model_checkpoint(tr.model, tr.schedule));  // the last iterate

    auto sample = [&](const std::string& out, std::vector<std::string> extra) {
        std::vector<std::string> args = {"sample", "--model", tmp / "cond.ckpt", "--out", out, "--n", "3",
                                         "--sampler", "ddim", "--steps", "4"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_ddpm(tmp, args);
    };
    const Outcome guided = sample(tmp / "g.idx", {"--class", "7", "--guidance", "3"});
    REQUIRE_MESSAGE(guided.status == 0, guided.err);
    CHECK(guided.out.find("class 7, guidance w = 3 (Ho and Salimans 2022, eq. 6)") != std::string::npos);
    const Outcome plain = sample(tmp / "p.idx", {"--class", "7"});
    REQUIRE_MESSAGE(plain.status == 0, plain.err);
    const Outcome none = sample(tmp / "n.idx", {});
    REQUIRE_MESSAGE(none.status == 0, none.err);
    CHECK(none.out.find("no class asked") != std::string::npos);
    CHECK(read_file(tmp / "g.idx") != read_file(tmp / "p.idx"));  // guidance changes the images
    REQUIRE(sample(tmp / "g2.idx", {"--class", "7", "--guidance", "3", "--threads", "1"}).status == 0);
    set_num_threads(default_num_threads());
    CHECK(read_file(tmp / "g2.idx") == read_file(tmp / "g.idx"));  // and the same seed gives the same ones
    // the ODE solvers take the label and the guidance too (two network passes a call, one call counted)
    const Outcome ode = run_ddpm(tmp, {"sample", "--model", tmp / "cond.ckpt", "--out", tmp / "ode.idx", "--n", "3",
                                       "--sampler", "dpmpp2m", "--steps", "4", "--spacing", "uniform", "--class", "7", "--guidance", "3"});
    REQUIRE_MESSAGE(ode.status == 0, ode.err);
    CHECK(ode.out.find(", uniform spacing, 4 network calls)") != std::string::npos);
    CHECK(ode.out.find("class 7, guidance w = 3") != std::string::npos);

    // what the tool refuses, in one line each, without writing the output
    const Outcome big = sample(tmp / "x.idx", {"--class", "10"});
    CHECK(big.status == 1);
    CHECK(last_line(big.err) == "ddpm: --class 10: " + tmp / "cond.ckpt" + " knows classes 0-9");
    const Outcome alone = sample(tmp / "x.idx", {"--guidance", "2"});
    CHECK(alone.status == 1);
    CHECK(last_line(alone.err) == "ddpm: --guidance applies with --class K only (the class to guide towards)");
    const Outcome negative = sample(tmp / "x.idx", {"--class", "3", "--guidance", "-1"});
    CHECK(negative.status == 1);
    CHECK(last_line(negative.err).find("ddpm: --guidance") == 0);
    CHECK_FALSE(fs::exists(tmp / "x.idx"));

    save_idx(tmp / "train.idx", square_images(12));
    REQUIRE(run_ddpm(tmp, small_image_train(tmp / "train.idx", tmp / "cnn.ckpt", "1")).status == 0);
    const Outcome cnn = run_ddpm(tmp, {"sample", "--model", tmp / "cnn.ckpt", "--out", tmp / "x.idx", "--n", "2",
                                       "--class", "1"});
    CHECK(cnn.status == 1);
    CHECK(last_line(cnn.err).find("ddpm: --class: " + tmp / "cnn.ckpt" + " is not class-conditional") == 0);
    CHECK_FALSE(fs::exists(tmp / "x.idx"));
}
