"""Regions: uniform distributions over sets of points."""

from __future__ import annotations

import math

import numpy as np

from . import _core
from ._validation import as_points, as_vector, check_count, check_float_dtype, check_n_threads, empty_output
from .distribution import Distribution
from .random import key_from_rng

__all__ = ["Box"]


class Box(Distribution):
    """The uniform distribution on the box ``[low, high]`` in any dimension.

    The "hello world" generative model: draw a rectangle around the data and sample
    uniformly inside it. A sample is ``low + (high - low) * u`` with ``u`` from
    :func:`gensample.random.uniform` on the same seed.

    Parameters
    ----------
    low, high : array_like, shape (dim,)
        Corners of the box; ``low < high`` in every coordinate (a box of zero volume has
        no density).

    >>> import gensample as gs
    >>> box = gs.Box([0, 0], [2, 1])
    >>> box.volume
    2.0
    >>> x = box.sample(5, rng=0)
    >>> x.shape, bool(box.contains(x).all())
    ((5, 2), True)
    >>> bool(box.logpdf([[1.0, 0.5]])[0] == -np.log(2))
    True
    """

    def __init__(self, low, high):
        low = as_vector(low, None, "low")
        high = as_vector(high, low.shape[0], "high")
        bad = np.flatnonzero(~(low < high))
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"low must be below high in every coordinate; in coordinate {j} low={float(low[j])} "
                f">= high={float(high[j])} (a box of zero volume has no density)"
            )
        with np.errstate(over="ignore"):
            width = high - low
        if not np.isfinite(width).all():
            raise ValueError("high - low overflows float64: the box is too large")
        self._low, self._high, self._width = low, high, width
        for a in (self._low, self._high, self._width):
            a.setflags(write=False)
        self._log_volume = float(np.sum(np.log(width)))

    @classmethod
    def fit(cls, X, margin: float = 0.0) -> "Box":
        """The bounding box of the rows of ``X``, widened by ``margin`` times its extent.

        ``margin=0.1`` adds 10 % of the data's range on each side of every coordinate.

        >>> import gensample as gs
        >>> gs.Box.fit([[0, 0], [1, 2]], margin=0.5).low
        array([-0.5, -1. ])
        """
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array of shape (n_samples, dim), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must have at least one sample and one dimension, got shape {X.shape}")
        X = as_points(X, X.shape[1], dtype=np.float64, name="X")
        margin = float(margin)
        if not (np.isfinite(margin) and margin >= 0):
            raise ValueError(f"margin must be a finite number >= 0, got {margin}")
        lo, hi = X.min(axis=0), X.max(axis=0)
        extent = hi - lo
        flat = np.flatnonzero(extent == 0)
        if flat.size:
            raise ValueError(
                f"X has zero extent along dimension {int(flat[0])} (all values equal): its bounding "
                "box has zero volume; drop that dimension or use Box(low, high) explicitly"
            )
        return cls(lo - margin * extent, hi + margin * extent)

    @property
    def dim(self) -> int:
        return self._low.shape[0]

    @property
    def low(self) -> np.ndarray:
        return self._low

    @property
    def high(self) -> np.ndarray:
        return self._high

    @property
    def volume(self) -> float:
        """Lebesgue measure of the box (may overflow to inf in high dimension; see log_volume)."""
        try:
            return math.exp(self._log_volume)
        except OverflowError:
            return math.inf

    @property
    def log_volume(self) -> float:
        return self._log_volume

    def sample(self, n, rng=None, dtype=np.float64, n_threads=None) -> np.ndarray:
        n = check_count(n)
        dtype = check_float_dtype(dtype)
        threads = check_n_threads(n_threads)
        out = empty_output(n, self.dim, dtype)
        _core.box_sample(key_from_rng(rng), self._low, self._width, out, threads)
        return out

    def contains(self, x, n_threads=None) -> np.ndarray:
        """Whether each row of ``x`` lies in the closed box, shape ``(n,)``."""
        x = as_points(x, self.dim)
        return _core.box_contains(x, self._low, self._high, check_n_threads(n_threads))

    def logpdf(self, x, n_threads=None) -> np.ndarray:
        """``-log(volume)`` inside the box, ``-inf`` outside, shape ``(n,)``."""
        inside = self.contains(x, n_threads=n_threads)
        return np.where(inside, -self._log_volume, -np.inf)

    def __repr__(self) -> str:
        return f"Box(low={self._low.tolist()}, high={self._high.tolist()})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Box) and np.array_equal(self._low, other._low) and np.array_equal(self._high, other._high)

    __hash__ = None  # mutable-looking arrays inside: not hashable
