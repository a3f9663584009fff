// ddpm train, sample and eval on images (image_cmd.h; docs/images.md).
#include "app/image_cmd.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <unordered_set>
#include <system_error>

#include "app/commands.h"
#include "app/flow_sample.h"
#include "app/ode_sample.h"
#include "app/runtime.h"
#include "app/training_run.h"
#include "diffusion/guidance.h"
#include "store/checkpoint.h"
#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"
#include "core/rng.h"
#include "diffusion/classifier.h"
#include "diffusion/ddim.h"
#include "store/image_checkpoint.h"
#include "store/image_files.h"
#include "diffusion/image_metrics.h"
#include "diffusion/image_train.h"
#include "diffusion/objectives.h"
#include "diffusion/sampler.h"
#include "store/settings.h"

namespace ddpm {

namespace {

const int kSide = 28;                        // what the networks take: 1 x 28 x 28
const int kMaxImageBatch = 1024;             // --batch for images
const int kMaxGridImages = 10000;            // --n of a PNG grid
const int64_t kMaxFolderImages = 1000000;    // PNG files read from one folder
const int kDefaultImageBatch = 128;          // [003]
const double kDefaultImageLr = 2e-4;         // [003]
const char kNetworkSize[] = "the networks of the tool (--arch cnn, unet) and its classifier take 28 x 28";

std::string lower_extension(const std::string& path) {
    std::string e = std::filesystem::path(path).extension().string();
    for (char& ch : e) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return e;
}

// The images of --data or --samples: a folder of PNG files, or the bytes of an IDX3 file.
ImageSet read_images(const std::string& path, const std::string* bytes, FileId* id) {
    if (is_folder(path)) {
        if (id) *id = FileId{};
        return images_from_png_folder(
            path, [](const std::string& file, int64_t max_bytes) { return read_input(file, max_bytes, nullptr); }, kMaxFolderImages,
            kSide, kSide, kNetworkSize);
    }
    FileId own;
    const std::string read = bytes ? std::string() : read_input(path, kMaxInputBytes, &own);
    if (id && !bytes) *id = own;
    const std::string& b = bytes ? *bytes : read;
    // about one value per byte, each a float once read: refused before the floats are made
    if (double(b.size()) * 4.0 > double(kMemoryLimit))
        fail(path + ": " + std::to_string(b.size()) + " bytes of images need about " + bytes_text(double(b.size()) * 4.0) +
             " as floats; the tool's limit is " + bytes_text(double(kMemoryLimit)));
    if (b.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0)  // issue 33.11
        fail(path + ": a single PNG file; --data takes a folder of PNG files (a folder holding this one will do) or "
                    "an IDX3 file");
    if (!looks_like_idx(b))
        fail(path + ": not image data: an IDX3 ubyte file starts with the bytes 0x00 0x00 0x08 0x03 (a folder of "
                    "PNG files is the other kind)");
    return images_from_idx_bytes(b, path);
}

// The networks take one channel of 28 x 28: anything else is refused with its size.
void check_network_size(const ImageSet& s, const std::string& path) {
    if (s.h != kSide || s.w != kSide || s.c != 1)
        fail(path + ": images of " + std::to_string(s.w) + " x " + std::to_string(s.h) + " pixels; " + kNetworkSize);
}

void check_image_memory(const ImageSet& s, const std::string& path) {
    const double bytes = double(s.n) * double(s.image_size()) * 4.0;
    if (bytes > double(kMemoryLimit))
        fail(path + ": " + std::to_string(s.n) + " images need about " + bytes_text(bytes) +
             " as floats; the tool's limit is " + bytes_text(double(kMemoryLimit)));
}

// Every value of every tensor finite, as the CSV tool's reader demands: a file with one NaN is
// refused, never trained on or sampled from.
void check_finite(const Checkpoint& c, const std::string& path) {
    for (const auto& [name, t] : c.tensors)
        for (int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(t.data()[i])) fail(path + ": tensor '" + shown(name) + "' holds a value that is not finite");
}

// The core's messages that do not name the file get its name in front.
template <typename F>
auto naming(const std::string& path, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const NotImplemented&) {
        throw;
    } catch (const std::exception& e) {
        const std::string what = e.what();
        if (what.compare(0, path.size() + 1, path + ":") == 0) throw;
        fail(path + ": " + what);
    }
}

std::string arch_text(const ImageModel& m) {
    if (m.arch == ImageArch::CNN) return "cnn";
    const UNetConfig& u = m.unet.config;
    return std::string("unet (") + unet_block_name(u.block) + " blocks, channels " + std::to_string(u.c0) + "," +
           std::to_string(u.c1) + "," + std::to_string(u.c2) + ")";
}

int64_t weight_count(const Params& p) {
    int64_t n = 0;
    for (const Param& q : p) n += q.tensor.numel();
    return n;
}

// What one training step keeps for each image of its batch, measured on the network itself: one
// forward pass of one image with the graph recorded, and every value that the graph's nodes hold
// (the activations that backward reads), the weights and the input aside.
double graph_values_per_image(const ImageModel& m) {
    const Tensor x = Tensor::zeros(Shape{1, 1, kSide, kSide});
    const Tensor out = m.classes() > 0 ? m.forward(x, {1.0f}, {0}) : m.forward(x, {1.0f});
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> todo = {out.node.get()};
    double values = 0.0;
    while (!todo.empty()) {
        const Node* n = todo.back();
        todo.pop_back();
        if (!n || !seen.insert(n).second || n->parents.empty()) continue;  // a leaf: a weight or the input
        values += double(n->data.size());
        for (const auto& p : n->parents) todo.push_back(p.get());
    }
    return values;
}

// A training run's memory, estimated before the first step: the network (weights, gradients, Adam's
// moments, the average and the checkpoint's copies: 13 floats a weight, as the CSV path counts), the
// images as floats, and one step: for every value its graph keeps, the value and its gradient, and a
// tenth more. Measured on an AMD EPYC (Zen 4), 2 threads, MNIST's 60,000 images: the peak grows by
// 1.97 floats a kept value per image of the batch for both U-Nets (8.6 and 10.3 MB an image), on top
// of 0.21-0.23 GB (docs/reliability.md). Above kMemoryLimit the run is refused, naming --batch.
void check_image_train_memory(const ImageTrainer& tr, int64_t images, const std::string& who) {
    const double kStepCopies = 2.2;
    const double network = 4.0 * double(weight_count(tr.params)) * 13.0;
    const double data = 4.0 * double(images) * kSide * kSide;
    const double step = 4.0 * double(tr.config.batch) * graph_values_per_image(tr.model) * kStepCopies;
    if (network + data + step <= double(kMemoryLimit)) return;
    fail((who.empty() ? "" : who + ": ") + "--batch " + std::to_string(tr.config.batch) + " with " + arch_text(tr.model) +
         " needs about " + bytes_text(network + data + step) + " (the activations and gradients of one step, the "
         "images, the network); the tool's limit is " + bytes_text(double(kMemoryLimit)) + "; use a smaller --batch");
}

// The image model file: the trainer's whole state and the steps asked for.
struct ImageModelFile {
    ImageTrainer trainer;
    int64_t steps_total = 0;
};

Checkpoint image_model_file_checkpoint(const ImageModelFile& mf) {
    Checkpoint c = image_trainer_checkpoint(mf.trainer);
    c.set_meta("tool.steps_total", std::to_string(mf.steps_total));
    return c;
}

ImageModelFile parse_image_model_file(const std::string& bytes, const std::string& path) {
    return naming(path, [&]() {
        const Checkpoint c = parse_checkpoint(bytes, path);
        if (!c.has_meta("model.kind") || c.get_meta("model.kind") != "image")
            fail(path + ": a model of CSV rows, not an image model (train one with --arch cnn or --arch unet)");
        if (!c.has_meta("tool.steps_total"))
            fail(path + ": no entry 'tool.steps_total': not a checkpoint of the ddpm tool (a model of the lessons, "
                        "weights only?)");
        check_finite(c, path);
        const int64_t steps_total = checkpoint_setting(c, setting::steps, path);
        return ImageModelFile{image_trainer_from_checkpoint(c, path), steps_total};
    });
}

// What sample needs: the network, its schedule, and how to name the weights.
struct SampleModel {
    ImageModel model;
    Schedule schedule;
    std::string weights;  // "step 2000, EMA weights", or "weights only" for a model of the lessons
    bool flow = false;    // a model of ddpm train --objective flow (entry model.objective = flow)
    Target target = Target::Eps;  // x0 or v: a model of src/torch/train.py, converted to eps at every call
};

// A model of the tool (the whole trainer) or the weights of a lesson's model (image_model_checkpoint,
// as data/models/ ships: no step, no optimiser; --raw does not apply).
SampleModel parse_sample_model(const std::string& bytes, const std::string& path, bool use_ema, bool raw_given) {
    return naming(path, [&]() {
        const Checkpoint c = parse_checkpoint(bytes, path);
        if (c.has_meta("blur.T"))  // issue 33.11: said for what it is, not as a missing entry
            fail(path + ": a cold-diffusion model (lesson 10's blur); ddpm sample draws from noise-diffusion "
                        "models, and lesson 10 samples this one");
        // data/models/'s files carry their training's step and recipe (train.step, train.recipe) but no
        // optimiser; a lesson's training state (ema.updates, Adam's moments) is not a model to sample
        if (!c.has_meta("tool.steps_total")) {
            if (c.has_meta("ema.updates"))
                fail(path + ": a training state of the lessons (weights, EMA and optimiser); sample from the model "
                     "file (.ckpt) that its training wrote");
            if (raw_given) fail(path + ": one set of weights (a model of the lessons); --raw applies to models of ddpm train");
            check_finite(c, path);
            SampleModel m;
            m.model = image_model_from_checkpoint(c, path, m.schedule);
            m.weights = "its one set of weights";
            return m;
        }
        ImageModelFile mf = parse_image_model_file(bytes, path);
        SampleModel m{use_ema ? mf.trainer.ema_model() : mf.trainer.model, mf.trainer.schedule,
                      "step " + std::to_string(mf.trainer.step) + ", " + (use_ema ? "EMA" : "raw") + " weights",
                      mf.trainer.config.objective == ImageObjective::Flow};
        if (!m.flow && !parse_target(image_objective_name(mf.trainer.config.objective), m.target))
            fail(path + ": entry 'model.objective' is not one the samplers take");
        if (m.target != Target::Eps) m.weights += std::string(", predicts ") + target_name(m.target);
        return m;
    });
}

UNetConfig unet_of(const std::string& block) {
    return block == "convnext" ? unet_convnext_config() : unet_residual_config();
}

void check_resume_flags(const TrainArgs& a, const ImageTrainer& tr) {
    const ImageTrainConfig& c = tr.config;
    const std::string arch = arch_name(tr.model.arch);
    must_agree(a, "--arch", a.arch, arch, a.arch, arch);
    if (a.given.count("--block")) {
        if (tr.model.arch != ImageArch::UNet) fail("--resume: --block, but " + a.model + " is a cnn");
        const std::string block = unet_block_name(tr.model.unet.config.block);
        must_agree(a, "--block", a.block, block, a.block, block);
    }
    must_agree(a, "--batch", a.batch, c.batch, std::to_string(a.batch), std::to_string(c.batch));
    must_agree(a, "--lr", float(a.lr), c.lr, fmt_sci(a.lr), fmt_sci(c.lr));
    must_agree(a, "--ema", float(a.ema), c.ema_decay, fmt(a.ema, 6), fmt(c.ema_decay, 6));
    must_agree(a, "--seed", a.seed, c.seed, std::to_string(a.seed), std::to_string(c.seed));
    must_agree(a, "--T", a.T, tr.schedule.T, std::to_string(a.T), std::to_string(tr.schedule.T));
    if (a.given.count("--schedule")) {
        const double beta = a.given.count("--beta") ? a.beta : tr.schedule.beta[1];
        const Schedule s = make_schedule(a.schedule, tr.schedule.T, beta);
        if (s.beta != tr.schedule.beta)
            fail("--resume: --schedule asks for " + s.name + ", " + a.model + " has " + tr.schedule.name +
                 " (drop the flag, or train a new model)");
    }
}

std::vector<float> take_images(const ImageSet& s, const std::vector<int>& order, int begin, int end) {
    std::vector<float> out;
    out.reserve(size_t(end - begin) * size_t(s.image_size()));
    for (int i = begin; i < end; ++i) out.insert(out.end(), s.image(order[size_t(i)]), s.image(order[size_t(i)]) + s.image_size());
    return out;
}

}  // namespace

bool is_folder(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

bool is_image_model(const std::string& bytes, const std::string& path) {
    try {
        const Checkpoint c = parse_checkpoint(bytes, path);
        return c.has_meta("model.kind") && c.get_meta("model.kind") == "image";
    } catch (const std::exception&) {
        return false;
    }
}

bool is_image_output(const std::string& path) {
    const std::string e = lower_extension(path);
    return e == ".png" || e == ".idx";
}

// ---- train --------------------------------------------------------------------------------------------
int run_train_images(const TrainArgs& a, StopSignals& stop, const std::string* data_bytes, const FileId& given_id) {
    for (const char* flag : {"--hidden", "--layers", "--residual", "--lr-decay"})
        if (a.given.count(flag))
            fail(std::string(flag) + " applies to CSV rows (the MLP); an image model is --arch cnn or --arch unet");
    if (a.given.count("--block") && a.arch == "cnn") fail("--block applies to --arch unet only");
    if (!a.resume && a.arch.empty()) {
        // a folder of CSV files is a common slip: say what it holds (issue 33.11)
        int csv_files = 0, png_files = 0;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(a.data, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string ext = lower_extension(it->path().filename().string());
            csv_files += ext == ".csv";
            png_files += ext == ".png";
        }
        if (csv_files > 0 && png_files == 0)
            fail(a.data + ": a folder of CSV files; --data takes one CSV file (or a folder of PNG images, with --arch)");
        fail(a.data + ": a folder of images; image training needs --arch cnn or --arch unet");
    }
    if (a.given.count("--batch") && a.batch > kMaxImageBatch)
        fail("--batch " + std::to_string(a.batch) + ": at most " + std::to_string(kMaxImageBatch) +
             " images per step (the activations of a step grow with it)");
    TrainArgs args = a;  // the image defaults of [003] where the flags are not given
    if (!a.given.count("--batch")) args.batch = kDefaultImageBatch;
    if (!a.given.count("--lr")) args.lr = kDefaultImageLr;
    if (a.objective == "flow" && (a.given.count("--schedule") || a.given.count("--beta")))
        fail("--objective flow: a flow model has no noise schedule (--schedule, --beta); --T sets its grid s = t / T");
    if (!a.resume) checked_schedule(args);

    FileId data_id = given_id;
    const ImageSet data = read_images(a.data, data_bytes, data_bytes ? nullptr : &data_id);
    if (data_id.known) check_not_input("--model", a.model, "--data", a.data, data_id);
    if (is_folder(a.data)) {
        std::error_code ec;
        if (std::filesystem::equivalent(std::filesystem::absolute(a.model).parent_path(), a.data, ec))
            fail(a.model + ": --model is inside the image folder --data " + a.data +
                 "; a folder of images holds PNG files only");
    }
    check_network_size(data, a.data);
    check_image_memory(data, a.data);

    std::vector<std::string> notes;
    const bool replaces = !a.resume && file_id(a.model).known;
    auto resumed = [&]() {
        FileId id;
        ImageModelFile m = parse_image_model_file(read_input(a.model, kMaxInputBytes, &id), a.model);
        const std::string objective = image_objective_name(m.trainer.config.objective);
        if (objective == "x0" || objective == "v")
            fail("--resume: " + a.model + " predicts " + objective + " (lesson 11's target, a model of src/torch/train.py); "
                 "ddpm train continues eps and flow models, train.py --init continues this one");
        check_resume_flags(a, m.trainer);
        must_agree(a, "--objective", a.objective, objective, a.objective, objective);
        if (a.given.count("--steps")) m.steps_total = a.steps;
        if (m.trainer.step > m.steps_total)
            fail("--resume: " + a.model + " is at step " + std::to_string(m.trainer.step) + ", beyond --steps " +
                 std::to_string(m.steps_total));
        return m;
    };
    auto fresh = [&]() {
        ImageTrainConfig tc;
        tc.batch = args.batch;
        tc.lr = float(args.lr);
        tc.ema_decay = float(args.ema);
        tc.seed = args.seed;
        tc.unet = unet_of(args.block);
        tc.objective = a.objective == "flow" ? ImageObjective::Flow : ImageObjective::Eps;
        return ImageModelFile{ImageTrainer(a.arch == "unet" ? ImageArch::UNet : ImageArch::CNN, tc, checked_schedule(args)),
                              args.steps};
    };
    ImageModelFile mf = a.resume ? resumed() : fresh();
    check_image_train_memory(mf.trainer, data.n, a.resume ? a.model : "");
    check_writable(a.model);
    if (replaces)
        notes.insert(notes.begin(),
                     "ddpm: note: " + a.model + " exists and will be replaced (--resume continues it instead)");
    for (const std::string& note : notes) std::fprintf(stderr, "%s\n", terminal_text(note, 1024).c_str());

    ImageTrainer& tr = mf.trainer;
    std::vector<int> rows(static_cast<size_t>(data.n));
    std::iota(rows.begin(), rows.end(), 0);
    const int64_t first = tr.step, total = mf.steps_total;
    const std::string kind = is_folder(a.data) ? "PNG files" : "IDX3";
    const bool flow = tr.config.objective == ImageObjective::Flow;
    const std::string objective_text = flow ? "flow objective, T = " + std::to_string(tr.schedule.T) : tr.schedule.name;
    std::fprintf(stderr, "ddpm train: %s, %d images of %d x %d (%s); %s, %lld weights, %s; steps %lld to %lld, %d thread%s\n",
                 terminal_text(a.data, 1024).c_str(), data.n, data.w, data.h, kind.c_str(), arch_text(tr.model).c_str(),
                 (long long)weight_count(tr.params), objective_text.c_str(), (long long)first, (long long)total,
                 num_threads(), num_threads() == 1 ? "" : "s");

    TrainingLoop loop;
    loop.step_count = [&] { return tr.step; };
    loop.step = [&](std::string& diverged) {
        const float loss = tr.train_step(data, rows);
        if (!std::isfinite(loss)) diverged = "loss " + fmt_sci(loss);
        return double(loss);
    };
    loop.checkpoint = [&] { return image_model_file_checkpoint(mf); };
    loop.total = total;
    loop.checkpoint_every = a.checkpoint_every;
    loop.rate_decimals = 1;
    const TrainingEnd end = run_training_loop(loop, stop, a.model, a.resume);
    if (end.signal) return 128 + end.signal;

    std::printf("model     %s, %lld weights\n", arch_text(tr.model).c_str(), (long long)weight_count(tr.params));
    if (flow)
        std::printf("objective flow (velocity eps - x_0 on the straight path), s = t / T, T = %d\n", tr.schedule.T);
    else
        std::printf("schedule  %s, T = %d\n", tr.schedule.name.c_str(), tr.schedule.T);
    std::printf("training  %lld steps (this run: %lld to %lld), batch %d, lr %s, ema %s, seed %llu\n",
                (long long)total, (long long)first, (long long)total, tr.config.batch, fmt_sci(tr.config.lr).c_str(),
                fmt(tr.config.ema_decay, 4).c_str(), (unsigned long long)tr.config.seed);
    if (total > first)
        std::printf("loss      last %s, smoothed %s\n", fmt(end.last_loss, 4).c_str(), fmt(end.smoothed_loss, 4).c_str());
    std::printf("data      %s: %d images of %d x %d (%s), pixels scaled to [-1, 1]\n", terminal_text(a.data, 1024).c_str(), data.n, data.w,
                data.h, kind.c_str());
    std::printf("wrote     %s\n", terminal_text(a.model, 1024).c_str());
    return 0;
}

// ---- sample -------------------------------------------------------------------------------------------
namespace {

int grid_columns(int n) {  // the grid is as square as it can be: the least cols with cols^2 >= n
    int cols = 1;
    while (int64_t(cols) * cols < n) ++cols;
    return cols;
}

// A flow model (ddpm train --objective flow): Euler (the default) or Heun on d x / d s = v(x, s) from
// s = 1 to s = 0 in K equal steps of s (diffusion/flow.h, lesson 13), as app/flow_sample.cpp runs a
// CSV flow model; every sampler or flag that does not apply is a one-line error naming the model file.
int sample_flow_images(const SampleArgs& a, const SampleModel& sm, bool png) {
    const int T = sm.schedule.T;
    int steps = 0;
    const std::string sampler = flow_sampler_and_steps(a, T, &steps);  // app/flow_sample.h
    if (a.label >= 0) fail("--class: " + a.model + " is a flow model, not class-conditional");
    if (png && a.n > kMaxGridImages)
        fail("--n " + std::to_string(a.n) + ": a PNG grid holds at most " + std::to_string(kMaxGridImages) +
             " images (write an .idx file for more)");
    const int D = kSide * kSide;
    {
        // x, the velocity, Heun's trial point and its velocity; the bytes written
        const double bytes = double(a.n) * D * (4.0 * 4 + 1);
        if (bytes > double(kMemoryLimit))
            fail("--n " + std::to_string(a.n) + " images need about " + bytes_text(bytes) +
                 " (the images of every step and the file; write fewer per run, with another --seed each); the "
                 "tool's limit is " + bytes_text(double(kMemoryLimit)));
    }
    check_writable(a.out);
    note_replaced(a.out);

    const FlowSolver solver = sampler == "heun" ? FlowSolver::Heun : FlowSolver::Euler;
    const int total = steps * (solver == FlowSolver::Heun ? 2 : 1);
    std::fprintf(stderr, "ddpm sample: %d images from %s (%s, flow model, %s), %s, %d steps, %d thread%s\n", a.n,
                 terminal_text(a.model, 1024).c_str(), arch_text(sm.model).c_str(), sm.weights.c_str(), sampler.c_str(),
                 steps, num_threads(), num_threads() == 1 ? "" : "s");
    // x at s = 1: N(0, I), the stream of every sampler of the tool
    std::vector<float> x(static_cast<size_t>(a.n) * D);
    Rng(a.seed, kStartStream).fill_normal(x.data(), int64_t(x.size()));
    ProgressClock progress;
    const int calls = image_flow_sample(x.data(), a.n, sm.model, T, steps, solver, [&](int done_calls) {
        if (done_calls < total && progress.due()) {
            const double rate = done_calls / progress.seconds();
            std::fprintf(stderr, "  network call %d of %d  %.1f calls/s  ETA %s\n", done_calls, total, rate,
                         format_duration((total - done_calls) / rate).c_str());
        }
    });
    double mean = 0.0;
    for (float& v : x) {
        v = std::min(1.0f, std::max(-1.0f, v));
        mean += v;
    }
    mean /= double(x.size());
    const int cols = grid_columns(a.n);
    write_file_atomic(a.out, png ? png_grid_bytes(x.data(), a.n, kSide, kSide, cols) : idx_bytes_of_images(x.data(), a.n, kSide, kSide));
    std::fprintf(stderr, "ddpm sample: %s\n", format_duration(progress.seconds()).c_str());
    std::printf("wrote %d images of 28 x 28 to %s (%s): flow model %s (%s), %s, %s sampler (flow ODE from s = 1 to 0, "
                "%d network call%s), %d steps, seed %llu\n",
                a.n, terminal_text(a.out, 1024).c_str(),
                (png ? "a PNG grid of " + std::to_string(cols) + " columns" : std::string("IDX3 ubyte")).c_str(),
                terminal_text(a.model, 1024).c_str(), arch_text(sm.model).c_str(), sm.weights.c_str(), sampler.c_str(), calls,
                calls == 1 ? "" : "s", steps, (unsigned long long)a.seed);
    std::printf("pixels: mean %s in [-1, 1] (MNIST's training images: about -0.74)\n", fmt(mean, 4).c_str());
    return 0;
}

}  // namespace

int run_sample_images(const SampleArgs& a, const std::string& model_bytes, const FileId& model_id) {
    (void)model_id;
    if (!is_image_output(a.out))
        fail("--out " + a.out + ": " + a.model + " is an image model; it writes a PNG grid (.png) or an IDX3 file (.idx)");
    const bool png = lower_extension(a.out) == ".png";
    const SampleModel sm = parse_sample_model(model_bytes, a.model, a.use_ema, !a.use_ema);
    if (sm.flow) return sample_flow_images(a, sm, png);
    const Schedule& s = sm.schedule;
    const bool ddim = a.sampler == "ddim", ode = is_ode_sampler(a.sampler);
    const int steps = a.steps == 0 ? s.T : a.steps;
    if (!ddim && !ode && steps != s.T)
        fail("--steps " + std::to_string(a.steps) + ": the ddpm sampler runs all T = " + std::to_string(s.T) +
             " steps of " + a.model + "; strided sampling needs --sampler ddim, euler, heun or dpmpp2m");
    if ((ddim || ode) && steps > s.T)
        fail("--steps " + std::to_string(steps) + ": more than the T = " + std::to_string(s.T) + " of " + a.model);
    // the ODE solvers start at the largest t with sigma_t <= --sigma-max (diffusion/ode.h): on the
    // cosine schedule (sigma_T about 2 * 10^4) a start at T draws noise even with x_0 clipped
    const int start = ode ? ode_start_timestep(s, a.sigma_max) : s.T;
    if (ode && steps > start)
        fail("--steps " + std::to_string(steps) + ": more than the " + std::to_string(start) + " timesteps of " + a.model +
             " below --sigma-max " + fmt_g(a.sigma_max) + " (t = " + std::to_string(start) + ")");
    // no check of the first step's gain here (sample_cmd.cpp has it for CSV rows): every sampler clips
    // the predicted x_0 of an image to the pixel range, which bounds what the step can make of an error
    if (png && a.n > kMaxGridImages)
        fail("--n " + std::to_string(a.n) + ": a PNG grid holds at most " + std::to_string(kMaxGridImages) +
             " images (write an .idx file for more)");
    const int D = kSide * kSide;
    {
        // x, eps, the step's buffer (the ODE solvers: two more, and a double); the bytes written
        const double bytes = double(a.n) * D * (ode ? 4.0 * 4 + 8 + 1 : 4.0 * 3 + 1);
        if (bytes > double(kMemoryLimit))
            fail("--n " + std::to_string(a.n) + " images need about " + bytes_text(bytes) +
                 " (the images of every step and the file; write fewer per run, with another --seed each); the "
                 "tool's limit is " + bytes_text(double(kMemoryLimit)));
    }
    check_writable(a.out);
    note_replaced(a.out);

    const ImageModel& model = sm.model;
    if (a.label >= 0 && model.classes() == 0)
        fail("--class: " + a.model + " is not class-conditional (train one with src/shipped/train_unet.cpp "
             "--conditional, as data/models/mnist_unet_cond.ckpt was)");
    if (a.label >= model.classes() && model.classes() > 0)
        fail("--class " + std::to_string(a.label) + ": " + a.model + " knows classes 0-" +
             std::to_string(model.classes() - 1));
    // every image asked for --class (or, without it, no label: a conditional model's unconditional half)
    // an x0 or v model (lesson 11) predicts its target; guidance mixes the two predictions with weights
    // that sum to 1, and eps is affine in the prediction at a given x_t, so converting after guidance is exact
    const EpsFunction eps_fn = eps_from_target_function(
        model.classes() > 0
            ? guided_eps_function(model, std::vector<int>(static_cast<size_t>(a.n), a.label), float(a.guidance))
            : image_eps_function(model),
        sm.target, s, D);
    SampleOptions options;
    options.variance = a.variance == "beta" ? Variance::Beta : Variance::BetaTilde;
    options.seed = a.seed;
    options.clip_x0 = 1.0f;  // Ho et al.: the predicted x_0 of an image is clipped to [-1, 1]
    const std::string sampler = ode ? a.sampler + " (" + a.spacing + " spacing)" : a.sampler;
    std::fprintf(stderr, "ddpm sample: %d images from %s (%s, %s), %s, %d steps, %d thread%s\n", a.n, terminal_text(a.model, 1024).c_str(),
                 arch_text(model).c_str(), sm.weights.c_str(), sampler.c_str(), steps, num_threads(),
                 num_threads() == 1 ? "" : "s");
    std::vector<float> x(static_cast<size_t>(a.n) * D);
    Rng(a.seed, kStartStream).fill_normal(x.data(), int64_t(x.size()));
    ProgressClock progress;
    int done = 0;
    auto report = [&](int t, const float*) {
        if (t == s.T) return;
        ++done;
        if (t > 0 && progress.due()) {
            const double rate = done / progress.seconds();
            std::fprintf(stderr, "  t = %d  %.1f steps/s  ETA %s\n", t, rate, format_duration((steps - done) / rate).c_str());
        }
    };
    int calls = 0;  // the ODE solvers' network calls
    if (ode) {
        const OdeSolver solver = ode_solver_of(a.sampler);
        const int total = ode_calls_of(solver, steps);
        // the predicted x_0 clipped to the pixel range at every call, as ddim's is below
        calls = run_ode_sampler(x.data(), a.n, D, s, clipped_eps_function(eps_fn, s, D, 1.0f), solver,
                                ode_timesteps(cut_schedule(s, start), steps, ode_spacing_of(a.spacing)),
                                [&](int done_calls) {
                                    if (done_calls < total && progress.due()) {
                                        const double rate = done_calls / progress.seconds();
                                        std::fprintf(stderr, "  network call %d of %d  %.1f calls/s  ETA %s\n", done_calls,
                                                     total, rate, format_duration((total - done_calls) / rate).c_str());
                                    }
                                });
    } else if (ddim) {
        const Spacing spacing = a.spacing == "quadratic" ? Spacing::Quadratic : Spacing::Uniform;
        // x_0 clipped to the pixel range at each step, as DDPM's is (ddim.h says why images need it)
        ddim_sample_clipped(x.data(), a.n, D, s, eps_fn, ddim_timesteps(s.T, steps, spacing), float(a.eta), a.seed, 1.0f,
                            report);
    } else {
        ddpm_sample(x.data(), a.n, D, s, eps_fn, options, report);
    }
    double mean = 0.0;
    for (float& v : x) {
        v = std::min(1.0f, std::max(-1.0f, v));
        mean += v;
    }
    mean /= double(x.size());
    int cols = 1;  // the grid is as square as it can be: the least cols with cols^2 >= n
    while (int64_t(cols) * cols < a.n) ++cols;
    write_file_atomic(a.out, png ? png_grid_bytes(x.data(), a.n, kSide, kSide, cols) : idx_bytes_of_images(x.data(), a.n, kSide, kSide));
    std::fprintf(stderr, "ddpm sample: %s\n", format_duration(progress.seconds()).c_str());

    const std::string how = ode ? ode_sampler_text(ode_solver_of(a.sampler), ode_spacing_of(a.spacing), calls, s, start) +
                                      ", x_0 clipped to [-1, 1]"
                            : ddim ? "ddim sampler (eta " + fmt(a.eta, 2) + ", " + a.spacing + ")"
                                   : std::string("ddpm sampler (variance ") + variance_name(options.variance) +
                                         ", x_0 clipped to [-1, 1])";
    std::printf("wrote %d images of 28 x 28 to %s (%s): model %s (%s), %s, %s, %d steps, seed %llu\n",
                a.n, terminal_text(a.out, 1024).c_str(), (png ? "a PNG grid of " + std::to_string(cols) + " columns" : std::string("IDX3 ubyte")).c_str(),
                terminal_text(a.model, 1024).c_str(), arch_text(model).c_str(), sm.weights.c_str(), how.c_str(), steps,
                (unsigned long long)a.seed);
    if (model.classes() > 0)
        std::printf("%s\n", a.label >= 0 ? ("class " + std::to_string(a.label) + ", guidance w = " + fmt_g(a.guidance) +
                                            " (Ho and Salimans 2022, eq. 6)").c_str()
                                         : "no class asked: the conditional model's no-label row (--class K asks for one)");
    std::printf("pixels: mean %s in [-1, 1] (MNIST's training images: about -0.74)\n", fmt(mean, 4).c_str());
    return 0;
}

// ---- eval ---------------------------------------------------------------------------------------------
int run_eval_images(const EvalArgs& a, const std::string& samples_bytes, const std::string& data_bytes) {
    Stopwatch clock;
    auto load = [&](const std::string& path, const std::string& given, const std::string& other) {
        // a file not read yet (the other side was a folder) is read here
        const std::string bytes = is_folder(path) || !given.empty() ? given : read_input(path, kMaxInputBytes, nullptr);
        if (!is_folder(path) && !looks_like_idx(bytes))
            fail(path + ": not image data (an IDX3 ubyte file or a folder of PNG files), but " + other +
                 " is; eval compares images with images or CSV rows with CSV rows");
        return read_images(path, is_folder(path) ? nullptr : &bytes, nullptr);
    };
    const ImageSet samples = load(a.samples, samples_bytes, a.data);
    const ImageSet data = load(a.data, data_bytes, a.samples);
    check_network_size(samples, a.samples);
    check_network_size(data, a.data);
    if (a.paired && samples.n != data.n)
        fail("--paired: " + a.samples + " has " + std::to_string(samples.n) + " images, " + a.data + " has " +
             std::to_string(data.n) + "; pairs need as many of each");
    const int m = std::min(samples.n, data.n / 2);
    if (m < 2)
        fail(a.data + ": " + std::to_string(data.n) + " images and " + std::to_string(samples.n) +
             " samples; the Frechet distance needs at least 2 samples and 4 data images");
    if (!std::filesystem::exists(a.classifier))
        fail(a.classifier + ": not found; the Frechet distance uses the shipped MNIST classifier (run from the "
                            "repository's folder, or give --classifier FILE)");
    FileId id;
    const std::string cbytes = read_input(a.classifier, kMaxInputBytes, &id);
    const MnistClassifier judge = naming(a.classifier, [&]() {
        const Checkpoint c = parse_checkpoint(cbytes, a.classifier);
        check_finite(c, a.classifier);
        return classifier_from_checkpoint(c, a.classifier);
    });

    // data = reference part R (the first m of a shuffle) + floor part F (the next m); samples cut to m
    const std::vector<int> split = shuffled(data.n, a.seed, kSplitStream);
    const std::vector<float> reference = take_images(data, split, 0, m), floor_part = take_images(data, split, m, 2 * m);
    const std::vector<float> candidate = take_images(samples, shuffled(samples.n, a.seed, kSubsetStream), 0, m);
    const std::vector<float> fr = classifier_features(judge, reference.data(), m);
    const std::vector<float> ff = classifier_features(judge, floor_part.data(), m);
    const std::vector<float> fa = classifier_features(judge, candidate.data(), m);
    const double d = frechet_distance(fa.data(), m, fr.data(), m, kClassifierFeatures);
    const double floor = frechet_distance(ff.data(), m, fr.data(), m, kClassifierFeatures);

    std::printf("eval: %s (%d images) against %s (%d images), 28 x 28 grey, pixels in [-1, 1]\n", terminal_text(a.samples, 1024).c_str(),
                samples.n, terminal_text(a.data, 1024).c_str(), data.n);
    std::printf("sizes: %d samples; the data split (seed %llu) into a reference part of %d images and a floor part of "
                "%d\n\n",
                m, (unsigned long long)a.seed, m, m);
    Table table({"distance", "value", "floor", "ratio", "excess"});
    table.add_row({"frechet", fmt(d, 3), fmt(floor, 3), floor > 0 ? fmt(d / floor, 3) : "-", fmt(d - floor, 3)});  // no nan
    table.print("value = d(samples, reference), floor = d(floor part, reference): what " + std::to_string(m) +
                " real images score");
    std::printf("frechet: d^2 between Gaussians fitted to the %d penultimate features of the classifier\n"
                "%s (the \"FID\" of Heusel et al. 2017, with a small MNIST classifier\n"
                "in place of Inception). It falls as the count grows: compare it with its floor, and runs with one\n"
                "another at the same count only.\n",
                kClassifierFeatures, terminal_text(a.classifier, 1024).c_str());
    if (a.paired) {
        double e = 0.0, p = 0.0, q = 0.0;
        bool infinite = false;
        const int D = kSide * kSide;
        for (int i = 0; i < data.n; ++i) {
            e += rmse(samples.image(i), data.image(i), D) / data.n;
            const double pi = psnr(samples.image(i), data.image(i), D, 2.0);
            if (std::isinf(pi)) infinite = true;
            else p += pi / data.n;
            q += ssim(samples.image(i), data.image(i), kSide, kSide, 2.0) / data.n;
        }
        std::printf("\n");
        Table pairs({"pairs", "rmse", "psnr_db", "ssim"});
        pairs.add_row({std::to_string(data.n), fmt(e, 4), infinite ? "inf" : fmt(p, 2), fmt(q, 4)});
        pairs.print("image i of " + a.samples + " against image i of " + a.data +
                    ", all pairs in file order: mean RMSE, PSNR (data range 2) and SSIM (Wang et al. 2004)");
    } else {
        std::printf("rmse, psnr, ssim: not computed; they compare an image with its own original (a reconstruction),\n"
                    "and generated samples have none. --paired computes them when image i of --samples is a\n"
                    "reconstruction of image i of --data.\n");
    }
    std::fprintf(stderr, "ddpm eval: %s\n", format_duration(clock.seconds()).c_str());
    return 0;
}

}  // namespace ddpm
