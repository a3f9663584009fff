#include "app/runtime.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/common.h"
#include "core/io.h"
#include "core/pool.h"

namespace ddpm {

void use_threads(int threads) {
    const int n = threads > 0 ? threads : default_num_threads();
    if (n != num_threads()) set_num_threads(n);
}

void check_writable(const std::string& path) {
    const std::filesystem::path p(path);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) fail(path + ": is a directory, not a file");
    if (p.has_parent_path()) make_dirs(p.parent_path().string());
    const std::string probe = path + ".tmp";  // the name write_file_atomic uses, so no new name appears
    FILE* f = std::fopen(probe.c_str(), "wb");
    if (!f) fail(path + ": cannot write: " + std::strerror(errno));
    std::fclose(f);
    std::remove(probe.c_str());
}

std::string format_duration(double seconds) {
    char buf[32];
    if (seconds < 10) std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    else if (seconds < 60) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
    else if (seconds < 3600) {
        const long s = std::lround(seconds);
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    } else {
        const long m = std::lround(seconds / 60);
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
    }
    return buf;
}

}  // namespace ddpm
