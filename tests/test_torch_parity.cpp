// Our autograd against PyTorch's: the canonical toy eps-model (34-128-128-128-2, GELU), one batch of
// 256, the same initial weights. The loss L_simple (Ho et al. 2020, eq. 14) and the gradient of every
// weight and bias must agree within 1e-5 relative. PyTorch runs in tests/bench/toy2d_torch.py
// (`parity IN OUT`); where no python3 can import torch the case says "skipped: no torch".
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "lessonkit/ddpm.h"
#include "torch_parity.h"
#include "diffusion/train.h"

using namespace ddpm;
using namespace torch_parity;

namespace {

const char* kScript = "tests/bench/toy2d_torch.py";

}  // namespace

TEST_CASE("torch parity: L_simple and every gradient of the toy eps-model agree with PyTorch's") {
    if (!std::filesystem::exists(kScript) && std::filesystem::exists("STUDENT_TREE")) {
        MESSAGE("skipped: the student tree has no PyTorch twins (they hold the answers)");
        return;
    }
    if (!std::filesystem::exists(kScript)) FAIL("run the tests from the project's root: no " << kScript);
    const std::string py = python_with_torch();
    if (py.empty()) {
        MESSAGE("skipped: no torch (Debian: apt-get install python3-torch libopenblas0-pthread)");
        return;
    }

    // The model, the batch and the loss, as Trainer::train_step forms them.
    EpsModelConfig mc;
    Rng init(3, kInitStream);
    EpsModel model(mc, init);
    Params params = model.params();
    const Schedule s = linear_schedule(1000);
    const int B = 256;
    const Dataset data = make_dataset("eight_gaussians", B, 5);
    Tensor x0 = Tensor::from(Shape{B, 2}, data.x);
    Tensor eps = Tensor::zeros(Shape{B, 2});
    Rng noise(5, kNoiseStream);
    noise.fill_normal(eps.data(), eps.numel());
    std::vector<int> t(B);
    Rng steps(5, kTimestepStream);
    steps.fill_randint(t.data(), B, 1, s.T);
    zero_grad(params);
    Tensor loss = simple_loss(model, x0, t, eps, s);
    backward(loss);

    const std::string dir = std::filesystem::temp_directory_path().string();
    const std::string in_path = dir + "/ddpm_parity_in_" + std::to_string(getpid()) + ".txt";
    const std::string out_path = dir + "/ddpm_parity_out_" + std::to_string(getpid()) + ".txt";
    {
        std::ofstream out(in_path);
        for (const Param& p : params) {
            const Tensor& w = p.tensor;  // weights (in, out), biases as one row
            write_block(out, p.name, w.ndim() == 2 ? w.dim(0) : 1, w.ndim() == 2 ? w.dim(1) : w.dim(0), w.data());
        }
        write_block(out, "x0", B, 2, x0.data());
        write_block(out, "eps", B, 2, eps.data());
        std::vector<float> t_float(t.begin(), t.end());
        write_block(out, "t", B, 1, t_float.data());
    }
    const std::string cmd = py + " " + kScript + " parity " + in_path + " " + out_path;
    const int status = std::system(cmd.c_str());
    std::remove(in_path.c_str());
    REQUIRE_MESSAGE(status == 0, cmd << " failed");
    const std::map<std::string, Block> torch = read_blocks(out_path);
    std::remove(out_path.c_str());

    REQUIRE(torch.count("loss") == 1);
    const double ours = loss.item(), theirs = torch.at("loss").values[0];
    MESSAGE("loss: ours " << ours << ", torch " << theirs << ", relative difference "
                          << std::fabs(ours - theirs) / std::fabs(theirs));
    CHECK(std::fabs(ours - theirs) <= 1e-5 * std::fabs(theirs));
    for (Param& p : params) {
        INFO(p.name);
        REQUIRE(torch.count(p.name) == 1);
        const Block& g = torch.at(p.name);
        REQUIRE(int64_t(g.values.size()) == p.tensor.numel());
        // relative to the tensor's largest gradient: the max abs difference over the max abs value
        double diff = 0.0, scale = 0.0;
        for (int64_t i = 0; i < p.tensor.numel(); ++i) {
            diff = std::fmax(diff, std::fabs(double(p.tensor.grad()[i]) - g.values[size_t(i)]));
            scale = std::fmax(scale, std::fabs(g.values[size_t(i)]));
        }
        MESSAGE("grad " << p.name << ": max |ours - torch| / max |torch| = " << diff / scale);
        CHECK(scale > 0.0);
        CHECK(diff <= 1e-5 * scale);
    }
}
