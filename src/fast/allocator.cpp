// fast/allocator.cpp: allocator tuning (glibc only; elsewhere this file does nothing).
//
// A training step frees every activation and gradient and allocates them again the next step. By
// default glibc hands freed memory above 128 KiB back to the kernel, so each step page-faults its
// buffers in again; on this project's machines the faults cost more than the arithmetic
// (docs/performance.md). Keeping up to 1.5 GiB of free heap and taking no block by mmap avoids it
// (the U-Net's activations are blocks of 38.5 MB, above glibc's largest mmap threshold, and about
// 1 GB in all). No value computed anywhere depends on it.
#include <cstdlib>  // first: it defines __GLIBC__ on glibc, which the test below needs
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fast/allocator.h"

namespace ddpm {
namespace {

#ifdef __GLIBC__
const bool kAllocatorTuned = mallopt(M_TRIM_THRESHOLD, 1536 << 20) == 1 && mallopt(M_MMAP_MAX, 0) == 1;
#else
const bool kAllocatorTuned = false;
#endif

}  // namespace

bool allocator_tuned() { return kAllocatorTuned; }

}  // namespace ddpm
