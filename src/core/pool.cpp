#include "core/pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <signal.h>
#endif
#include <vector>

#include "core/common.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// The pool's state. One job at a time. The calling thread publishes the job under a new generation
// number, wakes the workers, claims chunks itself like any worker, and returns once every chunk is
// done. It waits for chunks, not for workers: a worker the kernel has not scheduled yet (another
// program busy on the other core) simply misses the job, and the caller does the chunks alone.
//
// Chunks are claimed from `ticket` = generation (32 bits) | front (16) | back (16), by compare-and-
// swap. The caller takes chunks from the front (0, 1, 2, ...), workers from the back (n-1, n-2, ...),
// until the two meet: with two threads each keeps roughly the same half of the rows from one call
// to the next, so the rows it writes stay in its own cache (handing out chunks alternately made two
// threads barely faster than one on a matrix product). A worker that wakes late can never claim a
// chunk of a job other than the one it saw: once a job is done the caller closes its ticket (front
// and back at their maximum) before it writes the next job's fields.
// ---------------------------------------------------------------------------------------------
namespace {

const uint64_t kHalf = 0xffff;             // front and back counters: 16 bits each
const int64_t kMaxChunks = 0xffff;         // chunks per job; parallel_for splits larger jobs
const uint64_t kClosedCounters = 0xffffffffu;

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
    std::atomic<uint64_t> ticket{kClosedCounters};
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

// Claims and runs chunks of job `gen` until none is left (or the job is no longer `gen`): from the
// front for the caller, from the back for a worker.
void run_chunks(Pool& p, uint64_t gen, bool from_front) {
    inside_chunk = true;
    uint64_t t = p.ticket.load(std::memory_order_acquire);
    for (;;) {
        if ((t >> 32) != (gen & 0xffffffffu)) break;
        const int64_t front = int64_t((t >> 16) & kHalf), back = int64_t(t & kHalf);
        const int64_t n = p.n_chunks.load(std::memory_order_relaxed);
        if (front + back >= n) break;
        const uint64_t next = from_front ? t + (uint64_t(1) << 16) : t + 1;
        if (!p.ticket.compare_exchange_weak(t, next, std::memory_order_acq_rel, std::memory_order_acquire))
            continue;  // t now holds the current ticket; look again
        const int64_t c = from_front ? front : n - 1 - back;
        try {
            (*p.job)(c);
        } catch (...) {
            std::lock_guard<std::mutex> lock(p.mutex);
            if (c < p.error_chunk) {
                p.error_chunk = c;
                p.error = std::current_exception();
            }
        }
        if (p.done_chunks.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
            std::lock_guard<std::mutex> lock(p.mutex);
            p.finished.notify_one();
        }
        t = p.ticket.load(std::memory_order_acquire);
    }
    inside_chunk = false;
}

// Workers never take SIGINT or SIGTERM: a program's handler then always runs on the thread that
// is doing the program's own work (the tool's handlers remove the files it is writing and print its
// last line, and must not run beside code that is creating a file or printing). The creating thread
// blocks them while it starts the workers, so that each worker is born with them blocked: a worker
// that blocked them itself, once scheduled, left a window in which a signal sent to the process
// could land on it (under load, after the main thread had printed its first line; the handler's line
// and the main thread's then came out in either order). POSIX only; elsewhere nothing to do.
class StopSignalsBlocked {
 public:
    StopSignalsBlocked() {
#if defined(__unix__) || defined(__APPLE__)
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &stop, &saved_);
#endif
    }
    ~StopSignalsBlocked() {
#if defined(__unix__) || defined(__APPLE__)
        pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
#endif
    }
    StopSignalsBlocked(const StopSignalsBlocked&) = delete;
    StopSignalsBlocked& operator=(const StopSignalsBlocked&) = delete;

 private:
#if defined(__unix__) || defined(__APPLE__)
    sigset_t saved_;
#endif
};

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
        run_chunks(p, now, false);
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
    const StopSignalsBlocked born_blocked;  // the workers inherit this thread's mask; restored after
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
    if (n_chunks > kMaxChunks) {  // more chunks than a ticket counts: one job per kMaxChunks
        for (int64_t base = 0; base < n_chunks; base += kMaxChunks)
            parallel_for(std::min(kMaxChunks, n_chunks - base), [&](int64_t c) { fn(base + c); });
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
        gen = (p.generation.load(std::memory_order_relaxed) + 1) & 0xffffffffu;
        p.ticket.store(gen << 32, std::memory_order_release);  // opens the job: front = back = 0
        p.generation.store(gen, std::memory_order_release);
    }
    p.wake.notify_all();
    run_chunks(p, gen, true);
    // Wait for chunks that workers claimed and are still running.
    for (int spin = 0; spin < 200000 && p.done_chunks.load(std::memory_order_acquire) != n_chunks; ++spin)
        cpu_relax();
    if (p.done_chunks.load(std::memory_order_acquire) != n_chunks) {
        std::unique_lock<std::mutex> lock(p.mutex);
        p.finished.wait(lock, [&] { return p.done_chunks.load() == n_chunks; });
    }
    // Close the ticket: a worker that wakes only now finds nothing to claim, even once the next
    // job's fields are being written.
    p.ticket.store((gen << 32) | kClosedCounters, std::memory_order_release);
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
