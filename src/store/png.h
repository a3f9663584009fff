// png.h: PNG files of grey pixels, through stb_image and stb_image_write (Debian libstb-dev).
//
// The project's one home of stb's image code: this file's .cpp holds the implementations that
// plot/plot.cpp (figures) and the tests use too. Decoding is from bytes in memory only (the
// caller reads the file, with its own checks; the tests also use stbi_load), and the size is read from the header before any
// pixel is decoded, so that a file claiming 60000 x 60000 pixels is refused, not allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ddpm {

struct PngInfo {
    int width = 0, height = 0;
    int channels = 0;  // in the file: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
};

// The header of PNG bytes; fails with one line naming `source` when they are not a PNG file.
PngInfo png_info(const std::string& bytes, const std::string& source);

// Decodes PNG bytes to one grey byte per pixel (height x width, row-major). Colour is turned to grey
// by stb_image's luma, (77 R + 150 G + 29 B) / 256, and alpha is dropped. At most max_pixels pixels
// (checked on the header first).
std::vector<uint8_t> decode_png_grey(const std::string& bytes, const std::string& source, PngInfo* info,
                                     int64_t max_pixels);

// The bytes of a PNG file of grey pixels (height x width, row-major), deterministic: the same pixels
// give the same bytes.
std::string encode_png_grey(const uint8_t* pixels, int width, int height);

// For the tests that make PNG files by hand: the bytes as a zlib stream (stb_image_write's deflate,
// the compression of a PNG's image data), and a chunk (length, type, data, CRC-32; PNG
// specification, section 5.3).
std::string zlib_compress(const std::string& bytes);
std::string png_chunk(const std::string& type, const std::string& data);

}  // namespace ddpm
