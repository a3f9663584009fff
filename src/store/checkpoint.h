// checkpoint.h: the binary file format for parameters, and everything later checkpoints add.
//
// Layout (all integers little-endian; docs/checkpoint-format.md has the full description):
//
//   magic      8 bytes   "DDPMCKPT"
//   version    u32       1
//   n_meta     u32       number of key/value strings
//   n_tensors  u32
//   n_meta times:    key (u32 length + bytes), value (u32 length + bytes)
//   n_tensors times: name (u32 length + bytes), ndim u32 (1..4), dims i32[ndim], float32[numel]
//   checksum   u64       FNV-1a 64 of every byte before it
//
// Metadata carries what is not a tensor (schedule, architecture, step, RNG state, ...) as text;
// tensors are named ("net.0.weight", "adam.m.net.0.weight", "ema.net.0.weight", ...). Readers look
// up what they need by name, so adding entries never breaks an older reader of the same version.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/nn.h"

namespace ddpm {

// The longest name, key or value, for the writer and the reader alike: what one writes, the other
// reads. (The largest entry the ddpm tool writes is a schedule of T = 10^6 betas, about 25 MB.) The
// reader also bounds every length by the bytes actually present, so this limit costs no memory.
constexpr uint32_t kMaxCheckpointString = uint32_t(1) << 26;

struct Checkpoint {
    std::vector<std::pair<std::string, std::string>> meta;
    std::vector<std::pair<std::string, Tensor>> tensors;

    void set_meta(const std::string& key, const std::string& value);
    bool has_meta(const std::string& key) const;
    std::string get_meta(const std::string& key) const;  // throws when missing
    void add_tensor(const std::string& name, const Tensor& t);
    const Tensor* find_tensor(const std::string& name) const;
};

// The bytes of a checkpoint, and back; parse errors name `source` and the byte offset.
std::string serialize_checkpoint(const Checkpoint& ckpt);
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& source);

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);  // atomic (tmp + rename)
Checkpoint load_checkpoint(const std::string& path);                    // verifies the checksum

// Parameters alone: the tensors of `params` under their names.
void add_params(Checkpoint& ckpt, const Params& params, const std::string& prefix = "");
// Copies the named tensors into params; every name must be present with the same shape.
void read_params(const Checkpoint& ckpt, Params& params, const std::string& source, const std::string& prefix = "");

uint64_t fnv1a64(const char* data, size_t n);

}  // namespace ddpm
