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

// ---------------------------------------------------------------------------------------------
// The flow objective on images (ImageTrainConfig::objective = Flow; lesson 13)
// ---------------------------------------------------------------------------------------------
namespace {

ImageTrainConfig tiny_flow_config() {
    ImageTrainConfig c = tiny_config(UNetBlockKind::Residual);
    c.objective = ImageObjective::Flow;
    return c;
}

}  // namespace

TEST_CASE("image trainer, flow objective: a step's loss is (13.3) computed by hand from the trainer's streams") {
    const ImageSet data = tiny_images();
    const std::vector<int> rows = {0, 2, 4, 6, 8, 10};
    const int T = 50;
    ImageTrainer tr(ImageArch::UNet, tiny_flow_config(), cosine_schedule(T));
    // the same draws as the step makes: rows, then t in 0..T, then the noise
    Rng index = tr.index_rng, times = tr.t_rng, noise = tr.eps_rng;
    const int B = tr.config.batch, D = 64;
    std::vector<float> x0(size_t(B) * D), eps(size_t(B) * D), x_s(size_t(B) * D), v(size_t(B) * D);
    for (int b = 0; b < B; ++b) {
        const int row = rows[size_t(index.randint(0, int(rows.size()) - 1))];
        std::copy(data.image(row), data.image(row) + D, x0.begin() + b * D);
    }
    std::vector<int> t(static_cast<size_t>(B));
    times.fill_randint(t.data(), B, 0, T);
    noise.fill_normal(eps.data(), int64_t(eps.size()));
    for (int b = 0; b < B; ++b) {
        const double s = double(t[size_t(b)]) / T;
        for (int d = 0; d < D; ++d) {
            const size_t i = size_t(b) * D + size_t(d);
            x_s[i] = float((1.0 - s) * x0[i] + s * eps[i]);  // (13.1)
            v[i] = eps[i] - x0[i];                             // (13.2)
        }
    }
    double by_hand = 0.0;
    {
        NoGrad no_grad;
        const Tensor pred = tr.model.forward(Tensor::from(Shape{B, 1, 8, 8}, x_s), std::vector<float>(t.begin(), t.end()));
        for (size_t i = 0; i < v.size(); ++i) by_hand += (double(pred.data()[i]) - v[i]) * (double(pred.data()[i]) - v[i]);
        by_hand /= double(v.size());
    }
    const float loss = tr.train_step(data, rows);
    CHECK(loss == doctest::Approx(by_hand).epsilon(1e-5));
    CHECK(tr.t_rng.counter == times.counter);
    CHECK(tr.eps_rng.counter == noise.counter);

    // flow_path_rows is (13.1)-(13.2): at s = 0 the image itself, at s = 1 the noise, the same velocity
    std::vector<float> xs2(2 * 3), v2(2 * 3);
    const float a[6] = {1, 2, 3, 4, 5, 6}, e[6] = {-1, 0, 1, 0.5f, 0.5f, 0.5f};
    const int ts[2] = {0, T};
    flow_path_rows(xs2.data(), v2.data(), a, e, ts, 2, 3, T);
    CHECK(xs2 == std::vector<float>{1, 2, 3, 0.5f, 0.5f, 0.5f});
    CHECK(v2 == std::vector<float>{-2, -2, -2, -3.5f, -4.5f, -5.5f});
    const int bad[2] = {0, T + 1};
    CHECK_THROWS_WITH(flow_path_rows(xs2.data(), v2.data(), a, e, bad, 2, 3, T), doctest::Contains("outside 0..T = 50"));
}

TEST_CASE("image trainer, flow objective: the file records it, resumes with the same bits, same bits on 1 and 2 threads") {
    const ImageSet data = tiny_images();
    const std::vector<int> rows = {0, 1, 2, 3, 4, 5};
    ImageTrainer straight(ImageArch::UNet, tiny_flow_config(), cosine_schedule(50));
    for (int i = 0; i < 4; ++i) straight.train_step(data, rows);
    ImageTrainer first(ImageArch::UNet, tiny_flow_config(), cosine_schedule(50));
    for (int i = 0; i < 2; ++i) first.train_step(data, rows);
    const Checkpoint c = image_trainer_checkpoint(first);
    CHECK(c.get_meta("model.objective") == "flow");
    ImageTrainer resumed = image_trainer_from_checkpoint(parse_checkpoint(serialize_checkpoint(c), "state"), "state");
    CHECK(resumed.config.objective == ImageObjective::Flow);
    for (int i = 0; i < 2; ++i) resumed.train_step(data, rows);
    CHECK(same_bits(straight.params, resumed.params));
    // an eps trainer's file has no entry (as every file before it) and reads back as eps
    const ImageTrainer eps(ImageArch::UNet, tiny_config(UNetBlockKind::Residual), cosine_schedule(50));
    const Checkpoint ce = image_trainer_checkpoint(eps);
    CHECK_FALSE(ce.has_meta("model.objective"));
    CHECK(image_trainer_from_checkpoint(ce, "e").config.objective == ImageObjective::Eps);
    Checkpoint bad = c;
    bad.set_meta("model.objective", "score");
    CHECK_THROWS_WITH(image_trainer_from_checkpoint(bad, "b.ckpt"),
                      "b.ckpt: entry 'model.objective' is 'score', not eps, flow, x0 or v");
    // lesson 11's x0 and v (models of src/torch/train.py): read and written back, sampled, never trained here
    for (const char* target : {"x0", "v"}) {
        Checkpoint other = ce;
        other.set_meta("model.objective", target);
        ImageTrainer read = image_trainer_from_checkpoint(other, "o.ckpt");
        CHECK(std::string(image_objective_name(read.config.objective)) == target);
        CHECK(image_trainer_checkpoint(read).get_meta("model.objective") == target);
        CHECK_THROWS_WITH(read.train_step(data, rows), doctest::Contains("sampled here, not trained"));
    }
    ImageTrainConfig cold = tiny_flow_config();
    cold.blur_T = 10;
    CHECK_THROWS_WITH(ImageTrainer(ImageArch::UNet, cold, cosine_schedule(50)), doctest::Contains("flow objective"));

    Params results[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        ImageTrainer tr(ImageArch::UNet, tiny_flow_config(), cosine_schedule(50));
        for (int i = 0; i < 3; ++i) tr.train_step(data, rows);
        results[threads - 1] = tr.params;
    }
    set_num_threads(default_num_threads());
    CHECK(same_bits(results[0], results[1]));
    CHECK(same_bits(results[0], straight.params) == false);  // 3 steps are not 4
}

TEST_CASE("image flow sampler: Euler makes K calls, Heun 2 K, on the grid s = t / T; same bits on 1 and 2 threads") {
    ImageTrainConfig cfg = tiny_flow_config();
    cfg.unet.zero_head = false;  // a velocity that is not 0 before training
    Rng init(3, 1);
    const ImageModel model(ImageArch::UNet, init, cfg.unet);
    const int T = 50, n = 3;
    std::vector<float> start(size_t(n) * 784);
    Rng(9, 2).fill_normal(start.data(), int64_t(start.size()));
    std::vector<float> out[2][2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        for (FlowSolver solver : {FlowSolver::Euler, FlowSolver::Heun}) {
            CAPTURE(flow_solver_name(solver));
            std::vector<float> x = start;
            std::vector<int> seen;
            const int calls = image_flow_sample(x.data(), n, model, T, 5, solver, [&](int c) { seen.push_back(c); });
            const int per = solver == FlowSolver::Heun ? 2 : 1;
            CHECK(calls == 5 * per);
            CHECK(seen == std::vector<int>{per, 2 * per, 3 * per, 4 * per, 5 * per});
            out[threads - 1][int(solver)] = x;
        }
    }
    set_num_threads(default_num_threads());
    CHECK(out[0][0] == out[1][0]);
    CHECK(out[0][1] == out[1][1]);
    CHECK(out[0][0] != out[0][1]);
    // the sampler is flow_solve on image_velocity_function over flow_grid, and every call is at t = s T
    std::vector<float> x = start;
    std::vector<double> at;
    const VelocityFunction net = image_velocity_function(model, T);
    const VelocityFunction counted = [&](float* v, const float* y, int rows, double s) {
        at.push_back(s * T);
        net(v, y, rows, s);
    };
    CHECK(flow_solve(x.data(), n, 784, counted, flow_grid(5, T), FlowSolver::Heun) == 10);
    CHECK(x == out[0][1]);
    CHECK(at == std::vector<double>{50, 40, 40, 30, 30, 20, 20, 10, 10, 0});
    std::vector<float> v(784);
    CHECK_THROWS_WITH(net(v.data(), start.data(), 1, 0.015), doctest::Contains("not on the network's grid t / 50"));
}
