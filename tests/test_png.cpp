// Grey PNG files (store/png.h) and image folders (store/image_files.h): a round trip, colour to
// grey, damaged files refused with one line naming them, and the grid and IDX outputs of the tool.
#include <doctest/doctest.h>

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

}  // namespace

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

TEST_CASE("image files: a PNG folder in name order, a grid and an IDX3 file of images") {
    TempDir tmp("png_folder");
    std::filesystem::create_directories(tmp.dir / "f");
    std::vector<uint8_t> a(4 * 3, 0), b(4 * 3, 255);
    write_file_atomic((tmp.dir / "f" / "b.png").string(), encode_png_grey(b.data(), 4, 3));
    write_file_atomic((tmp.dir / "f" / "a.PNG").string(), encode_png_grey(a.data(), 4, 3));
    write_file_atomic((tmp.dir / "f" / ".DS_Store").string(), "x");
    const ImageSet s = images_from_png_folder((tmp.dir / "f").string(), [](const std::string& p) { return read_file(p); }, 10);
    REQUIRE(s.n == 2);
    CHECK(s.w == 4);
    CHECK(s.h == 3);
    CHECK(s.x[0] == -1.0f);    // a.PNG first
    CHECK(s.x[12] == 1.0f);
    CHECK_THROWS_WITH(images_from_png_folder((tmp.dir / "f").string(), [](const std::string& p) { return read_file(p); }, 1),
                      doctest::Contains(": more than 1 PNG files, the most that is read"));

    // the IDX3 bytes read back as the same images; the grid is (cols (w + 2) + 2) wide
    const std::string idx = idx_bytes_of_images(s.x.data(), 2, 3, 4);
    const ImageSet back = images_from_idx_bytes(idx, "s.idx");
    CHECK(back.x == s.x);
    PngInfo info = png_info(png_grid_bytes(s.x.data(), 2, 3, 4, 2), "grid.png");
    CHECK(info.width == 2 * 6 + 2);
    CHECK(info.height == 3 + 4);
}
