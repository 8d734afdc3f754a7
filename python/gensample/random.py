"""Counter-based random streams (Philox4x32-10) and fast bulk variates.

Every draw is a pure function of a 64-bit key and the row index: row ``i`` of a call reads
only Philox counters that start with ``i``. So ``uniform(10**6, rng=7)[500:600]`` equals
rows 500-600 of any larger draw with the same seed, whatever the thread count or machine.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _core
from ._typing import Count, DTypeLike, RngLike
from ._validation import (
    _short,
    check_count,
    check_float_dtype,
    check_n_threads,
    check_positive_int,
    empty_output,
    output_array,
)

__all__ = ["key_from_rng", "uniform", "normal", "integers"]


def key_from_rng(rng: RngLike = None, name: str = "rng") -> int:
    """The 64-bit Philox key for ``rng``.

    ``rng`` may be None (fresh OS entropy), a non-negative int, a sequence of non-negative
    ints, a :class:`numpy.random.SeedSequence`, or a :class:`numpy.random.Generator` (64
    bits are drawn from it, advancing it). Seeds go through ``SeedSequence``, so nearby
    seeds give unrelated keys.

    >>> key_from_rng(7) == key_from_rng(7)
    True
    """
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**64, dtype=np.uint64))
    if rng is None:
        seq = np.random.SeedSequence()
    elif isinstance(rng, np.random.SeedSequence):
        seq = rng
    else:
        seq = np.random.SeedSequence(_seed_entropy(rng, name))
    return int(seq.generate_state(1, np.uint64)[0])


_RNG_TYPES = "None, a non-negative int, a sequence of them, a SeedSequence or a Generator"


def _flat_ints(seq, is_int) -> list:
    """The ints of a non-empty (nested) sequence of them, else [] (ragged lists too)."""
    flat: list[int] = []
    todo = [seq]
    while todo:
        v = todo.pop()
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v[()]
        if isinstance(v, (list, tuple, np.ndarray)):
            todo.extend(reversed(list(v)))
        elif is_int(v) and len(flat) < 2**16:
            flat.append(v)
        else:
            return []
    return flat


def _seed_entropy(rng, name: str = "rng"):
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))

    flat = _flat_ints(rng, is_int) if isinstance(rng, (list, tuple, np.ndarray)) else []
    if is_int(rng):
        values = [int(rng)]
    elif flat:
        values = [int(v) for v in flat]
    else:
        raise TypeError(f"{name} must be {_RNG_TYPES}, got {type(rng).__name__} {_short(rng)}")
    if min(values) < 0:
        raise ValueError(f"{name} must be {_RNG_TYPES}; got negative seed {min(values)}")
    return values[0] if is_int(rng) else values


def uniform(
    n: Count, dim=1, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None, out=None
) -> np.ndarray:
    """Uniform draws on [0, 1), shape ``(n, dim)``.

    float64 values are multiples of 2**-53 (53 random bits), float32 of 2**-24.
    ``out``: an existing C-contiguous ``(n, dim)`` array of ``dtype`` to fill (and return)
    instead of allocating one.

    >>> import gensample as gs
    >>> u = gs.random.uniform(4, dim=2, rng=0)
    >>> u.shape, bool(((0 <= u) & (u < 1)).all())
    ((4, 2), True)
    """
    n, dim, dtype, threads = _check(n, dim, dtype, n_threads)
    out = output_array(out, n, dim, dtype)
    _core.random.fill_uniform(key_from_rng(rng), out, threads)
    return out


def normal(
    n: Count, dim=1, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None, out=None
) -> np.ndarray:
    """Standard normal draws, shape ``(n, dim)``.

    Box-Muller on 53-bit uniforms (so the largest possible value is about 8.57); float32
    draws are the float64 draws rounded. ``out`` as in :func:`uniform`.

    >>> import gensample as gs
    >>> gs.random.normal(3, dim=2, rng=0).shape
    (3, 2)
    """
    n, dim, dtype, threads = _check(n, dim, dtype, n_threads)
    out = output_array(out, n, dim, dtype)
    _core.random.fill_normal(key_from_rng(rng), out, threads)
    return out


def integers(n: Count, high, dim=1, rng: RngLike = None, n_threads: int | None = None) -> np.ndarray:
    """Unbiased integers in [0, high), int64, shape ``(n, dim)`` (Lemire's method).

    >>> import gensample as gs
    >>> int(gs.random.integers(1000, 6, rng=0).max()) <= 5
    True
    """
    n = check_count(n)
    dim = check_positive_int(dim, "dim")
    if isinstance(high, (bool, np.bool_)) or not isinstance(high, numbers.Integral):
        raise TypeError(f"high must be an integer, got {type(high).__name__}")
    high = int(high)
    if not 1 <= high <= 2**63:
        raise ValueError(f"high must be in [1, 2**63], got {high}")
    threads = check_n_threads(n_threads)
    out = empty_output(n, dim, np.dtype(np.int64))
    _core.random.fill_integers(key_from_rng(rng), high, out, threads)
    return out


def _check(n, dim, dtype, n_threads):
    return (
        check_count(n),
        check_positive_int(dim, "dim"),
        check_float_dtype(dtype),
        check_n_threads(n_threads),
    )
