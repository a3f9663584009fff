// safetensors.h: the safetensors file format (Hugging Face's format for weights, read by PyTorch,
// diffusers and many other tools), written and read from its published description:
//
//   8 bytes   N, an unsigned 64-bit little-endian integer: the length of the header
//   N bytes   the header: a JSON object in UTF-8. Every key but one names a tensor and maps to
//               {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
//             with [begin, end) a byte range of the data section; the key "__metadata__" maps to an
//             object of strings to strings (free text: here the checkpoint's metadata). The header
//             may end with spaces (this writer pads it so that the data starts at a multiple of 8).
//   the rest  the data section: each tensor's values, row-major, little-endian; the ranges of the
//             tensors cover it exactly, without holes or overlaps.
//
// Only what this project holds is supported: float32 tensors ("F32") of rank 1 to 4, as in a
// Checkpoint (checkpoint.h). A Checkpoint's metadata becomes "__metadata__", its tensors the
// tensors, in the same order; nothing is renamed or transposed here (app/export.h does that).
#pragma once

#include <cstdint>
#include <string>

#include "store/checkpoint.h"

namespace ddpm {

// The longest header this reader accepts (the limit of the format's reference reader, too).
constexpr uint64_t kMaxSafetensorsHeader = 100000000;

// The bytes of a safetensors file holding ckpt's tensors, with ckpt.meta as "__metadata__".
// Throws (one line) when a name or a value is not UTF-8 text or a name is "__metadata__".
std::string serialize_safetensors(const Checkpoint& ckpt);

// The tensors and the "__metadata__" strings of a safetensors file. Every error is one line
// "<source>: offset <n>: <problem>" (n counts from the file's first byte): a length that does not
// fit the file, JSON that is not well formed or not of the form above, a dtype other than F32, a
// shape that does not match its byte range, ranges that overlap, leave holes or leave the data.
Checkpoint parse_safetensors(const std::string& bytes, const std::string& source);

// Whether the bytes start like a safetensors file (a plausible length and then '{'), to tell a
// user who passes one where a checkpoint is expected (and the other way round) what it is.
bool looks_like_safetensors(const std::string& bytes);

}  // namespace ddpm
