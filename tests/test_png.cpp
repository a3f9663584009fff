// Grey PNG files (store/png.h) and image folders (store/image_files.h): a round trip, colour to
// grey, damaged files refused with one line naming them, and the grid and IDX outputs of the tool.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>  // its implementation is in store/png.cpp

#include "core/common.h"
#include "store/idx.h"
#include "core/io.h"
#include "store/png.h"
#include "store/image_files.h"
#include "helpers.h"

using namespace ddpm;
using namespace testing_helpers;

namespace {

void append_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

// A grey 28 x 28 PNG whose image data is `inflated` bytes of zeros (28 x 29 = 812 is the right amount).
std::string png_of_zeros(int inflated) {
    const std::string idat = zlib_compress(std::string(size_t(inflated), '\0'));
    const std::string ihdr = std::string("\0\0\0\x1c\0\0\0\x1c\x08\0\0\0\0", 13);  // 28 x 28, 8 bits, grey
    return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) +
           png_chunk("IEND", "");
}

// An indexed PNG (colour type 3) of w x h palette indices at `depth` bits, every row (of every Adam7
// pass when interlaced) filtered with `filter` (1 Sub, 2 Up, 3 Average, 4 Paeth), and a palette of
// `colours` grey entries (k * 50 for entry k).
std::string indexed_png(const std::vector<int>& index, int w, int h, int depth, bool interlaced, int filter, int colours) {
    std::string raw;
    auto pass = [&](int x0, int y0, int dx, int dy) {
        const int pw = (w - x0 + dx - 1) / dx, ph = (h - y0 + dy - 1) / dy;
        if (pw < 1 || ph < 1) return;
        const size_t row = size_t(pw * depth + 7) / 8;
        std::vector<int> above(row, 0);
        for (int y = 0; y < ph; ++y) {
            std::vector<int> cur(row, 0);
            for (int x = 0; x < pw; ++x) {
                const int bit = x * depth;
                cur[size_t(bit / 8)] |= index[size_t((y0 + y * dy) * w + x0 + x * dx)] << (8 - depth - bit % 8);
            }
            raw += char(filter);
            for (size_t i = 0; i < row; ++i) {
                const int a = i ? cur[i - 1] : 0, b = above[i], c = i ? above[i - 1] : 0;
                const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
                const int predicted = filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2
                                    : filter == 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
                raw += char((cur[i] - predicted) & 0xff);
            }
            above = cur;
        }
    };
    if (!interlaced) pass(0, 0, 1, 1);
    else for (const auto& p : std::vector<std::vector<int>>{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}})
        pass(p[0], p[1], p[2], p[3]);
    const std::string ihdr = std::string("\0\0\0", 3) + char(w) + std::string("\0\0\0", 3) + char(h) + char(depth) + '\x03' +
                             '\0' + '\0' + char(interlaced ? 1 : 0);
    std::string palette;
    for (int k = 0; k < colours; ++k) palette += std::string(3, char(k * 50));
    return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("PLTE", palette) +
           png_chunk("IDAT", zlib_compress(raw)) + png_chunk("IEND", "");
}

}  // namespace

TEST_CASE("png: an indexed image's pixels are their palette's colours; an index past the palette is refused") {
    // every filter, 8 bits and 2 bits a pixel, plain and interlaced: a pattern of indices 0..2
    for (const int depth : {8, 2})
        for (const bool interlaced : {false, true})
            for (int filter = 0; filter <= 4; ++filter) {
                CAPTURE(depth);
                CAPTURE(interlaced);
                CAPTURE(filter);
                std::vector<int> index(13 * 11);
                std::vector<uint8_t> grey(index.size());
                for (size_t i = 0; i < index.size(); ++i) {
                    index[i] = int((i * 7 + i / 13) % 3);
                    grey[i] = uint8_t(index[i] * 50);
                }
                CHECK(decode_png_grey(indexed_png(index, 13, 11, depth, interlaced, filter, 3), "p.png", nullptr, 1000) ==
                      grey);
                index[77] = 3;  // one pixel past the palette of 3 colours
                CHECK_THROWS_WITH(decode_png_grey(indexed_png(index, 13, 11, depth, interlaced, filter, 3), "p.png", nullptr,
                                                  1000),
                                  "p.png: a damaged PNG file (a pixel has palette index 3, past its palette of 3 colours)");
            }
}

TEST_CASE("png: grey pixels round-trip; colour becomes stb_image's luma; alpha is dropped") {
    std::vector<uint8_t> grey(6 * 4);
    for (size_t i = 0; i < grey.size(); ++i) grey[i] = uint8_t(i * 11);
    const std::string bytes = encode_png_grey(grey.data(), 6, 4);
    PngInfo info;
    CHECK(decode_png_grey(bytes, "g.png", &info, 100) == grey);
    CHECK(info.width == 6);
    CHECK(info.height == 4);
    CHECK(info.channels == 1);
    CHECK(encode_png_grey(grey.data(), 6, 4) == bytes);  // deterministic

    // one RGBA pixel of each primary: (77 R + 150 G + 29 B) >> 8
    const uint8_t rgba[] = {255, 0, 0, 255, 0, 255, 0, 10, 0, 0, 255, 0};
    std::string colour;
    REQUIRE(stbi_write_png_to_func(append_bytes, &colour, 3, 1, 4, rgba, 12));
    CHECK(decode_png_grey(colour, "c.png", &info, 100) == std::vector<uint8_t>{76, 149, 28});
    CHECK(info.channels == 4);
}

TEST_CASE("png: damaged files are one line naming the file; an empty IDAT chunk is harmless") {
    std::vector<uint8_t> grey(28 * 28, 200);
    const std::string good = encode_png_grey(grey.data(), 28, 28);
    CHECK_THROWS_WITH(decode_png_grey("GIF89a..", "a.png", nullptr, 1000),
                      "a.png: not a PNG file (it does not start with the 8-byte PNG signature)");
    CHECK_THROWS_WITH(decode_png_grey(good.substr(0, good.size() - 20), "t.png", nullptr, 1000),
                      doctest::Contains("t.png: a damaged PNG file ("));
    CHECK_THROWS_WITH(decode_png_grey(good, "big.png", nullptr, 100),
                      "big.png: 28 x 28 pixels, more than the 100 read");
    // an empty IDAT chunk right after IHDR (33 bytes in): legal, dropped before stb_image sees it
    const std::string empty_idat = std::string("\0\0\0\0IDAT", 8) + std::string("\x35\xaf\x06\x1e", 4);
    const std::string with = good.substr(0, 33) + empty_idat + good.substr(33);
    CHECK(decode_png_grey(with, "e.png", nullptr, 1000) == grey);
}

TEST_CASE("png: a decompression bomb, bytes after IEND, a wrong CRC and a folder's oversized file are refused with one line") {
    CHECK(decode_png_grey(png_of_zeros(28 * 29), "ok.png", nullptr, 1000) == std::vector<uint8_t>(28 * 28, 0));
    // 10 MB of zeros deflate to about 10 kB; inflation stops at the 812 bytes the header needs
    CHECK_THROWS_WITH(decode_png_grey(png_of_zeros(10 << 20), "bomb.png", nullptr, 1000),
                      "bomb.png: its image data inflates past the 812 bytes that its header's size needs (a "
                      "decompression bomb?); refused");
    CHECK_THROWS_WITH(decode_png_grey(png_of_zeros(28 * 29 + 1), "one.png", nullptr, 1000),
                      doctest::Contains("one.png: its image data inflates past the 812 bytes"));
    CHECK_THROWS_WITH(decode_png_grey(png_of_zeros(28 * 29 - 28), "short.png", nullptr, 1000),
                      "short.png: a damaged PNG file (its image data inflates to 784 bytes, where its header needs 812)");
    CHECK_THROWS_WITH(decode_png_grey(png_of_zeros(28 * 29) + "trailing", "tail.png", nullptr, 1000),
                      "tail.png: 8 bytes after the PNG file's end (its IEND chunk)");
    // a bit flipped inside the IDAT data: its CRC no longer matches (33.21); stb_image reads no CRC
    std::string flipped = png_of_zeros(28 * 29);
    flipped[33 + 8 + 3] ^= 0x01;
    CHECK_THROWS_WITH(decode_png_grey(flipped, "crc.png", nullptr, 1000),
                      "crc.png: a damaged PNG file (the CRC of the IDAT chunk at byte 33 does not match its bytes)");

    // a folder reads each file with the per-file bound, one at a time
    TempDir tmp("png_limits");
    std::filesystem::create_directories(tmp.dir / "f");
    write_file_atomic((tmp.dir / "f" / "a.png").string(), png_of_zeros(28 * 29));
    std::vector<int64_t> asked;
    const ImageSet s = images_from_png_folder((tmp.dir / "f").string(), [&](const std::string& p, int64_t max_bytes) {
        asked.push_back(max_bytes);
        return read_file(p, max_bytes);
    }, 10);
    CHECK(s.n == 1);
    CHECK(asked == std::vector<int64_t>{kMaxPngFileBytes});
}

TEST_CASE("image files: a PNG folder in name order, a grid and an IDX3 file of images") {
    TempDir tmp("png_folder");
    std::filesystem::create_directories(tmp.dir / "f");
    std::vector<uint8_t> a(4 * 3, 0), b(4 * 3, 255);
    write_file_atomic((tmp.dir / "f" / "b.png").string(), encode_png_grey(b.data(), 4, 3));
    write_file_atomic((tmp.dir / "f" / "a.PNG").string(), encode_png_grey(a.data(), 4, 3));
    write_file_atomic((tmp.dir / "f" / ".DS_Store").string(), "x");
    const ImageSet s = images_from_png_folder((tmp.dir / "f").string(), [](const std::string& p, int64_t max_bytes) { return read_file(p, max_bytes); }, 10);
    REQUIRE(s.n == 2);
    CHECK(s.w == 4);
    CHECK(s.h == 3);
    CHECK(s.x[0] == -1.0f);    // a.PNG first
    CHECK(s.x[12] == 1.0f);
    CHECK_THROWS_WITH(images_from_png_folder((tmp.dir / "f").string(), [](const std::string& p, int64_t max_bytes) { return read_file(p, max_bytes); }, 1),
                      doctest::Contains(": more than 1 PNG files, the most that is read"));

    // the IDX3 bytes read back as the same images; the grid is (cols (w + 2) + 2) wide
    const std::string idx = idx_bytes_of_images(s.x.data(), 2, 3, 4);
    const ImageSet back = images_from_idx_bytes(idx, "s.idx");
    CHECK(back.x == s.x);
    PngInfo info = png_info(png_grid_bytes(s.x.data(), 2, 3, 4, 2), "grid.png");
    CHECK(info.width == 2 * 6 + 2);
    CHECK(info.height == 3 + 4);
}
