"""Thread count for every kernel. Results never depend on it.

How many threads a call uses, first rule that applies:

1. the call's own ``n_threads=``;
2. :func:`set_num_threads` (for the whole process);
3. the OpenMP limit of the calling thread, which is what ``OMP_NUM_THREADS`` and
   ``threadpoolctl.threadpool_limits(...)`` set for every OpenMP library (scikit-learn's
   and Dask's way of limiting native threads). Dask's worker processes and joblib's
   ``loky`` workers set ``OMP_NUM_THREADS`` to their share of the cores, so gensample takes
   that share there;
4. in a child process of ``multiprocessing`` (any start method, ``concurrent.futures``
   process pools included) or any child made by ``os.fork()``, whose environment sets no
   ``OMP_NUM_THREADS``: one thread, the share of one worker among a pool of as many workers
   as cores;
5. otherwise every core this process may run on (its CPU affinity).

Threads that have no work sleep instead of spinning, and the calling thread works beside
them, taking whatever tasks they have not started: on a busy machine (other processes,
another job, a Dask worker's neighbours) the default is not slower than one thread.
"""

from __future__ import annotations

import os
import sys

from . import _core
from ._validation import check_n_threads, check_positive_int


def _set_process_share(child: bool) -> None:
    """Rule 4 above: a child process with no OMP_NUM_THREADS takes one thread."""
    _core.threads.set_process_share(1 if child and not os.environ.get("OMP_NUM_THREADS") else 0)


def _is_multiprocessing_child() -> bool:
    mp = sys.modules.get("multiprocessing")
    # A spawned child imports its main module (and so gensample) before parent_process() is
    # set, but after it has taken its name.
    return mp is not None and (mp.parent_process() is not None or mp.current_process().name != "MainProcess")


_set_process_share(_is_multiprocessing_child())
if hasattr(os, "register_at_fork"):  # a forked child is a worker of its parent, whatever made it
    os.register_at_fork(after_in_child=lambda: _set_process_share(True))


def set_num_threads(n: int | None) -> None:
    """Set the default number of threads; ``None`` restores the rules in :mod:`gensample.threads`.

    A call's own ``n_threads=`` overrides it. Results are identical for every thread count.

    >>> import gensample as gs
    >>> gs.set_num_threads(1); gs.get_num_threads()
    1
    >>> gs.set_num_threads(None)
    """
    _core.threads.set_default(check_n_threads(None if n is None else check_positive_int(n, "n")))


def get_num_threads() -> int:
    """The number of threads a call without ``n_threads=`` would use from this thread now."""
    return _core.threads.resolve(0)
