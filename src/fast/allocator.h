// allocator.h: whether fast/allocator.cpp tuned glibc's malloc at start-up (false elsewhere).
#pragma once

namespace ddpm {
bool allocator_tuned();
}  // namespace ddpm
