// images.h: image data sets as the image lessons and the tool use them.
//
// Pixels are float, NCHW, scaled to [-1, 1] (Ho et al. 2020, sec. 4: "scaled linearly to [-1, 1]"),
// so that they sit on the scale of the forward process's unit-variance noise. Byte 0 is -1 and byte
// 255 is +1: x = b / 127.5 - 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>


namespace ddpm {

struct ImageSet {
    int n = 0, c = 1, h = 0, w = 0;
    std::vector<float> x;     // (n, c, h, w) in [-1, 1]
    std::vector<int> labels;  // n class labels, or empty
    int64_t image_size() const { return int64_t(c) * h * w; }
    const float* image(int i) const { return x.data() + int64_t(i) * image_size(); }
};

float byte_to_unit(uint8_t b);   // b / 127.5 - 1
uint8_t unit_to_byte(float x);   // the inverse, rounded to nearest and clamped to 0..255

}  // namespace ddpm
