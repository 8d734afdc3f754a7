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
#include <mutex>
#include <new>
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

// One call of parallel_for: tasks handed out by `next`, helpers counted under the pool's lock.
struct Job {
    Job(int64_t n, TaskFn f, void* c, int helpers) : n_tasks(n), fn(f), context(c), helpers_wanted(helpers) {}

    const int64_t n_tasks;
    const TaskFn fn;
    void* const context;
    const int helpers_wanted;
    int helpers_joined = 0;  // under Pool::mutex
    int helpers_active = 0;  // under Pool::mutex
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::exception_ptr error;

    bool claim(int64_t& t) {
        if (failed.load(std::memory_order_relaxed)) return false;
        t = next.fetch_add(1, std::memory_order_relaxed);
        return t < n_tasks;
    }
    void fail(std::exception_ptr e) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = e;
        failed.store(true, std::memory_order_relaxed);
    }
    void run(int64_t t) {
        try {
            fn(context, t);
        } catch (...) {
            fail(std::current_exception());
        }
    }
    bool wants_helper() const {
        return helpers_joined < helpers_wanted && next.load(std::memory_order_relaxed) < n_tasks &&
               !failed.load(std::memory_order_relaxed);
    }
};

thread_local bool t_in_call = false;  // a pool worker, or a thread inside run_tasks

class Pool {
public:
    // Runs the job with up to job.helpers_wanted helpers beside the calling thread.
    void open(Job& job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            while (workers_ < job.helpers_wanted) {  // the pool grows to the largest call's need
                std::thread(&Pool::work, this).detach();
                ++workers_;
            }
            jobs_.push_back(&job);
        }
        if (job.helpers_wanted == 1) {
            work_cv_.notify_one();
        } else {
            work_cv_.notify_all();
        }
    }

    // No helper joins after this; returns once those that joined have left.
    void close(Job& job) {
        std::unique_lock<std::mutex> lock(mutex_);
        jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
        done_cv_.wait(lock, [&] { return job.helpers_active == 0; });
    }

    // After fork() the child has none of the workers: a new pool, the old one left as it was
    // (its lock and condition variables may name threads that do not exist there).
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

    Job* find() {
        for (Job* job : jobs_) {
            if (job->wants_helper()) return job;
        }
        return nullptr;
    }

    void work() {
        t_in_call = true;  // a task that calls parallel_for runs it on this thread alone
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            Job* job = find();
            if (job == nullptr) {
                work_cv_.wait(lock);
                continue;
            }
            ++job->helpers_joined;
            ++job->helpers_active;
            lock.unlock();
            for (int64_t t; job->claim(t);) job->run(t);
            lock.lock();
            if (--job->helpers_active == 0) done_cv_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable work_cv_, done_cv_;
    std::vector<Job*> jobs_;
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
            job.fail(std::current_exception());
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
    Job job(n_tasks, fn, context, helpers);
    InterruptPoller poll;
    if (helpers > 0) Pool::instance()->open(job);
    for (int64_t t; job.claim(t);) {
        job.run(t);
        poll(job);
    }
    if (helpers > 0) Pool::instance()->close(job);
    if (job.error) std::rethrow_exception(job.error);
    poll_interrupt();
}

}  // namespace detail
}  // namespace gensample
