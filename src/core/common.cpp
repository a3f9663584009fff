#include "core/common.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace ddpm {

void not_implemented(const char* task_id, const char* where) {
    throw NotImplemented(std::string("not implemented: ") + task_id + " (see " + where + ")");
}

void fail(const std::string& message) { throw std::runtime_error(message); }

std::string shown(const std::string& text, size_t max) {
    std::string out = text.size() > max && max >= 3 ? text.substr(0, max - 3) + "..." : text.substr(0, max);
    for (char& c : out)
        if ((unsigned char)c < 32 || c == 127) c = '?';
    return out;
}

int64_t parse_int(const std::string& text, int64_t lo, int64_t hi, const std::string& what) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    // strtoll skips leading white space; a number here has none, before it or after it
    if (text.empty() || std::isspace((unsigned char)text[0]) || *end != '\0' || errno == ERANGE)
        fail(what + ": expected a whole number, got '" + text + "'");
    if (v < lo || v > hi)
        fail(what + ": " + text + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
}

int run_main(const char* program, int (*body)(int, char**), int argc, char** argv) {
    try {
        return body(argc, argv);
    } catch (const std::exception& e) {
        std::string message = e.what();
        for (char& c : message)
            if ((unsigned char)c < 32 || c == 127) c = '?';
        std::fprintf(stderr, "%s: %s\n", program, message.c_str());
        return 1;
    }
}

}  // namespace ddpm
