// runtime.h: what the subcommands of the ddpm tool share at run time: the thread count, an early
// check that an output can be written, and progress lines on stderr.
#pragma once

#include <cstdint>
#include <string>

#include "app/platform.h"
#include "core/common.h"

namespace ddpm {

// threads = 0: DDPM_THREADS or every core. Restarts the pool only when the count changes.
void use_threads(int threads);

// The thread count `ddpm train` uses for the MLP when neither --threads nor DDPM_THREADS is given:
// one per kTrainWorkPerThread multiply-adds of a step's forward pass (batch x the network's weights),
// from 1 to every core. A smaller step runs faster on one thread: waking a second costs more than
// it takes over (docs/defaults.md has the measurements behind it).
inline constexpr int64_t kTrainWorkPerThread = 400000;
int train_threads_for(int64_t batch, int dim, int emb, int hidden, int layers, bool residual);

// Fails now, with the one-line reason, when `path` cannot be written (a missing folder is created,
// as write_file_atomic would). Probes with a temporary name of this process's own, which it removes:
// long work is not started for nothing, and no file of anyone else's (a user's <path>.tmp) is touched.
void check_writable(const std::string& path);
// Says on stderr that `path` exists and will be replaced: every verb that writes a file says so, as
// train does (issue 33.20).
void note_replaced(const std::string& path);

// The output `out` (given as out_flag) must not be the input `in` (in_flag) under any name: the same
// device and inode. "d.csv: --model is the same file as --data d.csv; writing it would destroy it".
void check_not_input(const std::string& out_flag, const std::string& out, const std::string& in_flag,
                     const std::string& in, const FileId& in_id);

// What a run will need, estimated from its settings before anything is allocated; above
// kMemoryLimit (settings.h) it is refused with the flags that ask for it named. `who` says where the
// settings come from: "" for the command line, or the checkpoint of a resumed run.
void check_train_memory(int64_t rows, int dim, int hidden, int layers, bool residual, int batch,
                        const std::string& who);
// threads: those that evaluate the network at once, each on chunks of up to 512 rows. floats: what
// the sampler keeps of each value (x_t, eps, the noise, x_0 and the rows in data units: 5; the ODE
// solvers' buffers: 7).
void check_sample_memory(int64_t n, int dim, int hidden, int layers, bool residual, int threads, int floats = 5);

// "0.8s", "42s", "3m07s", "2h05m": a duration for people, on stderr only.
std::string format_duration(double seconds);

// Says when the next progress line is due: about every `interval` seconds of wall clock.
class ProgressClock {
 public:
    explicit ProgressClock(double interval = 2.0) : interval_(interval), next_(interval) {}
    bool due() {
        if (clock_.seconds() < next_) return false;
        next_ = clock_.seconds() + interval_;
        return true;
    }
    double seconds() const { return clock_.seconds(); }

 private:
    Stopwatch clock_;
    double interval_, next_;
};

}  // namespace ddpm
