#include "store/idx.h"

#include <filesystem>
#include <system_error>

#include "core/common.h"
#include "core/io.h"

namespace ddpm {

namespace {

const uint8_t kUnsignedByte = 0x08;

uint32_t big_endian_u32(const std::string& b, size_t at) {
    return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 | uint32_t(uint8_t(b[at + 2])) << 8 |
           uint32_t(uint8_t(b[at + 3]));
}

std::string hex_byte(uint8_t v) {
    const char* digits = "0123456789abcdef";
    return std::string("0x") + digits[v >> 4] + digits[v & 15];
}

}  // namespace

int64_t IdxArray::item_size() const {
    int64_t n = 1;
    for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
    return n;
}

IdxArray parse_idx(const std::string& bytes, const std::string& source) {
    const std::string where = source + ": ";
    if (bytes.size() < 4)
        fail(where + "not an IDX file: " + std::to_string(bytes.size()) + " bytes, shorter than the 4-byte magic number");
    if (bytes[0] != 0 || bytes[1] != 0)
        fail(where + "not an IDX file: the magic number starts " + hex_byte(uint8_t(bytes[0])) + " " +
             hex_byte(uint8_t(bytes[1])) + ", not 0x00 0x00");
    const uint8_t type = uint8_t(bytes[2]);
    if (type != kUnsignedByte)
        fail(where + "IDX value type " + hex_byte(type) + " is not supported (only unsigned bytes, 0x08)");
    const int ndims = uint8_t(bytes[3]);
    if (ndims < 1 || ndims > 4) fail(where + "IDX files of " + std::to_string(ndims) + " dimensions are not supported (1 to 4)");
    const size_t header = 4 + 4 * size_t(ndims);
    if (bytes.size() < header)
        fail(where + "truncated: the header of " + std::to_string(ndims) + " dimensions needs " + std::to_string(header) +
             " bytes, the file has " + std::to_string(bytes.size()));
    IdxArray a;
    int64_t values = 1;
    for (int d = 0; d < ndims; ++d) {
        const uint32_t n = big_endian_u32(bytes, 4 + 4 * size_t(d));
        if (n == 0) fail(where + "dimension " + std::to_string(d + 1) + " is 0");
        if (int64_t(n) > kIdxMaxValues / values)
            fail(where + "the dimensions claim more than " + std::to_string(kIdxMaxValues) + " values");
        values *= int64_t(n);
        a.dims.push_back(int(n));
    }
    const int64_t have = int64_t(bytes.size() - header);
    if (have < values)
        fail(where + "truncated: the dimensions need " + std::to_string(values) + " bytes of data, the file has " +
             std::to_string(have));
    if (have > values)
        fail(where + std::to_string(have - values) + " bytes after the " + std::to_string(values) +
             " that the dimensions describe");
    a.data.assign(bytes.begin() + int64_t(header), bytes.end());
    return a;
}

IdxArray load_idx(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && int64_t(size) > kIdxMaxValues + 4 + 16)
        fail(path + ": " + std::to_string(size) + " bytes, more than an IDX file of this reader can hold");
    return parse_idx(read_file(path), path);
}

std::string serialize_idx(const IdxArray& a) {
    if (a.dims.empty() || a.dims.size() > 4) fail("serialize_idx: 1 to 4 dimensions, got " + std::to_string(a.dims.size()));
    int64_t values = 1;
    for (int d : a.dims) {
        if (d < 1) fail("serialize_idx: a dimension is " + std::to_string(d));
        values *= d;
    }
    if (values != int64_t(a.data.size()))
        fail("serialize_idx: the dimensions describe " + std::to_string(values) + " values, the array holds " +
             std::to_string(a.data.size()));
    std::string out = {0, 0, char(kUnsignedByte), char(a.dims.size())};
    for (int d : a.dims)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char(uint32_t(d) >> shift & 0xff));
    out.append(a.data.begin(), a.data.end());
    return out;
}

void save_idx(const std::string& path, const IdxArray& a) { write_file_atomic(path, serialize_idx(a)); }

}  // namespace ddpm
