"""Thread count for every kernel. Results never depend on it."""

from __future__ import annotations

from . import _core
from ._validation import check_n_threads


def set_num_threads(n: int | None) -> None:
    """Set the default number of threads; ``None`` restores "all cores".

    A call's own ``n_threads=`` overrides it. Results are identical for every thread count.

    >>> import gensample as gs
    >>> gs.set_num_threads(1); gs.get_num_threads()
    1
    >>> gs.set_num_threads(None)
    """
    _core.set_default_threads(check_n_threads(n))


def get_num_threads() -> int:
    """The number of threads a call without ``n_threads=`` uses (1 without OpenMP)."""
    return _core.resolve_threads(0)
