// libFuzzer target: the checkpoint reader (parse_checkpoint) and the ddpm tool's model file on top of
// it (parse_model_file: normalisation, network, schedule, optimiser), on any bytes.
// Built by `make fuzz` with clang's -fsanitize=fuzzer,address,undefined (tests/fuzz/run.sh).
//
// The checksum at the end of a checkpoint would stop almost every mutation at the first check, so
// the first input byte picks a mode: odd, the rest of the input is a checkpoint without its last 8
// bytes and the target appends the right checksum (this reaches the parser behind it); even, the rest
// is taken as it is (this fuzzes the checks in front: magic, version, checksum).
//
// A refusal is fine: one line (std::runtime_error from fail()) naming the file. A checkpoint that
// parses must serialise back to the same bytes (the format has one way to write each thing).
// Anything else is a finding: a crash, a sanitizer report, another exception (std::bad_alloc from
// an allocation the file asked for), a time-out.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "app/model_file.h"
#include "store/checkpoint.h"
#include "one_line.h"

namespace {

const char kSource[] = "fuzz.ckpt";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] & 1) {
        const uint64_t sum = ddpm::fnv1a64(bytes.data(), bytes.size());
        bytes.append(reinterpret_cast<const char*>(&sum), 8);
    }
    bool parsed = false;
    try {
        const ddpm::Checkpoint c = ddpm::parse_checkpoint(bytes, kSource);
        parsed = true;
        if (ddpm::serialize_checkpoint(c) != bytes) std::abort();
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
    }
    if (!parsed) return 0;
    try {
        const ddpm::ModelFile mf = ddpm::parse_model_file(bytes, kSource);
        if (mf.trainer.model.config.dim != mf.norm.columns()) std::abort();
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
    }
    return 0;
}
