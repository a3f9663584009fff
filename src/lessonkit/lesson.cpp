#include "lessonkit/lesson.h"

#include <cstdio>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"

namespace ddpm {

LessonArgs parse_lesson_args(int argc, char** argv, const std::string& name) {
    LessonArgs args;
    args.name = name;
    args.out_dir = "out/" + name;
    int threads = default_num_threads();
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(flag + ": missing value");
            return argv[++i];
        };
        if (flag == "--threads") threads = int(parse_int(value(), 1, 256, "--threads"));
        else if (flag == "--out") args.out_dir = value();
        else if (flag == "--full") args.full = true;
        else if (flag == "--seed") args.seed = uint64_t(parse_int(value(), 0, INT64_MAX, "--seed"));
        else if (flag == "--images") args.images = int(parse_int(value(), 16, 3333, "--images"));
        else if (flag == "--unet") args.unet = value();
        else if (flag == "--help" || flag == "-h") {
            std::printf("usage: %s [--threads N] [--out DIR] [--full] [--seed S] [--images N] [--unet FILE]\n", argv[0]);
            std::exit(0);
        } else fail("unknown flag '" + flag + "' (try --help)");
    }
    set_num_threads(threads);
    args.threads = threads;
    make_dirs(args.out_dir);
    std::fprintf(stderr, "[%s] threads=%d out=%s%s\n", name.c_str(), threads, args.out_dir.c_str(),
                 args.full ? " (full)" : "");
    return args;
}

}  // namespace ddpm
