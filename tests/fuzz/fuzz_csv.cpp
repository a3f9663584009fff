// libFuzzer target: the CSV reader (parse_csv, what load_csv and `ddpm train/eval` use) on any bytes.
// Built by `make fuzz` with clang's -fsanitize=fuzzer,address,undefined (tests/fuzz/run.sh).
//
// A refusal is fine: the core throws std::runtime_error through fail(). It must be one line that
// names the file. Anything else is a finding: a crash, a sanitizer report, another exception (such
// as std::bad_alloc), a time-out, or a result that breaks what parse_csv promises (below).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "store/csv.h"
#include "one_line.h"

namespace {

const char kSource[] = "fuzz.csv";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const ddpm::Dataset d = ddpm::parse_csv(bytes, kSource);
        // A table of finite floats with at least one row and column.
        if (d.dim < 1 || d.x.empty() || d.x.size() % size_t(d.dim) != 0) std::abort();
        for (float v : d.x)
            if (!std::isfinite(v)) std::abort();
        // A header that was read is one that save_csv writes back as it is (the one rule of csv.h).
        if (!d.header.empty() && (int(d.header.size()) != d.dim || !ddpm::header_problem(d.header, d.dim).empty()))
            std::abort();
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
    }
    return 0;
}
