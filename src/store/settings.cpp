#include "store/settings.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "store/checkpoint.h"
#include "core/common.h"
#include "core/io.h"

namespace ddpm {

namespace {

bool within(const RealSetting& s, double v) {
    if (s.lo_open ? !(v > s.lo) : !(v >= s.lo)) return false;
    if (s.hi_open ? !(v < s.hi) : !(v <= s.hi)) return false;
    return true;
}

// "must be positive", "must lie in [0, 1)"
std::string must(const RealSetting& s) {
    if (s.lo == 0.0 && s.lo_open && s.hi == double(FLT_MAX)) return "must be positive";
    return "must lie in " + bounds_text(s);
}

}  // namespace

std::string bounds_text(const IntSetting& s) {
    if (s.hi == INT64_MAX) return "at least " + std::to_string(s.lo);
    return "from " + std::to_string(s.lo) + " to " + std::to_string(s.hi);
}

std::string bounds_text(const RealSetting& s) {
    return std::string(s.lo_open ? "(" : "[") + fmt_g(s.lo) + ", " + fmt_g(s.hi) + (s.hi_open ? ")" : "]");
}

int64_t parse_setting(const IntSetting& s, const std::string& text) {
    const int64_t v = parse_int(text, INT64_MIN, INT64_MAX, s.flag);
    if (v < s.lo || v > s.hi) fail(std::string(s.flag) + " must be " + bounds_text(s) + ", got " + text);
    return v;
}

double parse_setting(const RealSetting& s, const std::string& text) {
    const std::string flag = s.flag;
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || std::isspace((unsigned char)text[0]) || *end != '\0' || !std::isfinite(v) ||
        (errno == ERANGE && std::fabs(v) > 1.0))
        fail(flag + ": expected a number, got '" + shown(text) + "'");
    const std::string got = ", got " + shown(text);
    if (std::fabs(v) > double(FLT_MAX)) fail(flag + " must lie within the range of a float" + got);
    if (!within(s, v)) fail(flag + " " + must(s) + got);
    // The run uses the float: 0.9999999999 is 1 and 1e-50 is 0 by then.
    const float f = float(v);
    if (f == 0.0f && v != 0.0 && !within(s, 0.0)) fail(flag + " must lie within the range of a float" + got);
    // ... against the bounds as floats too: 1e-12, the least --beta, is 9.99999998e-13 as a float
    RealSetting as_float = s;
    as_float.lo = double(float(s.lo));
    as_float.hi = double(float(s.hi));
    if (!within(as_float, double(f))) fail(flag + " " + must(s) + got + " (" + fmt_g(double(f)) + " as a float)");
    return v;
}

int64_t checkpoint_setting(const Checkpoint& c, const IntSetting& s, const std::string& source) {
    const std::string key = s.key;
    if (!c.has_meta(key)) fail(source + ": no entry '" + key + "'");
    const std::string text = c.get_meta(key);
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE || v < s.lo || v > s.hi)
        fail(source + ": entry '" + key + "' should be a whole number from " + std::to_string(s.lo) + " to " +
             std::to_string(s.hi) + ", not '" + shown(text) + "'");
    return v;
}

double checkpoint_setting(const Checkpoint& c, const RealSetting& s, const std::string& source) {
    const std::string key = s.key;
    if (!c.has_meta(key)) fail(source + ": no entry '" + key + "'");
    const std::string text = c.get_meta(key);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v) || std::fabs(v) > double(FLT_MAX) || !within(s, v) ||
        !within(s, double(float(v))))
        fail(source + ": entry '" + key + "' is not a number in the range the tool writes: '" + shown(text) + "'");
    return v;
}

int64_t eps_model_values(int64_t dim, int64_t emb, int64_t hidden, int64_t layers, bool residual) {
    auto linear = [](int64_t in, int64_t out) { return in * out + out; };
    if (residual) return linear(dim + emb, hidden) + layers * 2 * linear(hidden, hidden) + linear(hidden, dim);
    return linear(dim + emb, hidden) + (layers - 1) * linear(hidden, hidden) + linear(hidden, dim);
}

std::string bytes_text(double bytes) {
    if (bytes >= 1e9) return fmt(bytes / 1e9, 1) + " GB";
    if (bytes >= 1e6) return fmt(bytes / 1e6, 0) + " MB";
    return fmt(bytes / 1e3, 0) + " kB";
}

}  // namespace ddpm
