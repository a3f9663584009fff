// libFuzzer target: the PNG reader (store/png.h's decode_png_grey, through stb_image, what the tool's
// PNG folders use) on any bytes. Built by `make fuzz` with clang's -fsanitize=fuzzer,address,undefined.
//
// A refusal must be one line naming the file; an accepted file must give as many grey bytes as its
// header's width x height, and those bytes, written again by encode_png_grey and read back, must be
// the same.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/png.h"
#include "one_line.h"

namespace {
const char kSource[] = "fuzz.png";
const int64_t kMaxPixels = int64_t(1) << 20;  // what one input may decode to (the reader checks the header)
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        ddpm::PngInfo info;
        const std::vector<uint8_t> grey = ddpm::decode_png_grey(bytes, kSource, &info, kMaxPixels);
        if (info.width < 1 || info.height < 1 || int64_t(info.width) * info.height > kMaxPixels) std::abort();
        if (int64_t(grey.size()) != int64_t(info.width) * info.height) std::abort();
        const std::string again = ddpm::encode_png_grey(grey.data(), info.width, info.height);
        ddpm::PngInfo info2;
        if (ddpm::decode_png_grey(again, kSource, &info2, kMaxPixels) != grey) std::abort();
        if (info2.width != info.width || info2.height != info.height || info2.channels != 1) std::abort();
    } catch (const std::runtime_error& e) {
        if (!fuzzing::one_line_naming(e.what(), kSource)) std::abort();
    }
    return 0;
}
