// image_checkpoint.cpp: the image trainer, the image models, the cold-diffusion models and the MNIST
// classifier to checkpoints and back (store/image_checkpoint.h).
#include "store/image_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"
#include "store/settings.h"
#include "store/trainer_checkpoint.h"

namespace ddpm {

// ---- checkpoints ------------------------------------------------------------------------------------
namespace {

void add_arch_entries(Checkpoint& c, const ImageModel& m) {
    c.set_meta("model.kind", "image");
    c.set_meta("model.arch", arch_name(m.arch));
    if (m.arch == ImageArch::UNet) {
        const UNetConfig& u = m.unet.config;
        c.set_meta("unet.block", unet_block_name(u.block));
        c.set_meta("unet.channels", std::to_string(u.c0) + "," + std::to_string(u.c1) + "," + std::to_string(u.c2));
        c.set_meta("unet.zero_head", u.zero_head ? "1" : "0");
        if (u.classes > 0) c.set_meta("unet.classes", std::to_string(u.classes));
    }
}

std::string entry(const Checkpoint& c, const char* key, const std::string& source) {
    if (!c.has_meta(key)) fail(source + ": no entry '" + key + "'");
    return c.get_meta(key);
}

// The architecture entries, checked before anything is allocated.
void read_arch_entries(const Checkpoint& c, const std::string& source, ImageArch& arch, UNetConfig& u) {
    if (entry(c, "model.kind", source) != "image") fail(source + ": not an image model (entry 'model.kind')");
    const std::string a = entry(c, "model.arch", source);
    if (a == "cnn") {
        arch = ImageArch::CNN;
        return;
    }
    if (a != "unet") fail(source + ": entry 'model.arch' is neither cnn nor unet");
    arch = ImageArch::UNet;
    const std::string block = entry(c, "unet.block", source);
    if (block == "residual") u.block = UNetBlockKind::Residual;
    else if (block == "convnext") u.block = UNetBlockKind::ConvNeXt;
    else fail(source + ": entry 'unet.block' is neither residual nor convnext");
    const std::string ch = entry(c, "unet.channels", source);
    int c0 = 0, c1 = 0, c2 = 0, used = 0;
    if (std::sscanf(ch.c_str(), "%d,%d,%d%n", &c0, &c1, &c2, &used) != 3 || size_t(used) != ch.size() || c0 < 8 ||
        c1 < 8 || c2 < 8 || c0 > 512 || c1 > 512 || c2 > 512 || c0 % 8 || c1 % 8 || c2 % 8)
        fail(source + ": entry 'unet.channels' is not three multiples of 8 from 8 to 512");
    u.c0 = c0;
    u.c1 = c1;
    u.c2 = c2;
    const std::string z = entry(c, "unet.zero_head", source);
    if (z != "0" && z != "1") fail(source + ": entry 'unet.zero_head' is not 0 or 1");
    u.zero_head = z == "1";
    u.classes = c.has_meta("unet.classes")
                    ? int(checkpoint_setting(c, IntSetting{nullptr, "unet.classes", 1, 1000, 0}, source))
                    : 0;
    // The network these entries name, against the weights the file holds, before it is built: a small
    // file relabelled as a wide network is refused here, not after hundreds of MB of weights
    int64_t held = 0;
    for (const auto& [name, t] : c.tensors)
        if (name.rfind("ema.", 0) != 0 && name.rfind("adam.", 0) != 0) held += t.numel();
    const int64_t needed = unet_values(u);
    if (held < needed)
        fail(source + ": the network it describes (unet, " + block + " blocks, channels " + ch + ") has " +
             std::to_string(needed) + " weights; the file holds " + std::to_string(held) + " (a file of another model?)");
}

// The blur process of a cold-diffusion file: its three numbers, checked, then rebuilt.
void add_blur_entries(Checkpoint& c, const BlurProcess& p) {
    c.set_meta("blur.T", std::to_string(p.T));
    c.set_meta("blur.beta", fmt_exact(p.beta));
    c.set_meta("blur.taps", std::to_string(p.taps));
}

BlurProcess blur_from_entries(const Checkpoint& c, const std::string& source) {
    const int T = int(checkpoint_setting(c, IntSetting{nullptr, "blur.T", 1, 10000, 0}, source));
    const int taps = int(checkpoint_setting(c, IntSetting{nullptr, "blur.taps", 1, 27, 0}, source));
    if (taps % 2 == 0) fail(source + ": entry 'blur.taps' is not odd");
    const std::string text = entry(c, "blur.beta", source);
    char* end = nullptr;
    const double beta = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(beta > 0.0) || !(beta <= 100.0))
        fail(source + ": entry 'blur.beta' is not a number in (0, 100]");
    return blur_process(T, beta, taps);
}

int64_t count_entry(const Checkpoint& c, const char* key, const std::string& source) {
    return checkpoint_setting(c, IntSetting{nullptr, key, 0, INT64_MAX, 0}, source);
}

}  // namespace

Checkpoint image_trainer_checkpoint(const ImageTrainer& tr) {
    Checkpoint c;
    add_arch_entries(c, tr.model);
    if (tr.config.blur_T > 0) add_blur_entries(c, tr.blur);
    else add_schedule_entries(c, tr.schedule);
    add_trainer_entries(c, tr.config.batch, tr.config.lr, tr.config.ema_decay, tr.config.clip, tr.config.seed, tr);
    // written for other models than eps only (as the CSV tool's model file does): a file without it is an eps model
    if (tr.config.objective != ImageObjective::Eps) c.set_meta("model.objective", image_objective_name(tr.config.objective));
    if (tr.model.classes() > 0) {
        c.set_meta("train.label_drop", fmt_exact(tr.config.label_drop));
        c.set_meta("rng.label_drop", std::to_string(tr.drop_rng.counter));
    }
    return c;
}

ImageTrainer image_trainer_from_checkpoint(const Checkpoint& c, const std::string& source) {
    ImageArch arch = ImageArch::CNN;
    ImageTrainConfig tc;
    read_arch_entries(c, source, arch, tc.unet);
    Schedule s;
    if (c.has_meta("blur.T")) {
        const BlurProcess p = blur_from_entries(c, source);
        tc.blur_T = p.T;
        tc.blur_beta = p.beta;
        tc.blur_taps = p.taps;
    } else {
        s = schedule_from_entries(c, source);
    }
    tc.batch = int(checkpoint_setting(c, setting::batch, source));
    tc.lr = float(checkpoint_setting(c, setting::lr, source));
    tc.ema_decay = float(checkpoint_setting(c, setting::ema, source));
    tc.seed = uint64_t(checkpoint_setting(c, setting::seed, source));
    {
        const std::string text = entry(c, "train.clip", source);
        char* end = nullptr;
        tc.clip = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(tc.clip))
            fail(source + ": entry 'train.clip' is not a finite number");
    }
    if (tc.unet.classes > 0) {
        const std::string text = entry(c, "train.label_drop", source);
        char* end = nullptr;
        const double p = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(p >= 0.0 && p <= 1.0))
            fail(source + ": entry 'train.label_drop' is not a number in [0, 1]");
        tc.label_drop = float(p);
    }
    if (c.has_meta("model.objective")) {
        const std::string o = c.get_meta("model.objective");
        if (o == "flow") tc.objective = ImageObjective::Flow;
        else if (o == "x0") tc.objective = ImageObjective::X0;  // lesson 11's targets, from src/torch/train.py
        else if (o == "v") tc.objective = ImageObjective::V;
        else if (o != "eps") fail(source + ": entry 'model.objective' is '" + shown(o) + "', not eps, flow, x0 or v");
        if (tc.objective == ImageObjective::Flow && (tc.blur_T > 0 || tc.unet.classes > 0))
            fail(source + ": entry 'model.objective' is flow, but the file describes a blur process or classes");
        if (tc.objective != ImageObjective::Eps && tc.objective != ImageObjective::Flow && tc.blur_T > 0)
            fail(source + ": entry 'model.objective' is " + o + ", but the file describes a blur process");
    }
    ImageTrainer tr(arch, tc, s);
    if (tc.unet.classes > 0) tr.drop_rng.counter = uint64_t(count_entry(c, "rng.label_drop", source));
    read_trainer_state(c, source, tr);
    return tr;
}

namespace {

// A model file's network: its architecture entries and its weights. The caller adds (or reads) the
// process, the schedule or the blur, whose entries come after the architecture's.
Checkpoint weights_file(const ImageModel& model) {
    Checkpoint c;
    add_arch_entries(c, model);
    add_params(c, model.params());
    return c;
}

// The architecture entries are checked before the network is built.
ImageModel weights_from_file(const Checkpoint& c, const std::string& source) {
    ImageArch arch = ImageArch::CNN;
    UNetConfig u;
    read_arch_entries(c, source, arch, u);
    Rng init(0, kImageInit);
    ImageModel model(arch, init, u);
    Params p = model.params();
    read_params(c, p, source);
    if (c.tensors.size() != p.size())  // e.g. a conditional file whose unet.classes entry is gone
        fail(source + ": " + std::to_string(c.tensors.size()) + " tensors, where the network has " +
             std::to_string(p.size()));
    return model;
}

}  // namespace

Checkpoint image_model_checkpoint(const ImageModel& model, const Schedule& s) {
    Checkpoint c = weights_file(model);
    add_schedule_entries(c, s);
    return c;
}

ImageModel image_model_from_checkpoint(const Checkpoint& c, const std::string& source, Schedule& schedule) {
    ImageModel model = weights_from_file(c, source);
    schedule = schedule_from_entries(c, source);
    return model;
}

Checkpoint cold_model_checkpoint(const ImageModel& model, const BlurProcess& p) {
    Checkpoint c = weights_file(model);
    add_blur_entries(c, p);
    return c;
}

ImageModel cold_model_from_checkpoint(const Checkpoint& c, const std::string& source, BlurProcess& p) {
    ImageModel model = weights_from_file(c, source);
    p = blur_from_entries(c, source);
    return model;
}

// ---- the classifier ---------------------------------------------------------------------------------
Checkpoint classifier_checkpoint(const MnistClassifier& model, const ClassifierConfig& c, double test_accuracy) {
    Checkpoint ckpt;
    ckpt.meta = {{"kind", "mnist_classifier"},
                 {"architecture", "conv5x5 1-16 relu avgpool, conv5x5 16-32 relu avgpool, linear 1568-128 relu, "
                                  "linear 128-10"},
                 {"train.epochs", std::to_string(c.epochs)},
                 {"train.batch", std::to_string(c.batch)},
                 {"train.lr", fmt(c.lr, 6)},
                 {"train.seed", std::to_string(c.seed)},
                 {"test_accuracy", fmt(test_accuracy, 4)}};
    add_params(ckpt, model.params());
    return ckpt;
}

MnistClassifier classifier_from_checkpoint(const Checkpoint& ckpt, const std::string& source) {
    bool kind = false;
    for (const auto& [key, value] : ckpt.meta)
        if (key == "kind") kind = value == "mnist_classifier";
    if (!kind) fail(source + ": not an MNIST classifier (its 'kind' entry is not mnist_classifier)");
    Rng init(0, kClassifierInit);
    MnistClassifier model(init);
    Params p = model.params();
    read_params(ckpt, p, source);
    return model;
}

}  // namespace ddpm
