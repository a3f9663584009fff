#include "app/cli.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app/commands.h"
#include "app/export.h"
#include "app/ode_sample.h"
#include "app/platform.h"
#include "core/common.h"
#include "store/settings.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Help texts
// ---------------------------------------------------------------------------------------------
const char* main_help() {
    return "usage: ddpm <command> [options]\n"
           "\n"
           "Trains a denoising diffusion model (Ho et al. 2020) on the rows of a CSV file, draws new rows\n"
           "from it, and scores generated rows against held-out data.\n"
           "\n"
           "commands:\n"
           "  train   --data FILE.csv --model OUT.ckpt    learn the distribution of the rows of FILE.csv\n"
           "  sample  --model IN.ckpt --out FILE.csv      write new rows, in the units of the training data\n"
           "  eval    --samples A.csv --data B.csv        distances of A from B, beside their noise floor\n"
           "  export  --model IN.ckpt --out OUT.safetensors   the weights for PyTorch (safetensors)\n"
           "  import  --model IN.safetensors --out OUT.ckpt   an export back into a checkpoint\n"
           "\n"
           "Images (an IDX3 file or a folder of PNG files of 28 x 28): train --arch cnn|unet; sample writes\n"
           "F.png or F.idx; eval prints a Frechet distance beside its floor (docs/images.md).\n"
           "\n"
           "'ddpm <command> --help' lists a command's options. Results go to stdout, progress and timings\n"
           "to stderr; every error is one line 'ddpm: <problem>' and exit status 1 (docs/reliability.md).\n";
}

const char* train_help() {
    return "usage: ddpm train --data FILE.csv --model OUT.ckpt [options]\n"
           "\n"
           "Trains an eps-prediction MLP on the rows of FILE.csv (any number of numeric columns, optional\n"
           "header line). Every column is standardised to mean 0 and std 1 first; the mean and std are stored\n"
           "in the checkpoint, so that `ddpm sample` writes rows in the units of FILE.csv.\n"
           "\n"
           "  --data FILE.csv        training data (required)\n"
           "  --model OUT.ckpt       checkpoint to write (required); written atomically; a regular file or a new\n"
           "                         one, never --data; a second run writing it at the same time is refused\n"
           "  --steps N              total optimiser steps (default 20000; with --resume: the checkpoint's)\n"
           "  --batch B              rows per step, drawn with replacement (default 256)\n"
           "  --lr LR                Adam learning rate, > 0 (default 1e-3)\n"
           "  --lr-decay D           none (default): LR at every step; cosine: LR (1 + cos(pi k / N)) / 2 at\n"
           "                         step k of N = --steps (Loshchilov and Hutter 2017), kept on --resume\n"
           "  --objective O          eps (default): predict the noise (Ho et al. 2020); flow: predict the\n"
           "                         velocity eps - x_0 of the straight path (1 - s) x_0 + s eps (lesson 13;\n"
           "                         CSV rows and images; --T sets its grid of s = t / T, --schedule does not apply)\n"
           "  --T T                  diffusion steps (default 1000)\n"
           "  --schedule KIND        linear | cosine | constant | sigmoid (default linear)\n"
           "  --beta B               the beta of --schedule constant, in (0, 1) (default 0.01)\n"
           "  --ema D                decay of the weight average used for sampling, in [0, 1) (default 0.999)\n"
           "  --hidden H             width of the hidden layers (default 64)\n"
           "  --layers L             hidden layers, or residual blocks with --residual (default 3)\n"
           "  --residual             residual blocks instead of a plain MLP\n"
           "  --seed S               seed of the weights, batches, timesteps and noise (default 0)\n"
           "  --threads N            1 to 256; never changes results (default DDPM_THREADS, else one thread\n"
           "                         per 400,000 multiply-adds of a step's forward pass, up to every core;\n"
           "                         images: every core)\n"
           "  --resume               continue the checkpoint at --model up to --steps in all; gives the same\n"
           "                         bits as one uninterrupted run\n"
           "  --checkpoint-every K   also save every K steps (default 1000)\n"
           "\n"
           "SIGINT (Ctrl-C), SIGTERM or SIGHUP saves the last completed step to OUT.ckpt and exits with 130, 143 or 129;\n"
           "--resume continues it. A loss that is not finite stops training (exit 1) and leaves the last\n"
           "checkpoint written, which never holds a value that is not finite. A run that would need more than\n"
           "4 GB (from --hidden, --layers, --batch and the data) is refused before it starts.\n"
           "\n"
           "Images: --data FILE.idx (an IDX3 ubyte file, as MNIST's) or --data FOLDER (PNG files of one size;\n"
           "colour turned to grey) of 28 x 28 images trains [003]'s CNN or a U-Net instead of the MLP:\n"
           "  --arch A               cnn or unet (required for a new image model)\n"
           "  --block B              unet only: residual (default) or convnext blocks\n"
           "  --batch B, --lr LR     for images the defaults are 128 and 2e-4 ([003]); --batch at most 1024\n"
           "--hidden, --layers and --residual do not apply to images. Resume, checkpoints and signals are as\n"
           "above (docs/images.md).\n";
}

const char* sample_help() {
    return "usage: ddpm sample --model IN.ckpt --out FILE.csv [options]\n"
           "\n"
           "Draws rows from a model of `ddpm train`: x_T ~ N(0, I), then DDPM ancestral sampling (T steps),\n"
           "DDIM (K steps, eta) or a solver of the probability-flow ODE (K steps, no noise), then the\n"
           "training data's mean and std undo the standardisation. FILE.csv gets the training file's header\n"
           "line, if it had one, and is written atomically.\n"
           "\n"
           "  --model IN.ckpt        checkpoint of `ddpm train` (required)\n"
           "  --out FILE.csv         where to write the rows (required); a regular file or a new one\n"
           "  --n N                  number of rows (default 8000)\n"
           "  --sampler S            ddpm (default; Ho et al. Algorithm 2), ddim (Song et al. 2021), or a\n"
           "                         solver of the probability-flow ODE (docs/probability-flow.md): euler\n"
           "                         (ddim with eta 0, K network calls), heun (Karras et al. 2022, 2K - 1\n"
           "                         calls) or dpmpp2m (DPM-Solver++(2M), Lu et al. 2022, K calls)\n"
           "  --steps K              reverse steps: ddpm runs all T of them (K must equal T); the others run\n"
           "                         K steps on timesteps from T (the ODE solvers: from --sigma-max) down to 1\n"
           "                         (default: all of them)\n"
           "  --eta E                ddim only: 0 (default) deterministic, 1 the noise of ddpm\n"
           "  --spacing S            which K timesteps: uniform (ddim's default) or quadratic (dense near\n"
           "                         t = 0) for ddim, euler, heun and dpmpp2m; karras (EDM's rho = 7, taken to\n"
           "                         whole timesteps; the default of euler, heun and dpmpp2m) for those three\n"
           "                         only; ddpm takes none\n"
           "  --sigma-max S          euler, heun and dpmpp2m start at the largest t with sigma_t <= S, where\n"
           "                         sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), x_T standing for x_t\n"
           "                         (default 80, EDM's; the cosine schedule's sigma_T is about 20000, where a\n"
           "                         first step would divide the network's error by sqrt(alpha_bar_T))\n"
           "  --seed S               seed of x_T and of the noise of every step (default 0)\n"
           "  --threads N            1 to 256 (default DDPM_THREADS or every core); never changes results\n"
           "  --variance V           ddpm only: beta_tilde (default) or beta, sigma_t^2 of the reverse step\n"
           "  --ema | --raw          the averaged weights (default) or the last iterate\n"
           "  --class K              a class-conditional image model (lesson 11): every image asked for class\n"
           "                         K (0-9 on MNIST); without it such a model draws with no label\n"
           "  --guidance W           with --class: classifier-free guidance, eps = (1 + W) eps(x, K) - W eps(x)\n"
           "                         (Ho and Salimans 2022); 0 (default) is the conditional model alone\n"
           "\n"
           "An image model (ddpm train --arch, or the weights of a lesson's model) writes --out F.png (a grid of the images, at most 10000) or\n"
           "--out F.idx (an IDX3 ubyte file of n x 28 x 28 bytes); every sampler clips its predicted x_0\n"
           "to [-1, 1], as Ho et al. do for images (the ODE solvers: in every network call). Every sampler\n"
           "needs a noise-prediction model, as ddpm train writes; lesson 10's blur model is refused.\n"
           "\n"
           "A flow model (ddpm train --objective flow, rows or images) solves d x / d s = v(x, s) from s = 1 to 0 in K equal\n"
           "steps (default T): --sampler euler (the default for it, K calls) or heun (2K calls); ddpm, ddim\n"
           "and dpmpp2m, --eta, --spacing, --sigma-max and --variance are refused (its images are not clipped\n"
           "on the way, only at the end).\n";
}

const char* eval_help() {
    return "usage: ddpm eval --samples A.csv --data B.csv [--seed S] [--threads N]\n"
           "\n"
           "Scores generated rows A against data B (not used for training, ideally). Both are standardised\n"
           "with B's column means and stds. B is shuffled (seed S) and split into a floor part F of\n"
           "min(|A|, |B|/2) rows and a reference part R of the rest; A is cut to |F| rows (a random subset)\n"
           "when larger. Printed: the sliced Wasserstein-1 and energy distances d(A, R), and their floors\n"
           "d(F, R): what a true sample of the same size scores. swd / floor near 1 is as good as it gets;\n"
           "the energy floor is an unbiased estimate of 0, so read energy - floor instead.\n"
           "Each file may hold at most 1000000 rows. The energy distance, quadratic in the rows, uses at most\n"
           "20000 rows of each part: the first ones, in the seeded order of the split (printed when it does).\n"
           "\n"
           "  --samples A.csv        generated rows (required)\n"
           "  --data B.csv           data rows, at least 4 (required)\n"
           "  --seed S               seed of the split, the subset and the projections (default 0)\n"
           "  --threads N            1 to 256 (default DDPM_THREADS or every core); never changes results\n"
           "\n"
           "Images (an IDX3 file or a folder of PNG files for A and B, 28 x 28 grey): the Frechet distance on\n"
           "the features of the shipped MNIST classifier, beside its floor: m = min(|A|, |B|/2); B is shuffled\n"
           "(seed S) into a reference part R and a floor part F of m images each, A cut to m; printed are\n"
           "d(A, R) and d(F, R), what m real images score.\n"
           "  --classifier FILE      the classifier (default data/models/mnist_classifier.ckpt)\n"
           "  --paired               image i of A is a reconstruction of image i of B (same count): also the\n"
           "                         mean RMSE, PSNR and SSIM of the pairs\n";
}

// ---------------------------------------------------------------------------------------------
// Reading flags
// ---------------------------------------------------------------------------------------------
namespace {

// Walks the arguments of one subcommand. Accepts "--flag value" and "--flag=value".
class FlagCursor {
 public:
    FlagCursor(const std::string& command, const std::vector<std::string>& args) : command_(command), args_(args) {}

    // The next flag, or false at the end. A word that is not a flag is an error.
    bool next(std::string& flag) {
        if (i_ >= args_.size()) return false;
        const std::string& word = args_[i_++];
        if (word.compare(0, 2, "--") != 0)
            fail(command_ + ": unexpected argument '" + word + "' (flags start with --; try 'ddpm " + command_ +
                 " --help')");
        const size_t eq = word.find('=');
        flag_ = word.substr(0, eq);
        inline_value_ = eq == std::string::npos ? nullptr : &word;
        inline_at_ = eq;
        flag = flag_;
        return true;
    }

    std::string value() {
        if (inline_value_) return inline_value_->substr(inline_at_ + 1);
        if (i_ >= args_.size() || args_[i_].compare(0, 2, "--") == 0) fail(command_ + " " + flag_ + ": missing value");
        return args_[i_++];
    }

    // For a switch such as --resume, which takes no value.
    void no_value() const {
        if (inline_value_) fail(command_ + " " + flag_ + ": takes no value");
    }

    [[noreturn]] void unknown() const {
        if (flag_ == "--help" || flag_ == "-h") fail(command_ + " " + flag_ + ": takes no value");  // --help=x
        fail(command_ + ": unknown flag '" + flag_ + "' (try 'ddpm " + command_ + " --help')");
    }

 private:
    std::string command_;
    const std::vector<std::string>& args_;
    size_t i_ = 0;
    std::string flag_;
    const std::string* inline_value_ = nullptr;
    size_t inline_at_ = 0;
};

bool asks_for_help(const std::vector<std::string>& args) {
    for (const std::string& a : args)
        if (a == "--help" || a == "-h") return true;
    return false;
}

// Every flag with a range is checked against the settings table (src/store/settings.h), the one
// that the checkpoint's reader uses too.
int64_t whole(const IntSetting& s, const std::string& text) { return parse_setting(s, text); }
double real(const RealSetting& s, const std::string& text) { return parse_setting(s, text); }

uint64_t seed_of(const std::string& text) { return uint64_t(whole(setting::seed, text)); }
int threads_of(const std::string& text) { return int(whole(setting::threads, text)); }

void require(const std::string& value, const std::string& command, const char* flag_and_meta) {
    if (value.empty()) fail(command + ": " + flag_and_meta + " is required (try 'ddpm " + command + " --help')");
}

}  // namespace

void require_file_name(const std::string& value, const std::string& flag) {
    // "-" is stdin or stdout to many tools; here it would be a file named "-" (issue 33.19)
    if (value == "-") fail(flag + " -: the tool reads and writes named files only, not stdin or stdout; give a file name");
}

namespace {

}  // namespace

bool parse_train_args(const std::vector<std::string>& args, TrainArgs& o) {
    if (asks_for_help(args)) {
        std::fputs(train_help(), stdout);
        return false;
    }
    FlagCursor cur("train", args);
    std::string flag;
    while (cur.next(flag)) {
        if (flag == "--resume" || flag == "--residual") cur.no_value();
        if (flag == "--data") o.data = cur.value();
        else if (flag == "--model") o.model = cur.value();
        else if (flag == "--steps") o.steps = whole(setting::steps, cur.value());
        else if (flag == "--batch") o.batch = int(whole(setting::batch, cur.value()));
        else if (flag == "--lr") o.lr = real(setting::lr, cur.value());
        else if (flag == "--T") o.T = int(whole(setting::T, cur.value()));
        else if (flag == "--objective") {
            o.objective = cur.value();
            if (o.objective != "eps" && o.objective != "flow")
                fail("--objective: expected eps or flow, got '" + shown(o.objective) + "'");
        } else if (flag == "--schedule") {
            o.schedule = cur.value();
            if (o.schedule != "linear" && o.schedule != "cosine" && o.schedule != "constant" && o.schedule != "sigmoid")
                fail("--schedule: unknown schedule '" + o.schedule + "' (linear, cosine, constant or sigmoid)");
        } else if (flag == "--lr-decay") {
            o.lr_decay = cur.value();
            if (o.lr_decay != "none" && o.lr_decay != "cosine")
                fail("--lr-decay: expected none or cosine, got '" + shown(o.lr_decay) + "'");
        } else if (flag == "--beta") o.beta = real(setting::beta, cur.value());
        // stored as a float: 0.99999999 would round to 1, an average that never moves (checked as a float)
        else if (flag == "--ema") o.ema = real(setting::ema, cur.value());
        else if (flag == "--hidden") o.hidden = int(whole(setting::hidden, cur.value()));
        else if (flag == "--layers") o.layers = int(whole(setting::layers, cur.value()));
        else if (flag == "--residual") o.residual = true;
        else if (flag == "--seed") o.seed = seed_of(cur.value());
        else if (flag == "--threads") o.threads = threads_of(cur.value());
        else if (flag == "--resume") o.resume = true;
        else if (flag == "--checkpoint-every") o.checkpoint_every = whole(setting::checkpoint_every, cur.value());
        else if (flag == "--arch") {
            o.arch = cur.value();
            if (o.arch != "cnn" && o.arch != "unet") fail("--arch: expected cnn or unet, got '" + shown(o.arch) + "'");
        } else if (flag == "--block") {
            o.block = cur.value();
            if (o.block != "residual" && o.block != "convnext")
                fail("--block: expected residual or convnext, got '" + shown(o.block) + "'");
        }
        else cur.unknown();
        o.given.insert(flag);
    }
    require(o.data, "train", "--data FILE.csv");
    require(o.model, "train", "--model OUT.ckpt");
    require_file_name(o.data, "--data");
    require_file_name(o.model, "--model");
    if (o.given.count("--beta") && o.schedule != "constant")
        fail("--beta applies to --schedule constant only (the schedule is " + o.schedule + ")");
    return true;
}

bool parse_sample_args(const std::vector<std::string>& args, SampleArgs& o) {
    if (asks_for_help(args)) {
        std::fputs(sample_help(), stdout);
        return false;
    }
    FlagCursor cur("sample", args);
    std::string flag;
    bool eta_given = false, spacing_given = false;
    while (cur.next(flag)) {
        if (flag == "--ema" || flag == "--raw") cur.no_value();
        if (flag == "--model") o.model = cur.value();
        else if (flag == "--out") o.out = cur.value();
        else if (flag == "--n") o.n = int(whole(setting::sample_rows, cur.value()));
        else if (flag == "--sampler") {
            o.sampler = cur.value();
            o.sampler_given = true;
            if (o.sampler != "ddpm" && o.sampler != "ddim" && !is_ode_sampler(o.sampler))
                fail("--sampler: unknown sampler '" + shown(o.sampler) + "' (expected ddpm, ddim, euler, heun or dpmpp2m)");
        } else if (flag == "--steps") o.steps = int(whole(setting::sample_steps, cur.value()));
        else if (flag == "--eta") {
            eta_given = true;
            o.eta = real(setting::eta, cur.value());
        } else if (flag == "--spacing") {
            spacing_given = true;
            o.spacing_given = true;
            o.spacing = cur.value();
            if (o.spacing != "uniform" && o.spacing != "quadratic" && o.spacing != "karras")
                fail("--spacing: expected uniform, quadratic or karras, got '" + shown(o.spacing) + "'");
        }
        else if (flag == "--sigma-max") {
            o.sigma_max = real(setting::sigma_max, cur.value());
            o.sigma_max_given = true;
        }
        else if (flag == "--seed") o.seed = seed_of(cur.value());
        else if (flag == "--threads") o.threads = threads_of(cur.value());
        else if (flag == "--variance") {
            o.variance = cur.value();
            o.variance_given = true;
            if (o.variance != "beta" && o.variance != "beta_tilde")
                fail("--variance: expected beta or beta_tilde, got '" + o.variance + "'");
        } else if (flag == "--ema") o.use_ema = true;
        else if (flag == "--raw") o.use_ema = false;
        else if (flag == "--class") o.label = int(whole(setting::sample_class, cur.value()));
        else if (flag == "--guidance") {
            o.guidance = real(setting::guidance, cur.value());
            o.guidance_given = true;
        }
        else cur.unknown();
    }
    require(o.model, "sample", "--model IN.ckpt");
    if (o.guidance_given && o.label < 0) fail("--guidance applies with --class K only (the class to guide towards)");
    require(o.out, "sample", "--out FILE.csv");
    require_file_name(o.model, "--model");
    require_file_name(o.out, "--out");
    // --eta scales DDIM's noise; DDPM's is fixed, and the ODE solvers have none (any --eta is refused,
    // 0 too, rather than ignored)
    if (eta_given && o.sampler == "ddpm")
        fail("--eta applies to --sampler ddim only (ddpm adds the full noise of every step)");
    if (eta_given && is_ode_sampler(o.sampler))
        fail("--eta applies to --sampler ddim only (" + o.sampler + " solves the probability-flow ODE, which adds "
             "no noise; ddim --eta 0 is its euler step)");
    if (spacing_given && o.sampler == "ddpm")
        fail("--spacing applies to the samplers that skip steps (ddim, euler, heun, dpmpp2m); ddpm runs all T steps");
    if (o.spacing == "karras" && o.sampler == "ddim")
        fail("--spacing karras applies to --sampler euler, heun or dpmpp2m; ddim takes uniform or quadratic");
    if (o.sigma_max_given && (o.sampler == "ddpm" || o.sampler == "ddim"))
        fail("--sigma-max applies to --sampler euler, heun or dpmpp2m; " + o.sampler + " starts at T");
    // the ODE solvers' spacing is EDM's unless given (with sigma_max = 80 it is EDM's sampler's grid)
    if (is_ode_sampler(o.sampler) && !spacing_given) o.spacing = "karras";
    return true;
}

bool parse_eval_args(const std::vector<std::string>& args, EvalArgs& o) {
    if (asks_for_help(args)) {
        std::fputs(eval_help(), stdout);
        return false;
    }
    FlagCursor cur("eval", args);
    std::string flag;
    while (cur.next(flag)) {
        if (flag == "--samples") o.samples = cur.value();
        else if (flag == "--data") o.data = cur.value();
        else if (flag == "--seed") o.seed = seed_of(cur.value());
        else if (flag == "--threads") o.threads = threads_of(cur.value());
        else if (flag == "--classifier") o.classifier = cur.value();
        else if (flag == "--paired") {
            cur.no_value();
            o.paired = true;
        }
        else cur.unknown();
        o.given.insert(flag);
    }
    require(o.samples, "eval", "--samples A.csv");
    require(o.data, "eval", "--data B.csv");
    require_file_name(o.samples, "--samples");
    require_file_name(o.data, "--data");
    return true;
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------
namespace {

int run_command(int argc, char** argv) {
    if (argc < 2) fail("no command given: train, sample, eval, export or import (try 'ddpm --help')");
    std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "help" && !args.empty()) {  // `ddpm help train` is `ddpm train --help`
        command = args[0];
        args = {"--help"};
    }
    if (command == "--help" || command == "-h" || command == "help") {
        std::fputs(main_help(), stdout);
        return 0;
    }
    if (command == "train") {
        TrainArgs o;
        return parse_train_args(args, o) ? run_train(o) : 0;
    }
    if (command == "sample") {
        SampleArgs o;
        return parse_sample_args(args, o) ? run_sample(o) : 0;
    }
    if (command == "eval") {
        EvalArgs o;
        return parse_eval_args(args, o) ? run_eval(o) : 0;
    }
    if (command == "export") {
        ExportArgs o;
        return parse_export_args(args, o) ? run_export(o) : 0;
    }
    if (command == "import") {
        ImportArgs o;
        return parse_import_args(args, o) ? run_import(o) : 0;
    }
    fail("unknown command '" + command + "' (train, sample, eval, export or import; try 'ddpm --help')");
}

}  // namespace

int ddpm_main(int argc, char** argv) {
    // A reader of stdout or stderr that went away (`ddpm eval ... | head -1`, a closed terminal's pipe)
    // makes a write fail with EPIPE instead of ending the program mid-run; the check below reports
    // what did not reach stdout.
    std::signal(SIGPIPE, SIG_IGN);
    keep_standard_streams_open();
    const int status = run_command(argc, argv);
    // Results that did not reach stdout (a full disk, /dev/full, a closed file) are an error, not a
    // silent success.
    errno = 0;
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        const int e = errno;
        std::clearerr(stdout);
        fail(std::string("stdout: the results could not be written") + (e ? std::string(": ") + std::strerror(e) : ""));
    }
    return status;
}

}  // namespace ddpm
