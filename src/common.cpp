#include "common.h"

#include <cstdio>

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
