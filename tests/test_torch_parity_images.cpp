// The image networks of nets/cnn.h and nets/unet.h against the same networks in PyTorch
// (tests/bench/images_torch.py `parity WORKLOAD IN OUT`): the [003] CNN and the small U-Net, one batch,
// the same weights, x_t, t and eps. The loss and the gradient of every parameter must agree within
// 1e-4 relative (to the largest value of each tensor). Where no python3 can import torch the cases
// say "skipped: no torch".
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "nets/cnn.h"
#include "nets/unet.h"
#include "lessonkit/ddpm.h"
#include "torch_parity.h"

using namespace ddpm;
using torch_parity::Block;
using torch_parity::python_with_torch;
using torch_parity::read_blocks;

namespace {

const char* kScript = "tests/bench/images_torch.py";

// a tensor of any shape as (dim 0, the rest)
void write_block(std::ofstream& out, const std::string& name, const Tensor& t) {
    torch_parity::write_block(out, name, t.dim(0), int(t.numel() / t.dim(0)), t.data());
}

template <typename Model>
void check_parity(const std::string& workload) {
    if (!std::filesystem::exists(kScript) && std::filesystem::exists("STUDENT_TREE")) {
        MESSAGE("skipped: the student tree has no PyTorch twins (they hold the answers)");
        return;
    }
    if (!std::filesystem::exists(kScript)) FAIL("run the tests from the project's root: no " << kScript);
    const std::string py = python_with_torch();
    if (py.empty()) {
        MESSAGE("skipped: no torch (Debian: apt-get install python3-torch)");
        return;
    }
    Rng init(3, 10);
    const Model model(init);
    Params params = model.params();
    const int B = 6;
    const Schedule s = linear_schedule(1000);
    Tensor x0 = Tensor::zeros(Shape{B, 1, 28, 28}), eps = Tensor::zeros(Shape{B, 1, 28, 28});
    Tensor x_t = Tensor::zeros(Shape{B, 1, 28, 28});
    Rng(5, 1).fill_normal(x0.data(), x0.numel(), 0.0f, 0.5f);
    Rng(5, 2).fill_normal(eps.data(), eps.numel());
    std::vector<int> t(B);
    Rng(5, 3).fill_randint(t.data(), B, 1, s.T);
    q_sample_rows(x_t.data(), x0.data(), eps.data(), t.data(), B, 28 * 28, s);
    const std::vector<float> t_float(t.begin(), t.end());
    zero_grad(params);
    Tensor loss = mse(model.forward(x_t, t_float), eps);
    backward(loss);

    const std::string dir = std::filesystem::temp_directory_path().string();
    const std::string tag = workload + "_" + std::to_string(getpid());
    const std::string in_path = dir + "/ddpm_parity_in_" + tag + ".txt", out_path = dir + "/ddpm_parity_out_" + tag + ".txt";
    {
        std::ofstream out(in_path);
        for (const Param& p : params) write_block(out, p.name, p.tensor);
        write_block(out, "x_t", x_t);
        write_block(out, "eps", eps);
        write_block(out, "t", Tensor::from(Shape{B}, t_float));
    }
    const std::string cmd = py + " " + kScript + " parity " + workload + " " + in_path + " " + out_path;
    const int status = std::system(cmd.c_str());
    std::remove(in_path.c_str());
    REQUIRE_MESSAGE(status == 0, cmd << " failed");
    const std::map<std::string, Block> torch = read_blocks(out_path);
    std::remove(out_path.c_str());

    REQUIRE(torch.count("loss") == 1);
    const double ours = loss.item(), theirs = torch.at("loss").values[0];
    MESSAGE(workload << " loss: ours " << ours << ", torch " << theirs << ", relative difference "
                     << std::fabs(ours - theirs) / std::fabs(theirs));
    CHECK(std::fabs(ours - theirs) <= 1e-4 * std::fabs(theirs));
    double worst = 0.0;
    std::string worst_name;
    for (Param& p : params) {
        INFO(p.name);
        REQUIRE(torch.count(p.name) == 1);
        const Block& g = torch.at(p.name);
        REQUIRE(int64_t(g.values.size()) == p.tensor.numel());
        double diff = 0.0, scale = 0.0;
        for (int64_t i = 0; i < p.tensor.numel(); ++i) {
            diff = std::fmax(diff, std::fabs(double(p.tensor.grad()[i]) - g.values[size_t(i)]));
            scale = std::fmax(scale, std::fabs(g.values[size_t(i)]));
        }
        CHECK(scale > 0.0);
        CHECK(diff <= 1e-4 * scale);
        if (diff / scale > worst) worst = diff / scale, worst_name = p.name;
    }
    MESSAGE(workload << ": " << params.size() << " gradients, worst max |ours - torch| / max |torch| = " << worst
                     << " (" << worst_name << ")");
}

}  // namespace

TEST_CASE("torch parity images: the [003] CNN's loss and every gradient agree with PyTorch's") {
    check_parity<ImageCNN>("cnn");
}

TEST_CASE("torch parity images: the small U-Net's loss and every gradient agree with PyTorch's") {
    check_parity<SmallUNet>("unet");
}
