// fast/allocator.cpp: allocator tuning (glibc only; elsewhere this file does nothing).
//
// A training step frees every activation and gradient and allocates them again the next step. By
// default glibc hands freed memory above 128 KiB back to the kernel, so each step page-faults its
// buffers in again; on this project's machines the faults cost more than the arithmetic
// (docs/performance.md). Keeping blocks up to 32 MiB and up to 1.5 GiB of free heap avoids it (the
// U-Net's activations need the larger figure). No value computed anywhere depends on it.
#include <cstdlib>  // first: it defines __GLIBC__ on glibc, which the test below needs
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fast/allocator.h"

namespace ddpm {
namespace {

#ifdef __GLIBC__
const bool kAllocatorTuned = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1536 << 20) == 1;
#else
const bool kAllocatorTuned = false;
#endif

}  // namespace

bool allocator_tuned() { return kAllocatorTuned; }

}  // namespace ddpm
