// libFuzzer target: the safetensors reader (parse_safetensors, store/safetensors.h) and `ddpm import`'s
// checks behind it (import_weights; check_imported for the toy models, app/export.h), on any bytes.
// Built by `make fuzz` with clang's -fsanitize=fuzzer,address,undefined (tests/fuzz/run.sh); seeds:
// an export of the checkpoint target's small model (made by make) and tests/fuzz/corpus_safetensors/.
//
// A refusal is fine: one line (std::runtime_error from fail()) naming the file. A file that parses
// must write back to a file that parses to the same tensors (bit for bit) and metadata, and the
// writer's bytes must be a fixed point (the writer has one way to write each thing). Anything else
// is a finding: a crash, a sanitizer report, another exception (std::bad_alloc from an allocation
// that a length or a shape in the file asked for), a time-out.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "app/export.h"
#include "store/checkpoint.h"
#include "store/safetensors.h"
#include "one_line.h"

namespace {

const char kSource[] = "fuzz.safetensors";

bool same(const ddpm::Checkpoint& a, const ddpm::Checkpoint& b) {
    if (a.meta != b.meta || a.tensors.size() != b.tensors.size()) return false;
    for (size_t i = 0; i < a.tensors.size(); ++i) {
        const ddpm::Tensor& x = a.tensors[i].second;
        const ddpm::Tensor& y = b.tensors[i].second;
        if (a.tensors[i].first != b.tensors[i].first || x.shape() != y.shape()) return false;
        if (x.numel() > 0 && std::memcmp(x.data(), y.data(), size_t(x.numel()) * sizeof(float)) != 0) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    ddpm::Checkpoint c;
    try {
        c = ddpm::parse_safetensors(bytes, kSource);
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
        return 0;
    }
    const std::string again = ddpm::serialize_safetensors(c);  // what parsed is text and F32: it writes
    const ddpm::Checkpoint c2 = ddpm::parse_safetensors(again, kSource);
    if (!same(c, c2) || ddpm::serialize_safetensors(c2) != again) std::abort();
    try {
        const ddpm::Checkpoint imported = ddpm::import_weights(c, kSource);
        // An image model is built before its tensors are compared (up to 512 channels a level: a
        // second of work and a hundred MB per input), so only the toy model's reader runs here; it
        // checks the sizes in the metadata against the values present before it allocates.
        if (!imported.has_meta("model.kind")) ddpm::check_imported(imported, kSource);
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
    }
    return 0;
}
