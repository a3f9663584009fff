// lesson.h: what every lesson's main() shares: its flags, its output folder, its timing lines.
//
// Flags of every lesson:   --threads N   (default DDPM_THREADS or the hardware's)
//                          --out DIR     (default out/<lesson>)
//                          --full        the long version where a lesson has one (default: quick)
//                          --seed S      (default 0)
// stdout carries the deterministic tables, stderr the progress and timings.
#pragma once

#include <cstdint>
#include <string>

#include "core/common.h"  // parse_int, Stopwatch

namespace ddpm {

struct LessonArgs {
    std::string name;       // "00_core"
    std::string out_dir;    // "out/00_core"
    int threads = 1;
    bool full = false;
    uint64_t seed = 0;
    int images = 0;         // --images N: how many test images a lesson's sample tables use (0: the
                            // mode's own count); lesson 10 reads it
    std::string unet;       // --unet FILE: lesson 09's U-Net in place of data/models/mnist_unet.ckpt (a model
                            // of the lessons, of ddpm train, or of ddpm import); lesson 09 reads it

    std::string out(const std::string& file) const { return out_dir + "/" + file; }
};

// Parses the flags above (a bad one is a one-line error), starts the pool, creates out_dir.
LessonArgs parse_lesson_args(int argc, char** argv, const std::string& name);

}  // namespace ddpm
