#include "common.h"

#include <cstdio>

namespace ddpm {

void not_implemented(const char* task_id, const char* where) {
    throw NotImplemented(std::string("not implemented: ") + task_id + " (see " + where + ")");
}

void fail(const std::string& message) { throw std::runtime_error(message); }

int run_main(const char* program, int (*body)(int, char**), int argc, char** argv) {
    try {
        return body(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
}

}  // namespace ddpm
