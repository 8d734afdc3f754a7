// Threads, interrupts and exceptions for every kernel (DESIGN.md, "Threads and the GIL").
//
// parallel_for cuts [0, n) into tasks of `grain` items and runs them in batches. Between
// batches the calling thread polls the interrupt hook, so Ctrl-C stops long work promptly.
// The first exception thrown by any task is captured and rethrown on the calling thread
// after the batch: nothing escapes an OpenMP region. Kernels compute every item as a pure
// function of its index, so the result never depends on the number of threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

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
// early when this says so, and parallel_for throws Interrupted after the batch. Once one
// task has seen the interrupt, every other task sees it too and stops at its next check.
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

inline bool have_openmp() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

inline int hardware_threads() {
#ifdef _OPENMP
    return std::max(1, omp_get_num_procs());
#else
    return 1;
#endif
}

// 0 means "all cores".
inline std::atomic<int>& default_threads() {
    static std::atomic<int> n{0};
    return n;
}

inline int resolve_threads(int n_threads) {
    if (!have_openmp()) return 1;
    if (n_threads > 0) return n_threads;
    const int n = default_threads().load(std::memory_order_relaxed);
    return n > 0 ? n : hardware_threads();
}

// Runs body(begin, end) over consecutive ranges covering [0, n).
// `grain` items make one task; size it to tens of microseconds of work.
template <class Body>
void parallel_for(int64_t n, int64_t grain, int n_threads, Body&& body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    const int threads = resolve_threads(n_threads);
    const int64_t n_tasks = (n + grain - 1) / grain;
    const int64_t batch = int64_t(threads) * 16;
    struct CallingThread {  // restores the flag on exit (nested calls, exceptions)
        bool saved = is_calling_thread();
        CallingThread() { is_calling_thread() = true; }
        ~CallingThread() { is_calling_thread() = saved; }
    } calling_thread;

    for (int64_t first = 0; first < n_tasks; first += batch) {
        poll_interrupt();
        const int64_t last = std::min(n_tasks, first + batch);
        if (threads == 1 || last - first == 1) {
            for (int64_t t = first; t < last; ++t) body(t * grain, std::min(n, (t + 1) * grain));
            continue;
        }
        std::exception_ptr error;
        std::atomic<bool> failed{false};
        std::mutex error_mutex;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
        for (int64_t t = first; t < last; ++t) {
            if (failed.load(std::memory_order_relaxed)) continue;
            try {
                body(t * grain, std::min(n, (t + 1) * grain));
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                failed.store(true, std::memory_order_relaxed);
            }
        }
        if (error) std::rethrow_exception(error);
    }
    poll_interrupt();
}

}  // namespace gensample
