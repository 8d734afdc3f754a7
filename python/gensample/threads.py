"""Thread count for every kernel. Results never depend on it."""

from __future__ import annotations

import os

from . import _core, _validation
from ._validation import check_n_threads, check_positive_int


def _after_fork_in_child() -> None:
    """One thread from here on (see _validation.FORKED_CHILD): no hang after os.fork()."""
    _validation.FORKED_CHILD = True
    _core.set_default_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int | None) -> None:
    """Set the default number of threads; ``None`` restores "all cores".

    A call's own ``n_threads=`` overrides it. Results are identical for every thread count.
    In a child made by ``os.fork()`` (``multiprocessing``'s "fork" start method) every call
    runs on one thread: GNU OpenMP hangs in a forked child otherwise. Use "spawn" or
    "forkserver" for children with threads of their own.

    >>> import gensample as gs
    >>> gs.set_num_threads(1); gs.get_num_threads()
    1
    >>> gs.set_num_threads(None)
    """
    _core.set_default_threads(check_n_threads(None if n is None else check_positive_int(n, "n")))


def get_num_threads() -> int:
    """The number of threads a call without ``n_threads=`` uses (1 without OpenMP)."""
    return _core.resolve_threads(0)
