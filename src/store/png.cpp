#include "store/png.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/common.h"

// The implementations of stb_image (PNG only, from memory) and stb_image_write, compiled here once
// for the whole program.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace ddpm {

namespace {

const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

void check_bytes(const std::string& bytes, const std::string& source) {
    if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0)
        fail(source + ": not a PNG file (it does not start with the 8-byte PNG signature)");
    if (bytes.size() > size_t(INT_MAX)) fail(source + ": " + std::to_string(bytes.size()) + " bytes, too large a PNG file");
}

std::string reason() {
    const char* r = stbi_failure_reason();
    return r ? shown(r) : "unknown error";
}

// The chunks of PNG bytes, walked as stb_image walks them (length, type, data, CRC) from the
// signature to IEND, before stb_image sees them:
//   - a chunk that runs past the end of the bytes is refused here (stb_image would first grow its
//     buffer to the length the chunk claims, up to 4 GB), and so are bytes after IEND and a chunk
//     whose CRC does not match (stb_image reads no CRC);
//   - empty IDAT chunks are dropped (legal and meaningless, the image data being the concatenation of
//     every IDAT chunk's data; stb_image 2.27 copies an empty one that comes before any data to a null
//     pointer, memcpy(NULL, p, 0), undefined behaviour that the fuzzer's UBSan reports);
//   - the image data is inflated once into a buffer of exactly the bytes that the header's size,
//     colour type, bit depth and interlacing need (inflated_size), one byte more to tell "too many":
//     a stream that inflates past it (a decompression bomb: 3 MB of zeros inflating to 3 GB) is
//     refused when the buffer is full, never inflated into whatever the stream holds. stb_image's own
//     inflation, which grows its buffer as the stream asks, then runs on data known to fit.
// The CRC-32 of PNG chunks (PNG specification, annex D) over bytes[at, at + n).
uint32_t png_crc(const std::string& bytes, size_t at, size_t n) {
    static const std::vector<uint32_t> table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t crc = 0xffffffffu;
    for (size_t i = at; i < at + n; ++i) crc = table[(crc ^ uint8_t(bytes[i])) & 0xffu] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

uint32_t big_endian(const std::string& bytes, size_t at) {
    return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
           uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
}

// The bytes of a PNG's inflated image data (PNG specification, sections 7.2 and 8.2): per row one
// filter byte and ceil(width x samples x depth / 8) bytes; with Adam7 interlacing the same for each
// of the seven passes' sub-images. -1 when the header's fields are not a PNG's.
int64_t inflated_size(int64_t w, int64_t h, int colour_type, int depth, int interlace) {
    const int samples = colour_type == 0 ? 1 : colour_type == 2 ? 3 : colour_type == 3 ? 1 : colour_type == 4 ? 2
                                                                                    : colour_type == 6 ? 4 : 0;
    if (samples == 0 || w < 1 || h < 1 || (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16) ||
        interlace < 0 || interlace > 1)
        return -1;
    auto rows_bytes = [&](int64_t pw, int64_t ph) { return pw < 1 || ph < 1 ? 0 : ph * (1 + (pw * samples * depth + 7) / 8); };
    if (interlace == 0) return rows_bytes(w, h);
    // Adam7: pass p takes the columns x0 + k dx and the rows y0 + k dy
    const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1}, dx[7] = {8, 8, 4, 4, 2, 2, 1},
              dy[7] = {8, 8, 8, 4, 4, 2, 2};
    int64_t total = 0;
    for (int p = 0; p < 7; ++p) total += rows_bytes((w - x0[p] + dx[p] - 1) / dx[p], (h - y0[p] + dy[p] - 1) / dy[p]);
    return total;
}

// The largest palette index of an indexed image (colour type 3) in its inflated image data, which
// holds `need` bytes as inflated_size counts them: each row, or each row of each Adam7 pass, is
// unfiltered (PNG specification, section 9; with fewer than 8 bits a pixel the filters work on
// bytes, one byte to the left) and its pixels read most significant bits first. -1 when a row has
// a filter type past 4 (stb_image refuses those itself).
int largest_palette_index(const unsigned char* data, int64_t w, int64_t h, int depth, int interlace) {
    int largest = 0;
    bool bad_filter = false;
    auto pass = [&](int64_t pw, int64_t ph) {
        if (pw < 1 || ph < 1 || bad_filter) return;
        const int64_t row = (pw * depth + 7) / 8;
        std::vector<int> above(size_t(row), 0), cur(size_t(row), 0);
        for (int64_t y = 0; y < ph; ++y) {
            const int filter = *data++;
            if (filter > 4) {
                bad_filter = true;
                return;
            }
            for (int64_t i = 0; i < row; ++i) {
                const int a = i > 0 ? cur[size_t(i - 1)] : 0, b = above[size_t(i)], c = i > 0 ? above[size_t(i - 1)] : 0;
                int predicted = 0;
                if (filter == 1) predicted = a;
                else if (filter == 2) predicted = b;
                else if (filter == 3) predicted = (a + b) / 2;
                else if (filter == 4) {  // Paeth: of a, b, c the one nearest a + b - c, ties to a then b
                    const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                }
                cur[size_t(i)] = (data[i] + predicted) & 0xff;
            }
            data += row;
            for (int64_t x = 0; x < pw; ++x) {
                const int64_t bit = x * depth;
                const int index = (cur[size_t(bit / 8)] >> (8 - depth - int(bit % 8))) & ((1 << depth) - 1);
                largest = std::max(largest, index);
            }
            std::swap(above, cur);
        }
    };
    if (interlace == 0) {
        pass(w, h);
    } else {
        const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1}, dx[7] = {8, 8, 4, 4, 2, 2, 1},
                  dy[7] = {8, 8, 8, 4, 4, 2, 2};
        for (int p = 0; p < 7; ++p) pass((w - x0[p] + dx[p] - 1) / dx[p], (h - y0[p] + dy[p] - 1) / dy[p]);
    }
    return bad_filter ? -1 : largest;
}

std::string checked_chunks(const std::string& bytes, const std::string& source) {
    std::string out = bytes.substr(0, 8);
    std::string data;  // the IDAT chunks' data, in order
    int64_t need = -1, width = 0, height = 0;
    int depth = 0, colour_type = 0, interlace = 0, palette_entries = 0;
    size_t at = 8;
    while (true) {
        if (at + 12 > bytes.size())
            fail(source + ": a damaged PNG file (it ends at byte " + std::to_string(bytes.size()) +
                 " inside its chunks, before IEND: truncated?)");
        const uint32_t length = big_endian(bytes, at);
        if (length > bytes.size() - at - 12)
            fail(source + ": a damaged PNG file (the chunk at byte " + std::to_string(at) + " claims " +
                 std::to_string(length) + " bytes, more than the file holds: truncated?)");
        const size_t whole = 12 + size_t(length);
        if (png_crc(bytes, at + 4, 4 + size_t(length)) != big_endian(bytes, at + 8 + length))
            fail(source + ": a damaged PNG file (the CRC of the " + shown(bytes.substr(at + 4, 4)) + " chunk at byte " +
                 std::to_string(at) + " does not match its bytes)");
        const bool end = bytes.compare(at + 4, 4, "IEND") == 0;
        const bool idat = bytes.compare(at + 4, 4, "IDAT") == 0;
        if (bytes.compare(at + 4, 4, "IHDR") == 0 && length == 13 && at == 8) {
            width = big_endian(bytes, at + 8);
            height = big_endian(bytes, at + 12);
            depth = uint8_t(bytes[at + 16]);
            colour_type = uint8_t(bytes[at + 17]);
            interlace = uint8_t(bytes[at + 20]);
            need = inflated_size(width, height, colour_type, depth, interlace);
        }
        if (bytes.compare(at + 4, 4, "PLTE") == 0) palette_entries = int(length / 3);
        if (idat) data.append(bytes, at + 8, length);
        if (!(length == 0 && idat)) out.append(bytes, at, whole);
        at += whole;
        if (end) break;
    }
    if (at != bytes.size())
        fail(source + ": " + std::to_string(bytes.size() - at) + " bytes after the PNG file's end (its IEND chunk)");
    if (need < 1 || need > int64_t(INT_MAX) - 1) fail(source + ": a damaged PNG header (its first chunk is not a PNG's IHDR)");
    std::vector<char> inflated(size_t(need) + 1);
    const int got = stbi_zlib_decode_buffer(inflated.data(), int(inflated.size()), data.data(), int(data.size()));
    const bool full = got > need || (got < 0 && reason() == "output buffer limit");
    if (full)
        fail(source + ": its image data inflates past the " + std::to_string(need) +
             " bytes that its header's size needs (a decompression bomb?); refused");
    if (got < need)
        fail(source + ": a damaged PNG file (its image data " +
             (got < 0 ? "does not inflate: " + reason() : "inflates to " + std::to_string(got) + " bytes") +
             ", where its header needs " + std::to_string(need) + ")");
    // An indexed image's pixels must name colours of its palette: stb_image looks an index past the
    // palette up in the rest of a 256-entry table that it never filled, garbage that varies by run.
    if (colour_type == 3) {
        const int largest = largest_palette_index(reinterpret_cast<const unsigned char*>(inflated.data()), width, height,
                                                  depth, interlace);
        if (largest >= palette_entries)
            fail(source + ": a damaged PNG file (a pixel has palette index " + std::to_string(largest) + ", past its " +
                 (palette_entries == 0 ? std::string("missing palette") : "palette of " + std::to_string(palette_entries) +
                                                                         (palette_entries == 1 ? " colour" : " colours")) +
                 ")");
    }
    return out;
}

void append_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

}  // namespace

PngInfo png_info(const std::string& bytes, const std::string& source) {
    check_bytes(bytes, source);
    PngInfo info;
    if (!stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &info.width,
                               &info.height, &info.channels))
        fail(source + ": a damaged PNG header (" + reason() + ")");
    return info;
}

std::vector<uint8_t> decode_png_grey(const std::string& bytes, const std::string& source, PngInfo* info_out,
                                     int64_t max_pixels) {
    const PngInfo info = png_info(bytes, source);
    if (int64_t(info.width) * info.height > max_pixels)
        fail(source + ": " + std::to_string(info.width) + " x " + std::to_string(info.height) + " pixels, more than the " +
             std::to_string(max_pixels) + " read");
    int w = 0, h = 0, channels = 0;
    const std::string clean = checked_chunks(bytes, source);
    stbi_uc* pixels = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(clean.data()), int(clean.size()), &w, &h,
                                            &channels, 1);
    if (!pixels) fail(source + ": a damaged PNG file (" + reason() + ")");
    if (w != info.width || h != info.height) {
        stbi_image_free(pixels);
        fail(source + ": the PNG header and its pixels disagree on the size");
    }
    std::vector<uint8_t> out(pixels, pixels + int64_t(w) * h);
    stbi_image_free(pixels);
    if (info_out) *info_out = info;
    return out;
}

std::string zlib_compress(const std::string& bytes) {
    if (bytes.size() > size_t(INT_MAX)) fail("zlib_compress: " + std::to_string(bytes.size()) + " bytes, too many");
    int length = 0;
    std::vector<unsigned char> in(bytes.begin(), bytes.end());
    unsigned char* z = stbi_zlib_compress(in.data(), int(in.size()), &length, 8);
    if (!z) fail("zlib_compress: stb_image_write could not compress");
    std::string out(reinterpret_cast<const char*>(z), size_t(length));
    STBIW_FREE(z);
    return out;
}

std::string png_chunk(const std::string& type, const std::string& data) {
    if (type.size() != 4 || data.size() > 0x7fffffffu) fail("png_chunk: a chunk type is 4 bytes");
    auto be = [](uint32_t v) {
        return std::string{char(v >> 24), char((v >> 16) & 255), char((v >> 8) & 255), char(v & 255)};
    };
    const std::string body = type + data;
    return be(uint32_t(data.size())) + body + be(png_crc(body, 0, body.size()));
}

std::string encode_png_grey(const uint8_t* pixels, int width, int height) {
    if (width < 1 || height < 1 || int64_t(width) * height > int64_t(1) << 28)
        fail("encode_png_grey: a PNG of " + std::to_string(width) + " x " + std::to_string(height) + " pixels");
    std::string out;
    if (!stbi_write_png_to_func(append_bytes, &out, width, height, 1, pixels, width))
        fail("encode_png_grey: stb_image_write could not encode the image");
    return out;
}

}  // namespace ddpm
