// _core.threads: thread counts and interrupts (parallel.hpp).
#include <Python.h>

#include "common.hpp"
#include "gensample/parallel.hpp"

namespace gensample::bindings {
namespace {

// Python runs signal handlers on its main thread only; elsewhere there is nothing to poll,
// and taking the interpreter's lock could wait behind another Python thread.
unsigned long main_thread_ident = 0;

// Called by parallel_for between tasks, on the thread that released the GIL.
bool python_interrupt_pending() {
    if (PyThread_get_thread_ident() != main_thread_ident) return false;
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;  // leaves KeyboardInterrupt (or the handler's error) set
}

}  // namespace

void register_threads(py::module_& m) {
    main_thread_ident = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
    interrupt_hook().store(&python_interrupt_pending);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Interrupted&) {
            if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
        }
    });

    m.def(
        "set_default", [](int n) { default_threads().store(n); }, py::arg("n"),
        "Default thread count for calls without n_threads; 0 means all cores.");
    m.def("get_default", [] { return default_threads().load(); });
    m.def(
        "set_process_share", [](int n) { process_share().store(n); }, py::arg("n"),
        "Threads a worker process takes by default when nothing else is set; 0: no share.");
    m.def("get_process_share", [] { return process_share().load(); });
    m.def("ecosystem", &ecosystem_threads,
          "The OpenMP limit for calls from this thread (OMP_NUM_THREADS, threadpoolctl).");
    m.def("resolve", &resolve_threads, py::arg("n_threads"),
          "Threads a call with this n_threads uses (0: the default).");
    m.def("hardware", &hardware_threads);
    m.def("have_openmp", &have_openmp);
    m.def(
        "_throw_in_parallel",
        [](int64_t n, int64_t bad_item, int n_threads) {
            py::gil_scoped_release release;
            parallel_for(n, 1000, n_threads, [&](int64_t a, int64_t b) {
                if (a <= bad_item && bad_item < b) {
                    throw std::invalid_argument("item " + std::to_string(bad_item) + " failed");
                }
            });
        },
        py::arg("n"), py::arg("bad_item"), py::arg("n_threads"),
        "Test hook: a parallel loop whose task holding bad_item throws.");
}

}  // namespace gensample::bindings
