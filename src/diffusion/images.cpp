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

}  // namespace ddpm
