#include "store/png.h"

#include <climits>
#include <cstring>

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
// signature to IEND, before stb_image sees them: a chunk that runs past the end of the bytes is
// refused here (stb_image would first grow its buffer to the length the chunk claims, up to 4 GB),
// and empty IDAT chunks are dropped (legal and meaningless, the image data being the concatenation of
// every IDAT chunk's data; stb_image 2.27 copies an empty one that comes before any data to a null
// pointer, memcpy(NULL, p, 0), undefined behaviour that the fuzzer's UBSan reports). Bytes after
// IEND are kept as they are.
std::string checked_chunks(const std::string& bytes, const std::string& source) {
    std::string out = bytes.substr(0, 8);
    size_t at = 8;
    while (true) {
        if (at + 12 > bytes.size())
            fail(source + ": a damaged PNG file (it ends at byte " + std::to_string(bytes.size()) +
                 " inside its chunks, before IEND: truncated?)");
        const uint32_t length = uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
                                uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
        if (length > bytes.size() - at - 12)
            fail(source + ": a damaged PNG file (the chunk at byte " + std::to_string(at) + " claims " +
                 std::to_string(length) + " bytes, more than the file holds: truncated?)");
        const size_t whole = 12 + size_t(length);
        const bool end = bytes.compare(at + 4, 4, "IEND") == 0;
        if (!(length == 0 && bytes.compare(at + 4, 4, "IDAT") == 0)) out.append(bytes, at, whole);
        at += whole;
        if (end) break;
    }
    out.append(bytes, at, std::string::npos);
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

std::string encode_png_grey(const uint8_t* pixels, int width, int height) {
    if (width < 1 || height < 1 || int64_t(width) * height > int64_t(1) << 28)
        fail("encode_png_grey: a PNG of " + std::to_string(width) + " x " + std::to_string(height) + " pixels");
    std::string out;
    if (!stbi_write_png_to_func(append_bytes, &out, width, height, 1, pixels, width))
        fail("encode_png_grey: stb_image_write could not encode the image");
    return out;
}

}  // namespace ddpm
