// runtime.h: what the subcommands of the ddpm tool share at run time: the thread count, an early
// check that an output can be written, and progress lines on stderr.
#pragma once

#include <string>

#include "core/common.h"

namespace ddpm {

// threads = 0: DDPM_THREADS or every core. Restarts the pool only when the count changes.
void use_threads(int threads);

// Fails now, with the one-line reason, when `path` cannot be written (a missing folder is created,
// as write_file_atomic would). Leaves no file behind: long work is not started for nothing.
void check_writable(const std::string& path);

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
