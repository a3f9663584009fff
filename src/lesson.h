// lesson.h: what every lesson's main() shares: its flags, its output folder, its timing lines.
//
// Flags of every lesson:   --threads N   (default DDPM_THREADS or the hardware's)
//                          --out DIR     (default out/<lesson>)
//                          --full        the long version where a lesson has one (default: quick)
//                          --seed S      (default 0)
// stdout carries the deterministic tables, stderr the progress and timings.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ddpm {

struct LessonArgs {
    std::string name;       // "00_core"
    std::string out_dir;    // "out/00_core"
    int threads = 1;
    bool full = false;
    uint64_t seed = 0;

    std::string out(const std::string& file) const { return out_dir + "/" + file; }
};

// Parses the flags above (a bad one is a one-line error), starts the pool, creates out_dir.
LessonArgs parse_lesson_args(int argc, char** argv, const std::string& name);

// Parses a whole number in [lo, hi]; `what` names it in the error.
int64_t parse_int(const std::string& text, int64_t lo, int64_t hi, const std::string& what);

// Wall-clock seconds since construction; for stderr only (never in a table).
class Stopwatch {
 public:
    Stopwatch() : start_(std::chrono::steady_clock::now()) {}
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

 private:
    std::chrono::steady_clock::time_point start_;
};

}  // namespace ddpm
