// pool.h: one persistent thread pool for the whole program.
//
// Why the results never depend on the thread count:
//   - the caller cuts the work into chunks whose boundaries depend only on the problem size
//     (a fixed grain), never on how many threads there are;
//   - each output element is written by exactly one chunk, always with the same order of operations;
//   - where chunks produce partial sums, the caller stores them per chunk and adds them up in chunk
//     order afterwards (see sum_chunked in kernels.cpp).
// Which thread runs which chunk is left to chance (the caller claims chunks from the front, workers
// from the back, of one atomic ticket; see pool.cpp), and that is harmless because of the three
// rules above. tests/test_pool.cpp checks a whole training step
// bit for bit with 1, 2 and 3 threads.
//
// Why persistent: starting a std::thread per operation costs more than the operation itself (a trial
// on this machine made 2 threads slower than 1). The workers are started once, spin for a short while
// after each job (most jobs follow each other within microseconds during training) and then sleep.
// The caller waits for the chunks, never for a worker: one that is not running (another program has
// the core) just misses the job. docs/performance.md tells what each of these choices measured.
#pragma once

#include <cstdint>
#include <functional>

namespace ddpm {

// Number of threads: DDPM_THREADS if set, else the hardware's. Lessons also take --threads N.
int default_num_threads();

// Restarts the pool with n threads in all (the calling thread counts as one). n >= 1.
void set_num_threads(int n);
int num_threads();

// Runs fn(chunk) for every chunk in [0, n_chunks), on the pool. Returns when all are done.
// An exception thrown by a chunk is re-thrown here, on the calling thread (the one of the lowest
// chunk index wins). A call from inside a chunk runs serially (no nested parallelism).
void parallel_for(int64_t n_chunks, const std::function<void(int64_t)>& fn);

// Convenience: splits [0, n) into chunks of `grain` items (the last may be shorter) and calls
// fn(begin, end) for each. When n <= grain the work stays on the calling thread: small ops are not
// worth waking anybody for.
void parallel_range(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace ddpm
