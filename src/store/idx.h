// idx.h: the IDX file format of MNIST (LeCun et al.), unsigned bytes only.
//
// An IDX file is a 4-byte magic number, 0x00 0x00 <type> <number of dimensions>, then each
// dimension as a big-endian 32-bit unsigned integer, then the values in row-major order (the last
// dimension fastest). MNIST's images are type 0x08 (unsigned byte), 3 dimensions (count, 28, 28);
// its labels 0x08, 1 dimension (count). The reader checks the magic number, every dimension, and
// that the data is exactly as long as the dimensions say; every refusal is one line naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ddpm {

struct IdxArray {
    std::vector<int> dims;       // 1 to 4 dimensions, each >= 1
    std::vector<uint8_t> data;   // the product of dims values
    int64_t count() const { return dims.empty() ? 0 : dims[0]; }  // the first dimension
    int64_t item_size() const;                                    // values per item: dims[1] * ...
};

// At most this many values (2^31): MNIST's training images are 47 million.
const int64_t kIdxMaxValues = int64_t(1) << 31;

// Parses the bytes of an IDX ubyte file; `source` names it in errors.
IdxArray parse_idx(const std::string& bytes, const std::string& source);
// Reads and parses a file (refuses one larger than the format allows before reading it).
IdxArray load_idx(const std::string& path);
// The bytes of an IDX ubyte file; save_idx writes them atomically.
std::string serialize_idx(const IdxArray& a);
void save_idx(const std::string& path, const IdxArray& a);

}  // namespace ddpm
