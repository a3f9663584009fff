// libFuzzer target: the IDX reader (parse_idx, what lesson 08 and the tool's image input use) on any
// bytes. Built by `make fuzz` with clang's -fsanitize=fuzzer,address,undefined (tests/fuzz/run.sh).
//
// A refusal must be one line naming the file; an accepted file must be what parse_idx promises:
// 1 to 4 dimensions, each at least 1, exactly their product of values, and written back the same.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "store/idx.h"
#include "one_line.h"

namespace {
const char kSource[] = "fuzz.idx";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const ddpm::IdxArray a = ddpm::parse_idx(bytes, kSource);
        if (a.dims.empty() || a.dims.size() > 4) std::abort();
        int64_t values = 1;
        for (int d : a.dims) {
            if (d < 1) std::abort();
            values *= d;
        }
        if (values != int64_t(a.data.size())) std::abort();
        if (ddpm::serialize_idx(a) != bytes) std::abort();
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
    }
    return 0;
}
