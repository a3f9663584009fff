#include "store/image_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "core/common.h"
#include "store/idx.h"
#include "store/png.h"

namespace ddpm {

bool looks_like_idx(const std::string& bytes) { return bytes.size() >= 2 && bytes[0] == 0 && bytes[1] == 0; }

ImageSet images_from_idx_bytes(const std::string& bytes, const std::string& source) {
    const IdxArray a = parse_idx(bytes, source);
    if (a.dims.size() != 3)
        fail(source + ": an IDX file of " + std::to_string(a.dims.size()) + " dimension" +
             (a.dims.size() == 1 ? "" : "s") + "; images are 3 (count, height, width)" +
             (a.dims.size() == 1 ? " (a file of labels?)" : ""));
    return images_from_idx(a, nullptr, source);
}

namespace {

bool ends_with_png(const std::string& name) {
    if (name.size() < 5) return false;
    std::string tail = name.substr(name.size() - 4);
    for (char& ch : tail) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return tail == ".png";
}

}  // namespace

ImageSet images_from_png_folder(const std::string& dir, const ReadFile& read, int64_t max_images, int want_h,
                                int want_w, const std::string& why) {
    std::error_code ec;
    std::vector<std::string> names;
    std::filesystem::directory_iterator it(dir, ec), end;
    if (ec) fail(dir + ": the folder cannot be read: " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) fail(dir + ": the folder cannot be read: " + ec.message());
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        const std::string path = it->path().string();
        std::error_code kind_ec;
        const bool regular = std::filesystem::is_regular_file(it->symlink_status(kind_ec));
        // what the entry is, when it is not a PNG file (issue 33.11)
        if (!regular && ends_with_png(name)) {
            const std::filesystem::file_status st = it->symlink_status(kind_ec);
            const char* kind = std::filesystem::is_symlink(st)   ? "a symbolic link"
                               : std::filesystem::is_fifo(st)    ? "a FIFO"
                               : std::filesystem::is_directory(st) ? "a folder"
                                                                   : "not a regular file";
            fail(path + ": " + kind + ", not a regular file; a folder of images holds regular PNG files only");
        }
        if (name.size() > 10 && name.compare(name.size() - 10, 10, ".ddpm-lock") == 0)
            fail(path + ": the lock file of a ddpm run writing into this folder of images; write the model or the "
                        "samples outside it");
        if (!regular || !ends_with_png(name))
            fail(path + ": not a .png file; a folder of images holds PNG files only (names starting with '.' aside)");
        names.push_back(name);
        if (int64_t(names.size()) > max_images)
            fail(dir + ": more than " + std::to_string(max_images) + " PNG files, the most that is read");
    }
    if (names.empty()) fail(dir + ": no PNG files in the folder");
    std::sort(names.begin(), names.end());

    // One file at a time: its header (the size, against the first file's and the caller's), then its
    // pixels; a folder's memory is its pixels and one file of at most kMaxPngFileBytes.
    ImageSet s;
    s.n = int(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        const std::string path = (std::filesystem::path(dir) / names[i]).string();
        const std::string bytes = read(path, kMaxPngFileBytes);
        const PngInfo info = png_info(bytes, path);
        if (i == 0) {
            if (want_h > 0 && want_w > 0 && (info.width != want_w || info.height != want_h))
                fail(path + ": " + std::to_string(info.width) + " x " + std::to_string(info.height) + " pixels; " + why);
            s.h = info.height;
            s.w = info.width;
            if (int64_t(s.n) * s.h * s.w > kIdxMaxValues)
                fail(dir + ": " + std::to_string(s.n) + " images of " + std::to_string(s.w) + " x " + std::to_string(s.h) +
                     " pixels, more than the " + std::to_string(kIdxMaxValues) + " pixels that are read");
            s.x.reserve(size_t(s.n) * size_t(s.image_size()));
        } else if (info.width != s.w || info.height != s.h) {
            fail(path + ": " + std::to_string(info.width) + " x " + std::to_string(info.height) + " pixels, but " +
                 names[0] + " has " + std::to_string(s.w) + " x " + std::to_string(s.h) +
                 "; the images of a folder must all have one size");
        }
        for (uint8_t b : decode_png_grey(bytes, path, nullptr, s.image_size())) s.x.push_back(byte_to_unit(b));
    }
    return s;
}

std::string idx_bytes_of_images(const float* x, int n, int h, int w) {
    IdxArray a;
    a.dims = {n, h, w};
    a.data.resize(size_t(n) * size_t(h) * size_t(w));
    for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = unit_to_byte(x[i]);
    return serialize_idx(a);
}

std::string png_grid_bytes(const float* x, int n, int h, int w, int cols, int gap) {
    cols = std::max(1, std::min(cols, n));
    const int rows = (n + cols - 1) / cols;
    const int width = cols * (w + gap) + gap, height = rows * (h + gap) + gap;
    std::vector<uint8_t> pixels(size_t(width) * size_t(height), 128);
    for (int k = 0; k < n; ++k) {
        const int top = gap + (k / cols) * (h + gap), left = gap + (k % cols) * (w + gap);
        for (int y = 0; y < h; ++y)
            for (int xx = 0; xx < w; ++xx)
                pixels[size_t(top + y) * size_t(width) + size_t(left + xx)] =
                    unit_to_byte(x[(int64_t(k) * h + y) * w + xx]);
    }
    return encode_png_grey(pixels.data(), width, height);
}

ImageSet images_from_idx(const IdxArray& images, const IdxArray* labels, const std::string& source, int max_n) {
    if (images.dims.size() != 3)
        fail(source + ": expected images as 3 dimensions (count, height, width), got " +
             std::to_string(images.dims.size()));
    ImageSet s;
    s.n = images.dims[0];
    s.h = images.dims[1];
    s.w = images.dims[2];
    if (labels) {
        if (labels->dims.size() != 1 || labels->dims[0] != s.n)
            fail(source + ": the labels do not match the images (" + std::to_string(labels->data.size()) +
                 " labels for " + std::to_string(s.n) + " images)");
    }
    if (max_n > 0) s.n = std::min(s.n, max_n);
    s.x.resize(size_t(s.n) * size_t(s.image_size()));
    for (size_t i = 0; i < s.x.size(); ++i) s.x[i] = byte_to_unit(images.data[i]);
    if (labels) s.labels.assign(labels->data.begin(), labels->data.begin() + s.n);
    return s;
}

}  // namespace ddpm
