#include "diffusion/images.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"

namespace ddpm {

float byte_to_unit(uint8_t b) { return float(b) / 127.5f - 1.0f; }

uint8_t unit_to_byte(float x) {
    const float v = std::nearbyint((x + 1.0f) * 127.5f);
    return uint8_t(std::min(255.0f, std::max(0.0f, v)));
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
