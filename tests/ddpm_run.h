// ddpm_run.h: the ddpm tool run in-process, as main() would run it, for the tests of its commands.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "app/cli.h"
#include "core/common.h"
#include "core/io.h"
#include "helpers.h"

namespace testing_helpers {

// Runs `ddpm args...` with stdout and stderr sent to files of tmp (out.txt, err.txt); returns the
// exit status (an error is the line "ddpm: <problem>" on stderr and status 1) and, when asked, stderr.
inline int run_ddpm(const TempDir& tmp, std::vector<std::string> args, std::string* err = nullptr) {
    args.insert(args.begin(), "ddpm");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    std::fflush(stdout);
    std::fflush(stderr);
    const int saved_out = dup(1), saved_err = dup(2);
    FILE* o = std::fopen((tmp / "out.txt").c_str(), "wb");
    FILE* e = std::fopen((tmp / "err.txt").c_str(), "wb");
    dup2(fileno(o), 1);
    dup2(fileno(e), 2);
    std::fclose(o);
    std::fclose(e);
    const int status = ddpm::run_main("ddpm", ddpm::ddpm_main, int(argv.size()), argv.data());
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    if (err) *err = ddpm::read_file(tmp / "err.txt");
    return status;
}

}  // namespace testing_helpers
