#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// The pool's state. One job at a time. The calling thread publishes the job under a new generation
// number, wakes the workers, claims chunks itself like any worker, and returns once every chunk is
// done. It waits for chunks, not for workers: a worker the kernel has not scheduled yet (another
// program busy on the other core) simply misses the job, and the caller does the chunks alone.
//
// Chunks are claimed from `ticket` = (generation << 32) | next chunk index, by compare-and-swap, so
// a worker that wakes late can never claim a chunk of a job other than the one it saw: once the job
// is done the caller closes its ticket (index kClosed) before it writes the next job's fields.
// ---------------------------------------------------------------------------------------------
namespace {

const uint64_t kClosed = 0xffffffffu;

struct Pool {
    std::vector<std::thread> workers;
    std::mutex mutex;
    std::condition_variable wake;       // workers sleep here when there is no job for a while
    std::condition_variable finished;   // the caller sleeps here while the last chunks finish

    std::atomic<uint64_t> generation{0};
    std::atomic<bool> stopping{false};

    // The current job; written only while its ticket is closed.
    const std::function<void(int64_t)>* job = nullptr;
    std::atomic<int64_t> n_chunks{0};
    std::atomic<uint64_t> ticket{kClosed};
    std::atomic<int64_t> done_chunks{0};

    std::exception_ptr error;           // of the lowest failing chunk
    int64_t error_chunk = INT64_MAX;

    bool started = false;
    ~Pool();
};

Pool& pool() {
    static Pool p;
    return p;
}

thread_local bool inside_chunk = false;
int current_threads = 1;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Claims and runs chunks of job `gen` until none is left (or the job is no longer `gen`).
void run_chunks(Pool& p, uint64_t gen) {
    inside_chunk = true;
    uint64_t t = p.ticket.load(std::memory_order_acquire);
    for (;;) {
        if ((t >> 32) != (gen & kClosed)) break;
        const uint64_t index = t & kClosed;
        if (index == kClosed || int64_t(index) >= p.n_chunks.load(std::memory_order_relaxed)) break;
        if (!p.ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire))
            continue;  // t now holds the current ticket; look again
        const int64_t c = int64_t(index);
        try {
            (*p.job)(c);
        } catch (...) {
            std::lock_guard<std::mutex> lock(p.mutex);
            if (c < p.error_chunk) {
                p.error_chunk = c;
                p.error = std::current_exception();
            }
        }
        if (p.done_chunks.fetch_add(1, std::memory_order_acq_rel) + 1 == p.n_chunks.load(std::memory_order_relaxed)) {
            std::lock_guard<std::mutex> lock(p.mutex);
            p.finished.notify_one();
        }
        t = p.ticket.load(std::memory_order_acquire);
    }
    inside_chunk = false;
}

// `seen` is the generation at the worker's creation, read by the creating thread: a worker that
// read it itself could start late, after the first job was published, and wait for it forever.
void worker_loop(Pool& p, uint64_t seen) {
    for (;;) {
        // Spin for a while (cheap wake-up during training), then sleep on the condition variable.
        uint64_t now = seen;
        for (int spin = 0; spin < 20000; ++spin) {
            now = p.generation.load(std::memory_order_acquire);
            if (now != seen || p.stopping.load(std::memory_order_relaxed)) break;
            cpu_relax();
        }
        if (now == seen && !p.stopping.load()) {
            std::unique_lock<std::mutex> lock(p.mutex);
            p.wake.wait(lock, [&] { return p.generation.load() != seen || p.stopping.load(); });
            now = p.generation.load();
        }
        if (p.stopping.load()) return;
        seen = now;
        run_chunks(p, now);
    }
}

void stop_workers(Pool& p) {
    {
        std::lock_guard<std::mutex> lock(p.mutex);
        p.stopping = true;
    }
    p.wake.notify_all();
    for (auto& t : p.workers) t.join();
    p.workers.clear();
    p.stopping = false;
}

Pool::~Pool() { stop_workers(*this); }

// The pool starts on first use, so that a bad DDPM_THREADS is reported inside main() as one line.
void ensure_started(Pool& p) {
    if (!p.started) set_num_threads(default_num_threads());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------------------------
int default_num_threads() {
    if (const char* env = std::getenv("DDPM_THREADS")) {
        char* end = nullptr;
        long n = std::strtol(env, &end, 10);
        if (end == env || *end != '\0' || n < 1 || n > 256)
            fail(std::string("DDPM_THREADS: expected a whole number from 1 to 256, got '") + env + "'");
        return int(n);
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : int(hw);
}

void set_num_threads(int n) {
    if (n < 1 || n > 256) fail("threads: expected 1 to 256, got " + std::to_string(n));
    Pool& p = pool();
    stop_workers(p);
    p.started = true;
    current_threads = n;
    const uint64_t generation = p.generation.load();
    for (int i = 1; i < n; ++i) p.workers.emplace_back(worker_loop, std::ref(p), generation);
}

int num_threads() {
    ensure_started(pool());
    return current_threads;
}

void parallel_for(int64_t n_chunks, const std::function<void(int64_t)>& fn) {
    if (n_chunks <= 0) return;
    Pool& p = pool();
    ensure_started(p);
    if (n_chunks == 1 || p.workers.empty() || inside_chunk) {
        for (int64_t c = 0; c < n_chunks; ++c) fn(c);  // same chunks, same order of work per chunk
        return;
    }
    p.job = &fn;
    p.n_chunks.store(n_chunks, std::memory_order_relaxed);
    p.done_chunks.store(0, std::memory_order_relaxed);
    p.error = nullptr;
    p.error_chunk = INT64_MAX;
    uint64_t gen;
    {
        std::lock_guard<std::mutex> lock(p.mutex);
        gen = p.generation.load(std::memory_order_relaxed) + 1;
        p.ticket.store((gen & kClosed) << 32, std::memory_order_release);  // opens the job at chunk 0
        p.generation.store(gen, std::memory_order_release);
    }
    p.wake.notify_all();
    run_chunks(p, gen);
    // Wait for chunks that workers claimed and are still running.
    for (int spin = 0; spin < 200000 && p.done_chunks.load(std::memory_order_acquire) != n_chunks; ++spin)
        cpu_relax();
    if (p.done_chunks.load(std::memory_order_acquire) != n_chunks) {
        std::unique_lock<std::mutex> lock(p.mutex);
        p.finished.wait(lock, [&] { return p.done_chunks.load() == n_chunks; });
    }
    // Close the ticket: a worker that wakes only now finds nothing to claim, even once the next
    // job's fields are being written.
    p.ticket.store(((gen & kClosed) << 32) | kClosed, std::memory_order_release);
    p.job = nullptr;
    if (p.error) std::rethrow_exception(p.error);
}

void parallel_range(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t n_chunks = (n + grain - 1) / grain;
    parallel_for(n_chunks, [&](int64_t c) {
        int64_t begin = c * grain;
        int64_t end = begin + grain < n ? begin + grain : n;
        fn(begin, end);
    });
}

}  // namespace ddpm
