// fast/allocator.cpp: allocator tuning (glibc only; elsewhere this file does nothing).
//
// A training step frees every activation and gradient and allocates them again the next step. By
// default glibc hands freed memory above 128 KiB back to the kernel, so each step page-faults its
// buffers in again; on this project's machines the faults cost more than the arithmetic
// (docs/performance.md). Keeping up to 32 MiB blocks and 512 MiB of free heap avoids it. No value
// computed anywhere depends on it.
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ddpm {
namespace {

#ifdef __GLIBC__
const bool kAllocatorTuned = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
}();
#endif

}  // namespace
}  // namespace ddpm
