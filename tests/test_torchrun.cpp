// The path past one machine (issue 37; docs/next-steps.md, "Past one machine"): src/torch/train.py
// trains a course network with PyTorch's DistributedDataParallel under torchrun (gloo on these CPUs),
// and the course's own tools take the result: `ddpm import` makes a checkpoint of it, `ddpm sample` and
// `ddpm eval` run on that. Checked here:
//   - torchrun --nproc_per_node=2 trains a small U-Net a few steps; its file imports, samples and scores;
//   - 2 processes with the global batch B give the weights of 1 process with batch B, within 1e-6 (the
//     order of float additions is all that differs; one step less moves them by far more);
//   - `ddpm import` refuses, in one line naming the file, a safetensors file that is not the course's
//     and files whose metadata and weights disagree;
//   - train.py's schedules are the course's betas bit for bit, its CSV normalisation the course's, its
//     PNG reader the course's pixels; an x0 and a v model of train.py sample through `ddpm sample`.
// torchrun is started as `python3 -m torch.distributed.run`, the module behind the torchrun command, with
// the python3 that imports torch. Without torch: "skipped: no torch" (CI fails on that message for this
// file: .ci/run).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/model_file.h"
#include "app/normalise.h"
#include "core/io.h"
#include "core/rng.h"
#include "diffusion/image_train.h"
#include "diffusion/images.h"
#include "diffusion/schedule.h"
#include "store/checkpoint.h"
#include "store/csv.h"
#include "lessonkit/mnist.h"
#include "store/image_checkpoint.h"
#include "store/image_files.h"
#include "store/png.h"
#include "store/safetensors.h"
#include "store/trainer_checkpoint.h"
#include "ddpm_run.h"
#include "helpers.h"
#include "torch_parity.h"

using namespace ddpm;
using testing_helpers::run_ddpm;
using testing_helpers::TempDir;

namespace {

const char* kTrain = "src/torch/train.py";

std::string torch_or_skip() {
    if (!std::filesystem::exists(kTrain) && std::filesystem::exists("STUDENT_TREE")) {
        MESSAGE("skipped: the student tree has no PyTorch package (it holds the answers)");
        return "";
    }
    if (!std::filesystem::exists(kTrain)) FAIL("run the tests from the project's root: no " << kTrain);
    const std::string py = torch_parity::python_with_torch();
    if (py.empty()) MESSAGE("skipped: no torch (Debian: apt-get install python3-torch)");
    return py;
}

// Runs a shell command with its output in `log`, stopped after 5 minutes (a run that hangs fails the
// test instead of holding make test: 124 is timeout's status); returns its exit status.
int shell(const std::string& command, const std::string& log) {
    const int status = std::system(("timeout -k 10 300 " + command + " < /dev/null > " + log + " 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string text_of(const std::string& path) { return std::filesystem::exists(path) ? read_file(path) : ""; }

int lines_of(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

// n images of 28 x 28: a bright disc of random centre and radius on a dark ground, in [-1, 1].
void write_discs(const std::string& path, int n) {
    std::vector<float> x(size_t(n) * 784);
    Rng rng(5, 1);
    for (int i = 0; i < n; ++i) {
        const float cx = 8 + 12 * rng.uniform(), cy = 8 + 12 * rng.uniform(), r = 4 + 5 * rng.uniform();
        for (int y = 0; y < 28; ++y)
            for (int xx = 0; xx < 28; ++xx) {
                const float d = std::sqrt((xx - cx) * (xx - cx) + (y - cy) * (y - cy));
                x[size_t(i) * 784 + size_t(y) * 28 + size_t(xx)] = d < r ? 1.0f : -1.0f;
            }
    }
    write_file_atomic(path, idx_bytes_of_images(x.data(), n, 28, 28));
}

// The largest |a - b| over every tensor of two safetensors files with the same names and shapes.
double largest_difference(const Checkpoint& a, const Checkpoint& b) {
    REQUIRE(a.tensors.size() == b.tensors.size());
    double d = 0.0;
    for (size_t k = 0; k < a.tensors.size(); ++k) {
        REQUIRE(a.tensors[k].first == b.tensors[k].first);
        const Tensor &x = a.tensors[k].second, &y = b.tensors[k].second;
        REQUIRE(x.shape() == y.shape());
        d = std::max(d, testing_helpers::max_abs_diff(x.data(), y.data(), x.numel()));
    }
    return d;
}

Checkpoint read_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

// `ddpm import` of `file` fails with exactly one line on stderr that names the file and says `why`.
void refused(const TempDir& tmp, const std::string& file, const std::string& why) {
    std::string err;
    CHECK(run_ddpm(tmp, {"import", "--model", file, "--out", tmp / "refused.ckpt"}, &err) != 0);
    CHECK_MESSAGE(lines_of(err) == 1, err);
    CHECK_MESSAGE(err.find(file) != std::string::npos, err);
    CHECK_MESSAGE(err.find(why) != std::string::npos, err);
    CHECK_FALSE(std::filesystem::exists(tmp / "refused.ckpt"));
    MESSAGE("refused: " << err.substr(0, err.size() - 1));
}

}  // namespace

TEST_CASE("torchrun: 2 processes (gloo) train a U-Net that ddpm import, sample and eval take; 2 processes with "
          "global batch B give the weights of 1 process with batch B") {
    const std::string py = torch_or_skip();
    if (py.empty()) return;
    const auto start = std::chrono::steady_clock::now();
    TempDir tmp("torchrun");
    write_discs(tmp / "discs.idx", 64);
    // a U-Net of 16 channels at every level (2 per GroupNorm group), 6 steps of a global batch of 8 at the
    // course's learning rate for images (2e-4)
    const std::string flags =
        " --data " + tmp / "discs.idx" + " --steps 6 --batch 8 --channels 16,16,16 --T 100 --seed 3 --threads 1";
    // --redirects 1 --tee 1: the workers' stdout to a log file and to the console. Debian's torch 1.13 on
    // Python 3.11 fails to parse the default (0) of both flags (docs/next-steps.md); any value but 0 and 3 works
    const std::string torchrun = py + " -m torch.distributed.run --standalone --nproc_per_node=2 --monitor_interval 0.2"
                                      " --redirects 1 --tee 1 --log_dir " + tmp / "torchrun_logs";
    const int two = shell(torchrun + " " + kTrain + flags + " --out " + tmp / "two.safetensors", tmp / "two.log");
    REQUIRE_MESSAGE(two == 0, text_of(tmp / "two.log"));
    const std::string log = text_of(tmp / "two.log");
    CHECK(log.find("2 processes (gloo, cpu), global batch 8 (4 each)") != std::string::npos);
    REQUIRE(shell(py + " " + kTrain + flags + " --out " + tmp / "one.safetensors", tmp / "one.log") == 0);
    REQUIRE(shell(py + " " + kTrain + flags + " --steps 5 --out " + tmp / "short.safetensors", tmp / "short.log") == 0);

    // the same weights (the EMA's, which train.py writes) from 1 and from 2 processes
    const Checkpoint one = read_safetensors(tmp / "one.safetensors"), two_procs = read_safetensors(tmp / "two.safetensors");
    const double diff = largest_difference(one, two_procs);
    const double step = largest_difference(one, read_safetensors(tmp / "short.safetensors"));
    MESSAGE("1 process, batch 8 against 2 processes of 4 (6 steps): largest weight difference " << fmt_sci(diff, 2)
                                                                                              << "; one step less: "
                                                                                              << fmt_sci(step, 2));
    CHECK(diff <= 1e-6);
    CHECK(step > 100 * 1e-6);  // what a real difference in the run looks like
    for (const auto& kv : one.meta)  // (not a structured binding: clang 14 cannot capture one in CHECK's lambda)
        if (kv.first != "torch.processes" && kv.first != "torch.backend")
            CHECK_MESSAGE(two_procs.get_meta(kv.first) == kv.second, kv.first);
    CHECK(two_procs.get_meta("torch.processes") == "2");
    CHECK(two_procs.get_meta("torch.backend") == "gloo");

    // the course's tools take it: import, sample (DDIM, 10 steps), eval (the Frechet distance)
    std::string err;
    REQUIRE(run_ddpm(tmp, {"import", "--model", tmp / "two.safetensors", "--out", tmp / "two.ckpt"}, &err) == 0);
    const Checkpoint imported = load_checkpoint(tmp / "two.ckpt");
    CHECK(imported.get_meta("model.arch") == "unet");
    CHECK(imported.get_meta("unet.channels") == "16,16,16");
    CHECK(imported.get_meta("train.step") == "6");
    REQUIRE_MESSAGE(run_ddpm(tmp, {"sample", "--model", tmp / "two.ckpt", "--out", tmp / "s.idx", "--n", "16", "--sampler",
                                   "ddim", "--steps", "10", "--threads", "1"},
                             &err) == 0,
                    err);
    REQUIRE_MESSAGE(run_ddpm(tmp, {"eval", "--samples", tmp / "s.idx", "--data", tmp / "discs.idx", "--threads", "1"}, &err) == 0,
                    err);
    CHECK(read_file(tmp / "out.txt").find("frechet") != std::string::npos);
    // and so does a model of train.py trained on after the import's export (--init)
    REQUIRE(run_ddpm(tmp, {"export", "--model", tmp / "two.ckpt", "--out", tmp / "again.safetensors"}) == 0);
    REQUIRE(shell(py + " " + kTrain + " --data " + tmp / "discs.idx" + " --init " + tmp / "again.safetensors" +
                      " --steps 2 --threads 1 --out " + tmp / "more.safetensors",
                  tmp / "more.log") == 0);
    CHECK(read_safetensors(tmp / "more.safetensors").get_meta("train.step") == "8");

    // what import refuses, each in one line naming the file
    {
        Checkpoint plain;  // weights with no metadata of the course: a file from elsewhere
        plain.tensors = two_procs.tensors;
        write_file_atomic(tmp / "plain.safetensors", serialize_safetensors(plain));
        refused(tmp, tmp / "plain.safetensors", "no metadata 'ddpm.linear_weight_layout': not a file of `ddpm export`");
        Checkpoint wider = two_procs;  // metadata of a wider network than the weights
        wider.set_meta("unet.channels", "16,16,32");
        write_file_atomic(tmp / "wider.safetensors", serialize_safetensors(wider));
        refused(tmp, tmp / "wider.safetensors", "the network it describes");
        Checkpoint renamed = two_procs;  // a tensor under another name
        renamed.tensors.back().first = "head.kernel";
        write_file_atomic(tmp / "renamed.safetensors", serialize_safetensors(renamed));
        refused(tmp, tmp / "renamed.safetensors", "tensor");
        Checkpoint unknown = two_procs;  // an objective the course does not know
        unknown.set_meta("model.objective", "score");
        write_file_atomic(tmp / "unknown.safetensors", serialize_safetensors(unknown));
        refused(tmp, tmp / "unknown.safetensors", "model.objective");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("torchrun round trip: " << fmt(seconds, 1) << " s");
}

TEST_CASE("train.py: the course's schedules, CSV normalisation and PNG pixels; x0 and v models sample through ddpm "
          "sample and are refused by ddpm train --resume") {
    const std::string py = torch_or_skip();
    if (py.empty()) return;
    TempDir tmp("trainpy");
    // the schedules: the betas as text, bit for bit (the cosine one needs the course's own cosine)
    const std::string probe = tmp / "schedules.py";
    {
        std::ofstream f(probe);
        f << "import sys\nsys.path.insert(0, 'src/torch')\nfrom ddpm_torch import make_schedule\n"
             "for kind in ('linear', 'cosine', 'sigmoid', 'constant'):\n"
             "    m = make_schedule(kind, 1000).metadata()\n"
             "    print(m['schedule.name'])\n    print(m['schedule.beta_f64'])\n";
    }
    REQUIRE(shell(py + " " + probe, tmp / "schedules.txt") == 0);
    {
        std::ifstream in(tmp / "schedules.txt");
        for (const char* kind : {"linear", "cosine", "sigmoid", "constant"}) {
            Checkpoint c;
            add_schedule_entries(c, make_schedule(kind, 1000));
            std::string name, betas;
            REQUIRE(std::getline(in, name));
            REQUIRE(std::getline(in, betas));
            CHECK_MESSAGE(name == c.get_meta("schedule.name"), kind);
            CHECK_MESSAGE(betas == c.get_meta("schedule.beta_f64"), kind);
        }
    }

    // PNG files: train.py's reader gives the pixels of the course's (stb_image's), grey and colour
    std::filesystem::create_directories(tmp / "pngs");
    {
        std::vector<uint8_t> grey(28 * 28);
        Rng rng(6, 1);
        for (uint8_t& v : grey) v = uint8_t(rng.uniform() * 256.0f);
        write_file_atomic(tmp / "pngs/a.png", encode_png_grey(grey.data(), 28, 28));
        // an RGB file with every filter type (0-4 by row), written by hand
        std::string raw;
        for (int y = 0; y < 28; ++y) {
            raw += char(y % 5);
            for (int x = 0; x < 28 * 3; ++x) raw += char(uint8_t(rng.uniform() * 256.0f));
        }
        std::string ihdr = {0, 0, 0, 28, 0, 0, 0, 28, 8, 2, 0, 0, 0};
        write_file_atomic(tmp / "pngs/b.png", std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) +
                                                  png_chunk("IDAT", zlib_compress(raw)) + png_chunk("IEND", ""));
    }
    const ImageSet ours = images_from_png_folder(
        tmp / "pngs", [](const std::string& f, int64_t max) { return read_file(f, max); }, 10);
    {
        std::ofstream f(tmp / "png.py");
        f << "import sys\nsys.path.insert(0, 'src/torch')\nfrom ddpm_torch import load_png_folder\n"
             "print(' '.join(str(v) for v in load_png_folder(sys.argv[1]).flatten().tolist()))\n";
    }
    REQUIRE(shell(py + " " + tmp / "png.py" + " " + tmp / "pngs", tmp / "png.txt") == 0);
    {
        std::ifstream in(tmp / "png.txt");
        int mismatches = 0, count = 0;
        for (int v; in >> v; ++count) mismatches += count < int(ours.x.size()) && unit_to_byte(ours.x[size_t(count)]) != v;
        CHECK(count == int(ours.x.size()));
        CHECK(mismatches == 0);
    }

    // a CSV of two far-off columns: train.py's normalisation is the course's, to the last digit
    {
        std::ofstream csv(tmp / "d.csv");
        csv << "height,weight\n";
        Rng r(8, 1);
        for (int i = 0; i < 400; ++i) csv << 170 + 8 * r.normal() << "," << 60 + 9 * r.normal() << "\n";
    }
    const Normalisation norm = fit_normalisation(load_csv(tmp / "d.csv"), "d.csv");
    for (const char* target : {"x0", "v"}) {
        const std::string out = tmp / (std::string(target) + ".safetensors"), ckpt = tmp / (std::string(target) + ".ckpt");
        REQUIRE(shell(py + " " + kTrain + " --data " + tmp / "d.csv" + " --out " + out + " --objective " + target +
                          " --steps 400 --batch 64 --T 100 --lr 3e-3 --threads 1",
                      tmp / "mlp.log") == 0);
        const Checkpoint file = read_safetensors(out);
        CHECK(file.get_meta("model.objective") == target);
        CHECK(file.get_meta("data.mean") == join_doubles(norm.mean));
        CHECK(file.get_meta("data.std") == join_doubles(norm.std));
        CHECK(file.get_meta("data.header") == "height,weight");
        std::string err;
        REQUIRE_MESSAGE(run_ddpm(tmp, {"import", "--model", out, "--out", ckpt}, &err) == 0, err);
        REQUIRE_MESSAGE(run_ddpm(tmp, {"sample", "--model", ckpt, "--out", tmp / "s.csv", "--n", "2000", "--threads", "1"},
                                 &err) == 0,
                        err);
        CHECK(err.find(std::string("predicts ") + target) != std::string::npos);
        // the rows come back in the data's units: a wrong conversion to eps would miss by far more
        const Dataset s = load_csv(tmp / "s.csv");
        const Normalisation got = fit_normalisation(s, "s.csv");
        for (int c = 0; c < 2; ++c) {
            CHECK_MESSAGE(std::fabs(got.mean[size_t(c)] - norm.mean[size_t(c)]) < 0.25 * norm.std[size_t(c)], target);
            CHECK_MESSAGE(std::fabs(got.std[size_t(c)] / norm.std[size_t(c)] - 1.0) < 0.25, target);
        }
        MESSAGE(std::string(target) << " model of train.py, sampled by ddpm sample: column means " << fmt(got.mean[0], 2) << ", "
                       << fmt(got.mean[1], 2) << " (data " << fmt(norm.mean[0], 2) << ", " << fmt(norm.mean[1], 2)
                       << "), stds " << fmt(got.std[0], 2) << ", " << fmt(got.std[1], 2) << " (data "
                       << fmt(norm.std[0], 2) << ", " << fmt(norm.std[1], 2) << ")");
        CHECK(run_ddpm(tmp, {"train", "--data", tmp / "d.csv", "--model", ckpt, "--resume", "--threads", "1"}, &err) != 0);
        CHECK(lines_of(err) == 1);
        CHECK(err.find("train.py --init continues this one") != std::string::npos);
    }
}

TEST_CASE("lessons: --unet FILE reads a U-Net from a lessons' model file or a training state (its EMA weights), "
          "and refuses models that do not predict eps") {
    TempDir tmp("lesson_unet");
    ImageTrainConfig tc;
    tc.unet.c0 = tc.unet.c1 = tc.unet.c2 = 16;
    tc.batch = 2;
    ImageTrainer tr(ImageArch::UNet, tc, cosine_schedule(50));
    ImageSet data;
    data.n = 4;
    data.h = data.w = 28;
    data.x.assign(size_t(4) * 784, 0.0f);
    Rng(3, 1).fill_normal(data.x.data(), int64_t(data.x.size()));
    const std::vector<int> rows = {0, 1, 2, 3};
    for (int i = 0; i < 3; ++i) tr.train_step(data, rows);
    // the training state (what ddpm train writes and ddpm import makes): the EMA weights and the schedule
    Checkpoint state = image_trainer_checkpoint(tr);
    state.set_meta("tool.steps_total", "3");
    save_checkpoint(tmp / "state.ckpt", state);
    Schedule s;
    std::string step;
    const ImageModel from_state = load_eps_image_model(tmp / "state.ckpt", s, step);
    const ImageModel ema = tr.ema_model();
    const Params a = from_state.params(), b = ema.params(), raw = tr.model.params();
    REQUIRE(a.size() == b.size());
    bool same = true, differs_from_raw = false;
    for (size_t k = 0; k < a.size(); ++k) {
        same = same && testing_helpers::max_abs_diff(a[k].tensor.data(), b[k].tensor.data(), a[k].tensor.numel()) == 0.0;
        differs_from_raw = differs_from_raw ||
                           testing_helpers::max_abs_diff(a[k].tensor.data(), raw[k].tensor.data(), a[k].tensor.numel()) > 0.0;
    }
    CHECK(same);
    CHECK(differs_from_raw);
    CHECK(step == "3");
    CHECK(s.name == tr.schedule.name);
    CHECK(s.beta == tr.schedule.beta);
    // one set of weights, as data/models/ ships them
    save_checkpoint(tmp / "weights.ckpt", image_model_checkpoint(ema, tr.schedule));
    Schedule s2;
    const ImageModel from_weights = load_eps_image_model(tmp / "weights.ckpt", s2, step);
    CHECK(step == "?");
    CHECK(testing_helpers::max_abs_diff(from_weights.params()[3].tensor.data(), b[3].tensor.data(), b[3].tensor.numel()) == 0.0);
    // a model of another target is refused in one line naming the file
    Checkpoint v = state;
    v.set_meta("model.objective", "v");
    save_checkpoint(tmp / "v.ckpt", v);
    CHECK_THROWS_WITH(load_eps_image_model(tmp / "v.ckpt", s, step),
                      (tmp / "v.ckpt" + ": a model that predicts v; the lessons' samplers take one that predicts eps").c_str());
    CHECK_THROWS_WITH(load_eps_image_model(tmp / "none.ckpt", s, step), (tmp / "none.ckpt" + ": not found").c_str());
}
