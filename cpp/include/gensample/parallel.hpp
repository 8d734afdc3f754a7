// Threads, interrupts and exceptions for every kernel (docs/design.md, "Threads").
//
// parallel_for cuts [0, n) into tasks of `grain` items. The calling thread and up to
// threads - 1 helpers from one process-wide pool claim tasks from a shared counter until
// none are left, so a helper that the OS does not schedule (a busy machine, another job)
// holds no work back: the others take its share. Helpers that find no work sleep on a
// condition variable instead of spinning, so they never burn a core that another thread
// or process needs. Kernels compute every item as a pure function of its index, so the
// result never depends on the number of threads or on which thread ran which task.
//
// The calling thread polls the interrupt hook between its tasks, so Ctrl-C stops long work
// promptly. The first exception thrown by any task is captured, the remaining tasks are
// skipped, and it is rethrown on the calling thread once no task is in flight: nothing
// escapes a worker thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>

namespace gensample {

// Thrown when the interrupt hook reports a pending interrupt.
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

// Set by the bindings (the core knows nothing of Python). Returns true when the work
// should stop. Called only on the thread that called parallel_for.
using InterruptHook = bool (*)();

inline std::atomic<InterruptHook>& interrupt_hook() {
    static std::atomic<InterruptHook> hook{nullptr};
    return hook;
}

// Set when a task saw an interrupt (interrupt_requested_in_task); the next poll throws.
inline std::atomic<bool>& interrupt_seen() {
    static std::atomic<bool> seen{false};
    return seen;
}

inline void poll_interrupt() {
    if (interrupt_seen().exchange(false, std::memory_order_relaxed)) throw Interrupted{};
    if (InterruptHook hook = interrupt_hook().load(std::memory_order_relaxed)) {
        if (hook()) throw Interrupted{};
    }
}

// True on the thread that called the innermost parallel_for (set for its duration).
inline bool& is_calling_thread() {
    static thread_local bool calling = false;
    return calling;
}

// For tasks that can run long on their own (rejection loops): polls on the calling thread
// only, where the hook may take the interpreter's lock; other threads return false.
inline void poll_interrupt_in_task() {
    if (is_calling_thread()) poll_interrupt();
}

// The same without throwing, for kernels inside the dispatch clones (dispatch.hpp): GCC's
// unwinder aborts the process on an exception thrown through some of them, so they return
// early when this says so, and parallel_for throws Interrupted afterwards. Once one task
// has seen the interrupt, every other task sees it too and stops at its next check.
inline bool interrupt_requested_in_task() {
    if (interrupt_seen().load(std::memory_order_relaxed)) return true;
    if (!is_calling_thread()) return false;
    InterruptHook hook = interrupt_hook().load(std::memory_order_relaxed);
    if (hook && hook()) {
        interrupt_seen().store(true, std::memory_order_relaxed);
        return true;
    }
    return false;
}

// Cores this process may run on (its CPU affinity), at least 1.
int hardware_threads();

// The ecosystem's limit for a call from this thread: the OpenMP runtime's nthreads ICV,
// which OMP_NUM_THREADS sets and threadpoolctl changes (per thread, as for every OpenMP
// library); without OpenMP, OMP_NUM_THREADS or else hardware_threads().
int ecosystem_threads();

// gensample.set_num_threads(): 0 means "not set".
std::atomic<int>& default_threads();

// The share of the cores a worker process takes by default (gensample.threads sets 1 in
// a multiprocessing child when the environment names no limit); 0 means "no share set".
std::atomic<int>& process_share();

// n_threads > 0: that many. 0: set_num_threads(), else the ecosystem's limit, capped by
// the process share.
int resolve_threads(int n_threads);

// Whether this build links an OpenMP runtime, whose limits (OMP_NUM_THREADS, threadpoolctl)
// the default thread count follows; without one the pool still runs threads.
bool have_openmp();

namespace detail {
using TaskFn = void (*)(void* context, int64_t task);
// Runs fn(context, t) for every t in [0, n_tasks) on up to `threads` threads (parallel.cpp).
void run_tasks(int64_t n_tasks, int threads, TaskFn fn, void* context);
}  // namespace detail

// Runs body(begin, end) over consecutive ranges covering [0, n).
// `grain` items make one task; size it to tens of microseconds of work.
template <class Body>
void parallel_for(int64_t n, int64_t grain, int n_threads, Body&& body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    struct Range {
        Body* body;
        int64_t n, grain;
    } range{&body, n, grain};
    detail::run_tasks((n + grain - 1) / grain, resolve_threads(n_threads),
                      [](void* context, int64_t t) {
                          const Range& r = *static_cast<const Range*>(context);
                          const int64_t first = t * r.grain;
                          (*r.body)(first, std::min(r.n, first + r.grain));
                      },
                      &range);
}

}  // namespace gensample
