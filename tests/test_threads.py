"""The default thread count follows the ecosystem's controls (gensample.threads says the
rules), and the pool behind every kernel survives forks, concurrent callers and errors.

Speed under contention is measured in bench/bench_contention.py, not asserted here."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import gensample as gs
from gensample import _core


def run(code: str, env: dict | None = None) -> str:
    """A fresh interpreter: the process-wide rules are read at import."""
    full_env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=full_env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_threadpoolctl_limits_apply():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = gs.get_num_threads()
    with threadpoolctl.threadpool_limits(1):
        assert gs.get_num_threads() == 1
        assert np.array_equal(gs.random.normal(100_000, 2, rng=3), gs.random.normal(100_000, 2, rng=3, n_threads=2))
    assert gs.get_num_threads() == before
    gs.set_num_threads(2)  # an explicit choice wins over the ecosystem's limit
    try:
        with threadpoolctl.threadpool_limits(1):
            assert gs.get_num_threads() == 2
    finally:
        gs.set_num_threads(None)


@pytest.mark.skipif(not _core.threads.have_openmp(), reason="threadpoolctl finds gensample through its OpenMP runtime")
def test_threadpoolctl_sees_gensample():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libs = [i["filepath"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    assert libs, "no OpenMP runtime loaded"


@pytest.mark.parametrize("value", ["1", "3"])
def test_omp_num_threads_sets_the_default(value):
    out = run("import gensample as gs; print(gs.get_num_threads())", {"OMP_NUM_THREADS": value})
    assert out == value


def test_set_num_threads_wins_over_the_environment():
    out = run("import gensample as gs; gs.set_num_threads(2); print(gs.get_num_threads())", {"OMP_NUM_THREADS": "1"})
    assert out == "2"


@pytest.mark.parametrize("omp", [None, "2"])
@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_a_multiprocessing_worker_takes_its_share(method, omp):
    """A pool of as many workers as cores: each takes one thread, unless the environment
    names a limit (Dask and loky set OMP_NUM_THREADS to the worker's share)."""
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"no {method} here")
    code = f"""
        import multiprocessing as mp
        import gensample as gs

        def work(_):
            return gs.get_num_threads(), float(gs.random.normal(300_000, rng=1, n_threads=2).sum())

        if __name__ == "__main__":
            gs.random.normal(300_000, rng=1)  # the parent's pool is up before a fork
            ref = float(gs.random.normal(300_000, rng=1).sum())
            with mp.get_context("{method}").Pool(2) as pool:
                got = pool.map(work, range(2))
            assert all(v == ref for _, v in got), got
            print(sorted({{t for t, _ in got}}))
    """
    env = {} if omp is None else {"OMP_NUM_THREADS": omp}
    folder = os.path.join(os.path.dirname(__file__), "..")  # spawned children re-import the script
    script = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gs_share_{method}_{omp}_{os.getpid()}.py")
    with open(script, "w") as f:
        f.write(textwrap.dedent(code))
    try:
        out = run(
            f"import runpy, sys; sys.path.insert(0, {folder!r}); runpy.run_path({script!r}, run_name='__main__')", env
        )
    finally:
        os.unlink(script)
    assert out == ("[1]" if omp is None else f"[{omp}]")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX")
def test_a_forked_child_can_still_use_threads():
    """After fork the child has none of the parent's pool threads; an explicit n_threads
    builds a new pool there instead of waiting on threads that do not exist."""
    out = run("""
        import os
        import gensample as gs
        ref = gs.random.normal(1_000_000, 2, rng=5, n_threads=2)  # the parent's helpers exist
        pid = os.fork()
        if pid == 0:
            ok = (gs.get_num_threads() == 1
                  and (gs.random.normal(1_000_000, 2, rng=5, n_threads=2) == ref).all())
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """)
    assert out == "0"


def test_concurrent_callers_share_the_pool():
    """Python threads calling at once (Dask's threaded scheduler, joblib's threading
    backend) each get the serial result; an error in one does not reach the others."""
    ref = gs.random.normal(400_000, 3, rng=11, n_threads=1)
    results, errors = [], []

    def ok():
        for _ in range(5):
            results.append(np.array_equal(gs.random.normal(400_000, 3, rng=11, n_threads=2), ref))

    def bad():
        for _ in range(5):
            try:
                _core.threads._throw_in_parallel(100_000, 73_000, 2)
            except ValueError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=f) for f in (ok, bad, ok, ok)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 15
    assert errors == ["item 73000 failed"] * 5


def test_more_threads_than_cores_or_tasks():
    ref = gs.random.uniform(10_000, 2, rng=1, n_threads=1)
    for n in (2, 3, 8, 64):
        assert np.array_equal(gs.random.uniform(10_000, 2, rng=1, n_threads=n), ref)
