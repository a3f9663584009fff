// The PyTorch twins of our networks (tests/bench/torch_twins.py) on the files of `ddpm export`: the
// script reads the safetensors file with json and torch.frombuffer alone, loads it into a
// torch.nn.Module with load_state_dict(strict=True) (every name and shape must match), and computes
// eps_theta at two timesteps and a few DDPM steps with our noise. Each must agree with ours within
// 1e-5 relative (the largest difference over the largest value of the tensor); the figures are
// printed. Networks: toy MLPs trained by `ddpm train` (plain and residual), the CNN and the U-Nets
// (residual at lesson 09's widths, ConvNeXt small, lesson 11's class-conditional one with its labels),
// and lesson 09's trained U-Net where data/models/mnist_unet.ckpt is shipped. The twins are the modules
// of the package src/torch/ddpm_torch. Without torch: "skipped: no torch".
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "app/export.h"
#include "app/model_file.h"
#include "core/io.h"
#include "store/image_checkpoint.h"
#include "store/safetensors.h"
#include "diffusion/guidance.h"
#include "diffusion/image_train.h"
#include "diffusion/sampler.h"
#include "ddpm_run.h"
#include "helpers.h"
#include "torch_parity.h"

using namespace ddpm;
using testing_helpers::run_ddpm;
using testing_helpers::TempDir;

namespace {

const char* kScript = "tests/bench/torch_twins.py";

double relative(const std::vector<float>& ours, const torch_parity::Block& theirs) {
    REQUIRE(theirs.values.size() == ours.size());
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < ours.size(); ++i) {
        diff = std::max(diff, std::fabs(double(ours[i]) - theirs.values[i]));
        scale = std::max(scale, std::fabs(double(ours[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

// Runs the twin on `file` with rows x (n, dim) at the timesteps `ts`, and `steps` DDPM steps from x_T
// with noise of Rng(9, ...); compares with `eps_fn`, which is our network.
void check_twin(const std::string& label, const std::string& py, const TempDir& tmp, const std::string& file,
                const EpsFunction& eps_fn, const Schedule& s, int n, int dim, int steps,
                const std::vector<int>& labels = {}) {
    const size_t size = size_t(n) * size_t(dim);
    std::vector<float> x(size), x_T(size), z(size_t(steps) * size);
    Rng(9, 1).fill_normal(x.data(), int64_t(size));
    Rng(9, 2).fill_normal(x_T.data(), int64_t(size));
    Rng(9, 3).fill_normal(z.data(), int64_t(z.size()));
    const std::vector<float> ts = {float(s.T), float(1 + s.T / 3)};
    {
        std::ofstream in(tmp / "in.txt");
        torch_parity::write_block(in, "x", n, dim, x.data());
        torch_parity::write_block(in, "t", 1, int(ts.size()), ts.data());
        torch_parity::write_block(in, "x_T", n, dim, x_T.data());
        torch_parity::write_block(in, "z", steps, n * dim, z.data());
        if (!labels.empty()) {  // a conditional U-Net: one class per row (-1 for none)
            const std::vector<float> y(labels.begin(), labels.end());
            torch_parity::write_block(in, "labels", 1, int(y.size()), y.data());
        }
    }
    const std::string cmd = py + " " + kScript + " check " + file + " " + tmp / "in.txt" + " " + tmp / "out.txt";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, cmd << " failed");
    const std::map<std::string, torch_parity::Block> torch = torch_parity::read_blocks(tmp / "out.txt");
    std::string figures;
    for (size_t k = 0; k < ts.size(); ++k) {
        std::vector<float> eps(size);
        eps_fn(eps.data(), x.data(), n, int(ts[k]));
        const std::string name = "eps_" + std::to_string(k + 1);
        REQUIRE(torch.count(name) == 1);
        const double r = relative(eps, torch.at(name));
        figures += "eps(t=" + std::to_string(int(ts[k])) + ") " + fmt_sci(r, 2) + ", ";
        CHECK(r < 1e-5);
    }
    std::vector<float> xs = x_T, eps(size);
    for (int k = 0; k < steps; ++k) {
        const int t = s.T - k;
        eps_fn(eps.data(), xs.data(), n, t);
        p_sample_step(xs.data(), xs.data(), eps.data(), z.data() + size_t(k) * size, int64_t(size), s, t, Variance::BetaTilde);
    }
    REQUIRE(torch.count("x_steps") == 1);
    const double r = relative(xs, torch.at("x_steps"));
    figures += std::to_string(steps) + " DDPM steps " + fmt_sci(r, 2);
    CHECK(r < 1e-5);
    MESSAGE("twin parity, " << label << ": " << figures << " (relative to the largest value)");
}

std::string torch_or_skip() {
    if (!std::filesystem::exists(kScript) && std::filesystem::exists("STUDENT_TREE")) {
        MESSAGE("skipped: the student tree has no PyTorch twins (they hold the answers)");
        return "";
    }
    if (!std::filesystem::exists(kScript)) FAIL("run the tests from the project's root: no " << kScript);
    const std::string py = torch_parity::python_with_torch();
    if (py.empty()) MESSAGE("skipped: no torch (Debian: apt-get install python3-torch)");
    return py;
}

}  // namespace

TEST_CASE("twins: toy MLPs of ddpm train, exported, run in PyTorch as ours (plain and residual)") {
    const std::string py = torch_or_skip();
    if (py.empty()) return;
    TempDir tmp("twins_toy");
    {
        std::ofstream csv(tmp / "d.csv");
        csv << "a,b,c\n";
        Rng r(4, 1);
        for (int i = 0; i < 64; ++i) csv << r.normal() << "," << 3 + 2 * r.normal() << "," << r.uniform() << "\n";
    }
    struct Run {
        const char* label;
        std::vector<std::string> flags;
    };
    const std::vector<Run> runs = {
        {"toy MLP (plain, 3 x 32, GELU)", {"--hidden", "32", "--layers", "3"}},
        {"toy MLP (residual, 2 blocks of 24)", {"--hidden", "24", "--layers", "2", "--residual"}},
    };
    for (const Run& run : runs) {
        std::vector<std::string> args = {"train", "--data", tmp / "d.csv", "--model", tmp / "m.ckpt", "--steps", "200",
                                         "--batch", "16", "--T", "50", "--threads", "1"};
        args.insert(args.end(), run.flags.begin(), run.flags.end());
        std::filesystem::remove(tmp / "m.ckpt");
        REQUIRE(run_ddpm(tmp, args) == 0);
        REQUIRE(run_ddpm(tmp, {"export", "--model", tmp / "m.ckpt", "--out", tmp / "m.safetensors"}) == 0);
        const ModelFile mf = load_model_file(tmp / "m.ckpt");
        const EpsModel model = mf.trainer.ema_model();
        check_twin(run.label, py, tmp, tmp / "m.safetensors", model_eps_function(model), mf.trainer.schedule, 16, 3, 4);
    }
}

TEST_CASE("twins: the CNN and the U-Nets (residual, ConvNeXt, class-conditional) exported, run in PyTorch as ours") {
    const std::string py = torch_or_skip();
    if (py.empty()) return;
    TempDir tmp("twins_images");
    const Schedule s = linear_schedule(1000);
    UNetConfig residual = unet_residual_config();  // lesson 09's widths
    residual.zero_head = false;                     // a head of zeros would hide every other layer
    UNetConfig convnext = unet_convnext_config();
    convnext.c0 = 16;
    convnext.c1 = 16;
    convnext.c2 = 32;
    convnext.zero_head = false;
    struct Net {
        const char* label;
        ImageArch arch;
        UNetConfig config;
    };
    const std::vector<Net> nets = {{"image CNN", ImageArch::CNN, {}},
                                   {"U-Net (residual, 32-64-64)", ImageArch::UNet, residual},
                                   {"U-Net (ConvNeXt, 16-16-32)", ImageArch::UNet, convnext}};
    for (const Net& net : nets) {
        Rng rng(11, 0);
        const ImageModel model(net.arch, rng, net.config);
        const std::string file = tmp / "img.safetensors";
        write_file_atomic(file, serialize_safetensors(export_weights(image_model_checkpoint(model, s), true, "img.ckpt")));
        check_twin(net.label, py, tmp, file, image_eps_function(model), s, 2, 28 * 28, 3);
    }
    {  // lesson 11's class-conditional U-Net: a label table of random rows (it starts at zero), rows
       // asked for a class and for none; the twin takes the same labels
        UNetConfig cond = residual;
        cond.c0 = cond.c1 = cond.c2 = 16;
        cond.classes = 10;
        Rng rng(12, 0);
        ImageModel model(ImageArch::UNet, rng, cond);
        Rng(12, 1).fill_normal(model.unet.label.data(), model.unet.label.numel());
        const std::vector<int> labels = {7, -1};
        const std::string file = tmp / "cond.safetensors";
        write_file_atomic(file, serialize_safetensors(export_weights(image_model_checkpoint(model, s), true, "cond.ckpt")));
        check_twin("U-Net (residual, 16-16-16, 10 classes)", py, tmp, file, guided_eps_function(model, labels, 0.0f), s, 2,
                   28 * 28, 3, labels);
    }
    // lesson 09's trained U-Net, where it is shipped: exported by the tool itself
    const std::string shipped = "data/models/mnist_unet.ckpt";
    if (!std::filesystem::exists(shipped)) {
        MESSAGE("no " << shipped << " (make unet-checkpoint writes it): the trained U-Net was not compared");
        return;
    }
    REQUIRE(run_ddpm(tmp, {"export", "--model", shipped, "--out", tmp / "unet.safetensors"}) == 0);
    Schedule trained_schedule;
    const ImageModel trained = image_model_from_checkpoint(load_checkpoint(shipped), shipped, trained_schedule);
    check_twin("the trained U-Net of " + shipped, py, tmp, tmp / "unet.safetensors", image_eps_function(trained),
               trained_schedule, 2, 28 * 28, 3);
}
