// The thread pool behind parallel_for (parallel.hpp says what it promises).
//
// Why not an OpenMP team: GNU OpenMP's threads spin between and inside regions, and a team
// waits at a barrier for its slowest member. On a machine whose cores are busy with other
// work, a spinning thread takes the core its own team-mate needs, and one descheduled
// thread holds the whole call, which then takes several times as long as on one thread.
// Here helpers sleep when idle, tasks are claimed one at a time from a shared counter (a
// helper that never wakes up claims nothing), and the calling thread always works, so a
// call waits for a descheduled helper only to finish the one task it holds.
#include "gensample/parallel.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

namespace gensample {

bool have_openmp() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

int hardware_threads() {
#if defined(_OPENMP)
    return std::max(1, omp_get_num_procs());  // the affinity mask, as the runtime counts it
#elif defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
#else
    return std::max(1u, std::thread::hardware_concurrency());
#endif
}

int ecosystem_threads() {
#ifdef _OPENMP
    return std::max(1, omp_get_max_threads());
#else
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
        const int n = std::atoi(env);  // "4" or "4,2" (the outermost level first)
        if (n > 0) return n;
    }
    return hardware_threads();
#endif
}

std::atomic<int>& default_threads() {
    static std::atomic<int> n{0};
    return n;
}

std::atomic<int>& process_share() {
    static std::atomic<int> n{0};
    return n;
}

int resolve_threads(int n_threads) {
    if (n_threads > 0) return n_threads;
    const int chosen = default_threads().load(std::memory_order_relaxed);
    if (chosen > 0) return chosen;
    const int share = process_share().load(std::memory_order_relaxed);
    const int limit = ecosystem_threads();
    return share > 0 ? std::min(share, limit) : limit;
}

namespace detail {
namespace {

// One call of parallel_for. Tasks are handed out by `next`; `in_flight` counts the threads
// between a claim and the end of its task, so the caller waits for tasks, never for a helper
// that holds none. Helpers keep the job alive (shared_ptr) until they let go of it: one that
// wakes after the call has returned can only fail to claim, and never touches `context`.
struct Job {
    Job(int64_t n, TaskFn f, void* c, int helpers) : n_tasks(n), fn(f), context(c), helpers_wanted(helpers) {}

    const int64_t n_tasks;
    const TaskFn fn;
    void* const context;
    const int helpers_wanted;
    int helpers_joined = 0;  // under Pool::mutex_
    std::atomic<int64_t> next{0};
    std::atomic<int> in_flight{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;  // guards error; pairs with idle
    std::condition_variable idle;
    std::exception_ptr error;

    // in_flight goes up before the task is taken: once the caller's own claim has failed,
    // every thread that took a task is counted (acq_rel on `next` orders the two).
    bool claim(int64_t& t) {
        if (failed.load(std::memory_order_relaxed)) return false;
        in_flight.fetch_add(1, std::memory_order_acq_rel);
        t = next.fetch_add(1, std::memory_order_acq_rel);
        if (t < n_tasks) return true;
        leave();
        return false;
    }
    void run(int64_t t) {
        try {
            fn(context, t);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!error) error = std::current_exception();
            failed.store(true, std::memory_order_relaxed);
        }
        leave();
    }
    void leave() {
        if (in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex);  // the waiter holds it between test and wait
            idle.notify_all();
        }
    }
    void wait_for_tasks() {
        std::unique_lock<std::mutex> lock(mutex);
        idle.wait(lock, [&] { return in_flight.load(std::memory_order_acquire) == 0; });
    }
    bool wants_helper() const {
        return helpers_joined < helpers_wanted && next.load(std::memory_order_relaxed) < n_tasks &&
               !failed.load(std::memory_order_relaxed);
    }
};

thread_local bool t_in_call = false;  // a pool worker, or a thread inside run_tasks

class Pool {
  public:
    // Offers the job to up to job->helpers_wanted helpers beside the calling thread.
    void open(const std::shared_ptr<Job>& job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            while (workers_ < job->helpers_wanted) {  // the pool grows to the largest call's need
                std::thread(&Pool::work, this).detach();
                ++workers_;
            }
            jobs_.push_back(job);
        }
        if (job->helpers_wanted == 1) {
            work_cv_.notify_one();
        } else {
            work_cv_.notify_all();
        }
    }

    // No helper joins after this.
    void close(const std::shared_ptr<Job>& job) {
        std::lock_guard<std::mutex> lock(mutex_);
        jobs_.erase(std::find(jobs_.begin(), jobs_.end(), job));
    }

    // After fork() the child has none of the workers: a new pool, the old one left as it was
    // (its lock and condition variable may name threads that do not exist there).
    static Pool*& instance() {
        static Pool* pool = make();
        return pool;
    }

  private:
    static Pool* make() {
#if defined(__unix__) || defined(__APPLE__)
        pthread_atfork([] { instance()->mutex_.lock(); }, [] { instance()->mutex_.unlock(); },
                       [] { instance() = new Pool(); });
#endif
        return new Pool();  // never destroyed: detached workers may still wait on it at exit
    }

    std::shared_ptr<Job> find() {
        for (const auto& job : jobs_) {
            if (job->wants_helper()) return job;
        }
        return nullptr;
    }

    void work() {
        t_in_call = true;  // a task that calls parallel_for runs it on this thread alone
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            std::shared_ptr<Job> job = find();
            if (!job) {
                work_cv_.wait(lock);
                continue;
            }
            ++job->helpers_joined;
            lock.unlock();
            for (int64_t t; job->claim(t);) job->run(t);
            job.reset();  // the last reference may go here, outside the pool's lock
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable work_cv_;
    std::vector<std::shared_ptr<Job>> jobs_;
    int workers_ = 0;
};

// Polls the interrupt hook at most every millisecond: the hook may take the interpreter's lock.
class InterruptPoller {
  public:
    void operator()(Job& job) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(1)) return;
        last_ = now;
        try {
            poll_interrupt();
        } catch (...) {
            std::lock_guard<std::mutex> lock(job.mutex);
            if (!job.error) job.error = std::current_exception();
            job.failed.store(true, std::memory_order_relaxed);
        }
    }

  private:
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace

void run_tasks(int64_t n_tasks, int threads, TaskFn fn, void* context) {
    struct CallingThread {  // restores the flags on exit (nested calls, exceptions)
        bool calling = is_calling_thread(), in_call = t_in_call;
        CallingThread() { is_calling_thread() = true; }
        ~CallingThread() {
            is_calling_thread() = calling;
            t_in_call = in_call;
        }
    } calling_thread;

    poll_interrupt();
    // Nested calls (a task that calls parallel_for) run on their thread alone.
    const int helpers = t_in_call ? 0 : int(std::min<int64_t>(threads, n_tasks) - 1);
    t_in_call = true;
    const auto job = std::make_shared<Job>(n_tasks, fn, context, helpers);
    InterruptPoller poll;
    if (helpers > 0) Pool::instance()->open(job);
    for (int64_t t; job->claim(t);) {
        job->run(t);
        poll(*job);
    }
    if (helpers > 0) {
        Pool::instance()->close(job);
        job->wait_for_tasks();
    }
    if (job->error) std::rethrow_exception(job->error);
    poll_interrupt();
}

}  // namespace detail
}  // namespace gensample
