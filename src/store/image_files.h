// image_files.h: image data sets from files and back, as the ddpm tool reads and writes them.
//
// Two sources: an IDX3 ubyte file (MNIST's format, store/idx.h: count x height x width bytes) or a
// folder of PNG files of one size (store/png.h; colour is turned to grey, alpha dropped). Pixels are
// scaled to [-1, 1] as images.h says. Two outputs: a PNG grid of images and an IDX3 file.
//
// The readers take the file's bytes from a `read` function of the caller (the tool reads through one
// descriptor with its own limits, platform.h); every refusal is one line naming the file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "diffusion/images.h"
#include "store/idx.h"

namespace ddpm {

// Reads the whole of a file of at most max_bytes (and fails with one line naming it when it cannot,
// or when the file is larger).
using ReadFile = std::function<std::string(const std::string& path, int64_t max_bytes)>;

// The most bytes of one PNG file of a folder: a grey 28 x 28 image needs under 1 kB, a 16-bit RGBA
// one 6.3 kB; the rest is room for ancillary chunks (a colour profile, text).
inline constexpr int64_t kMaxPngFileBytes = int64_t(1) << 20;

// Images of an IDX3 file (count, h, w), grey, and optionally their labels (an IDX1 file of as many
// entries); max_n > 0 keeps the first max_n. `source` names the files in errors.
ImageSet images_from_idx(const IdxArray& images, const IdxArray* labels, const std::string& source, int max_n = 0);

// True when the bytes start as an IDX file does (two zero bytes: no CSV or PNG file starts so).
bool looks_like_idx(const std::string& bytes);

// The images of the bytes of an IDX3 ubyte file, scaled to [-1, 1]; `source` names it in errors.
ImageSet images_from_idx_bytes(const std::string& bytes, const std::string& source);

// Every PNG file of the folder `dir`, in the byte order of their names. Names beginning with '.' are
// skipped; any other entry that is not a regular file named *.png (any case), any PNG file of another
// size than the first, a file over kMaxPngFileBytes, and more than max_images files are refused.
// The files are read and decoded one at a time (only the pixels are kept), each file's size read
// from its header before it is decoded. want_h, want_w > 0: the size the caller takes, checked on
// the first header (`why` ends that refusal, e.g. "the networks take 28 x 28").
ImageSet images_from_png_folder(const std::string& dir, const ReadFile& read, int64_t max_images, int want_h = 0,
                                int want_w = 0, const std::string& why = "");

// The images of n (h, w) grey images in [-1, 1] as bytes (images.h's unit_to_byte), as an IDX3 file.
std::string idx_bytes_of_images(const float* x, int n, int h, int w);

// A PNG of n (h, w) grey images in [-1, 1] laid out in rows of `cols`, a `gap`-pixel mid-grey border
// around each; the bytes of the file.
std::string png_grid_bytes(const float* x, int n, int h, int w, int cols, int gap = 2);

}  // namespace ddpm
