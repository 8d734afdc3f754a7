"""Regions: uniform (or weighted) distributions over sets, and their set algebra.

Every region is a :class:`Distribution` with ``contains``, ``logpdf``, ``volume`` (its
measure: length, area or volume; steradians on the sphere) and ``area`` (the same number,
the usual word in 2-D). ``a | b``, ``a & b`` and ``a - b`` combine regions of one space:
exactly where both sides allow it (two rasters on one grid), otherwise by rejection from
the left operand with the right one as a predicate.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import as_array, as_points, as_vector, check_n_threads, check_real
from .distribution import Distribution

__all__ = ["AcceptanceError", "Box", "Region"]

AcceptanceError: type[RuntimeError] = _core.raster.AcceptanceError
AcceptanceError.__module__ = "gensample"
AcceptanceError.__doc__ = "A rejection sampler's acceptance is too low to finish (the message gives the measured rate)."

# Rejection gives up when, after this many proposals, fewer than MIN_ACCEPTANCE of them
# were accepted (a sampler at 1e-9 fails in well under a second instead of hanging).
MIN_ACCEPTANCE = 1e-6
_MIN_PROPOSALS = 1 << 22
_MAX_ATTEMPTS = 1 << 24
# Proposals used to measure the volume of a composite that has no closed form.
_VOLUME_PROPOSALS = 1 << 20


def _uniform_at(key: int, rows: np.ndarray, dim: int, dtype=np.float64) -> np.ndarray:
    """gs.random.uniform's values (stream ``key``) at the given rows: same words, same values."""
    per = 4 if np.dtype(dtype) == np.float32 else 2
    slots = -(-dim // per)
    ctr = np.zeros((rows.size, slots, 4), dtype=np.uint32)
    r = rows.astype(np.uint64)
    ctr[:, :, 0] = (r & np.uint64(0xFFFFFFFF)).astype(np.uint32)[:, None]
    ctr[:, :, 1] = (r >> np.uint64(32)).astype(np.uint32)[:, None]
    ctr[:, :, 2] = np.arange(slots, dtype=np.uint32)
    b = _core.random.philox4x32_10(key, ctr.reshape(-1, 4)).reshape(rows.size, slots, 4)
    if per == 4:
        u = (b >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)
    else:
        b = b.astype(np.uint64)
        w = np.stack([b[..., 0] | (b[..., 1] << np.uint64(32)), b[..., 2] | (b[..., 3] << np.uint64(32))], axis=-1)
        u = (w >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return u.reshape(rows.size, per * slots)[:, :dim]


class Region(Distribution):
    """A set with a uniform (or, for weighted rasters, piecewise-constant) distribution on it.

    Subclasses give ``dim``, ``volume``, ``contains`` and ``_draw``; ``sample`` and
    ``logpdf`` follow. ``space`` is ``"plane"`` (Lebesgue measure) or ``"sphere"``
    (lon/lat degrees, measure in steradians); only regions of one space combine.
    """

    space = "plane"
    weighted = False

    @property
    def volume(self) -> float:
        raise NotImplementedError

    @property
    def area(self) -> float:
        """The region's measure (same as :attr:`volume`; the usual word in 2-D)."""
        return self.volume

    @property
    def log_volume(self) -> float:
        return math.log(self.volume)

    def contains(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def _draw(self, key: int, rows: np.ndarray | None, out: np.ndarray, n_threads: int, r0: int = 0) -> None:
        """Fill ``out`` with samples ``rows`` (None: rows r0 .. r0 + len(out) - 1) of stream ``key``."""
        raise NotImplementedError

    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        """``n`` samples, shape ``(n, dim)``; row ``i`` is a pure function of (seed, i)."""
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        self._draw(key, None, out, n_threads, r0)

    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``-log(volume)`` inside, ``-inf`` outside, shape ``(n,)``."""
        inside = self.contains(x, n_threads=n_threads)
        return np.where(inside, -self.log_volume, -np.inf)

    def _check_other(self, other, op: str, predicate: bool = False) -> None:
        """A union needs one space (its measure adds both sides); for ``&`` and ``-`` the
        right side is only a predicate on the coordinates (a lon/lat polygon restricting a
        GeoMask), so the dimension must agree."""
        if not isinstance(other, Region):
            raise TypeError(f"{op}: both operands must be regions, got {type(other).__name__}")
        if other.dim != self.dim or (not predicate and other.space != self.space):
            raise ValueError(
                f"{op}: regions must live in one space; got {self.dim}-D {self.space} and {other.dim}-D {other.space}"
            )

    def __or__(self, other):
        self._check_other(other, "a | b")
        return Union(self, other)

    def __and__(self, other):
        self._check_other(other, "a & b", predicate=True)
        return Intersection(self, other)

    def __sub__(self, other):
        self._check_other(other, "a - b", predicate=True)
        return Difference(self, other)


class Box(Region):
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
        high = as_vector(high, None, "high")
        if high.shape != low.shape:
            raise ValueError(f"low and high must have one length, got {low.shape[0]} and {high.shape[0]}")
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
    def fit(cls, X: ArrayLike, margin: float = 0.0) -> Box:
        """The bounding box of the rows of ``X``, widened by ``margin`` times its extent.

        ``margin=0.1`` adds 10 % of the data's range on each side of every coordinate.

        >>> import gensample as gs
        >>> gs.Box.fit([[0, 0], [1, 2]], margin=0.5).low
        array([-0.5, -1. ])
        """
        X = as_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array of shape (n_samples, dim), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must have at least one sample and one dimension, got shape {X.shape}")
        X = as_points(X, X.shape[1], dtype=np.float64, name="X")
        margin = check_real(margin, "margin", 0.0)
        lo, hi = X.min(axis=0), X.max(axis=0)
        extent = hi - lo
        flat = np.flatnonzero(extent == 0)
        if flat.size:
            raise ValueError(
                f"X has zero extent along dimension {int(flat[0])} (all values equal): its bounding "
                "box has zero volume; drop that dimension or use Box(low, high) explicitly"
            )
        with np.errstate(over="ignore"):
            low, high = lo - margin * extent, hi + margin * extent
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError(f"margin={margin} widens the box beyond float64's range")
        return cls(low, high)

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

    def _draw(self, key, rows, out, n_threads, r0=0):
        if rows is None:
            _core.regions.box_sample(key, self._low, self._width, out, n_threads, r0)
        else:
            u = _uniform_at(key, rows, self.dim, out.dtype).astype(np.float64)
            out[...] = self._low + self._width * u

    def contains(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Whether each row of ``x`` lies in the closed box, shape ``(n,)``."""
        x = as_points(x, self.dim)
        return _core.regions.box_contains(x, self._low, self._high, check_n_threads(n_threads))

    def __and__(self, other):
        if isinstance(other, Box) and other.dim == self.dim:  # exact: a box again
            low, high = np.maximum(self._low, other._low), np.minimum(self._high, other._high)
            if not (low < high).all():
                raise ValueError("a & b: the boxes do not overlap (the intersection has zero volume)")
            return Box(low, high)
        return super().__and__(other)

    def __repr__(self) -> str:
        return f"Box(low={self._low.tolist()}, high={self._high.tolist()})"

    def _save_state(self):
        return {}, {"low": self._low, "high": self._high}, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        return cls(arrays["low"], arrays["high"])

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Box) and np.array_equal(self._low, other._low) and np.array_equal(self._high, other._high)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays inside: not hashable


class _Composite(Region):
    """Rejection over rounds: attempt ``a`` of sample ``i`` draws from sub-stream
    ``subkey(key, a)`` at row ``i``, so every row is a pure function of (seed, i)."""

    def __init__(self, left: Region, right: Region):
        self.left, self.right = left, right
        self.space = left.space

    @property
    def dim(self) -> int:
        return self.left.dim

    def _propose(self, key, rows, cand, n_threads) -> np.ndarray:
        raise NotImplementedError

    def _draw(self, key, rows, out, n_threads, r0=0):
        n = out.shape[0]
        rows = np.arange(r0, r0 + n, dtype=np.int64) if rows is None else rows
        pending = np.arange(n)
        proposals = accepted = 0
        for attempt in range(_MAX_ATTEMPTS):
            if pending.size == 0:
                return
            cand = np.empty((pending.size, self.dim), dtype=out.dtype)
            ok = self._propose(_core.random.subkey(key, attempt), np.ascontiguousarray(rows[pending]), cand, n_threads)
            out[pending[ok]] = cand[ok]
            proposals += pending.size
            accepted += int(np.count_nonzero(ok))
            pending = pending[~ok]
            if proposals >= _MIN_PROPOSALS and accepted < MIN_ACCEPTANCE * proposals:
                break
        raise AcceptanceError(
            f"rejection sampling cannot finish: measured acceptance {accepted / max(proposals, 1):.3g} "
            f"({accepted} accepted of {proposals} proposals) is below {MIN_ACCEPTANCE:g}; "
            f"{type(self).__name__} of {type(self.left).__name__} and {type(self.right).__name__}"
        )

    def _acceptance(self, predicate) -> float:
        """Share of the left operand's mass that ``predicate`` keeps, by Monte Carlo."""
        x = self.left.sample(_VOLUME_PROPOSALS, rng=0x5EED)
        p = float(np.mean(predicate(x)))
        if p == 0:
            raise ValueError(
                f"the {type(self).__name__.lower()} is empty or has zero measure: none of "
                f"{_VOLUME_PROPOSALS} points of the left operand qualified"
            )
        return p

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def volume_rel_error(self) -> float:
        """Relative standard error of :attr:`volume` (0 when exact)."""
        return self._rel_error

    def _set_volume(self, base: float, p: float) -> None:
        self._p = p
        self._volume = base * p
        self._rel_error = math.sqrt((1 - p) / (p * _VOLUME_PROPOSALS)) if p < 1 else 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.left!r}, {self.right!r})"

    def _save_state(self):
        return {}, {}, {"left": self.left, "right": self.right}

    @classmethod
    def _load_state(cls, params, arrays, children):
        left, right = children["left"], children["right"]
        if not isinstance(left, Region):
            raise TypeError(f"the left operand must be a region, got {type(left).__name__}")
        left._check_other(right, cls.__name__, predicate=cls is not Union)
        return cls(left, right)


class Difference(_Composite):
    """``left - right``: the left operand's distribution restricted to outside ``right``.

    The volume (and so the normaliser of logpdf) is measured by 2**20 proposals, to the
    relative error given by :attr:`volume_rel_error`.
    """

    def __init__(self, left, right):
        super().__init__(left, right)
        self.weighted = left.weighted
        self._set_volume(left.volume, self._acceptance(lambda x: ~right.contains(x)))

    def _propose(self, key, rows, cand, n_threads):
        self.left._draw(key, rows, cand, n_threads)
        return ~self.right.contains(cand, n_threads=n_threads or None)

    def contains(self, x: ArrayLike, n_threads: int | None = None):
        return self.left.contains(x, n_threads=n_threads) & ~self.right.contains(x, n_threads=n_threads)

    def logpdf(self, x: ArrayLike, n_threads: int | None = None):
        inside = ~self.right.contains(x, n_threads=n_threads)
        return np.where(inside, self.left.logpdf(x, n_threads=n_threads) - math.log(self._p), -np.inf)


class Intersection(_Composite):
    """``left & right``: the left operand's distribution restricted to ``right``."""

    def __init__(self, left, right):
        super().__init__(left, right)
        self.weighted = left.weighted
        self._set_volume(left.volume, self._acceptance(lambda x: right.contains(x)))

    def _propose(self, key, rows, cand, n_threads):
        self.left._draw(key, rows, cand, n_threads)
        return self.right.contains(cand, n_threads=n_threads or None)

    def contains(self, x: ArrayLike, n_threads: int | None = None):
        return self.left.contains(x, n_threads=n_threads) & self.right.contains(x, n_threads=n_threads)

    def logpdf(self, x: ArrayLike, n_threads: int | None = None):
        inside = self.right.contains(x, n_threads=n_threads)
        return np.where(inside, self.left.logpdf(x, n_threads=n_threads) - math.log(self._p), -np.inf)


class Union(_Composite):
    """``left | right``, uniform on the union of two unweighted regions.

    Proposals come from the mixture of both sides by volume; a point of the right side is
    kept only outside the left one, so the overlap is not counted twice (acceptance >= 1/2).
    """

    def __init__(self, left, right):
        if left.weighted or right.weighted:
            raise ValueError("a | b: the union of weighted regions is ambiguous; combine the weights in one RasterMask")
        super().__init__(left, right)
        self._share = left.volume / (left.volume + right.volume)
        x = right.sample(_VOLUME_PROPOSALS, rng=0x5EED)
        q = float(np.mean(~left.contains(x)))  # share of right outside left
        self._volume = left.volume + right.volume * q
        self._rel_error = right.volume * math.sqrt(q * (1 - q) / _VOLUME_PROPOSALS) / self._volume

    def _propose(self, key, rows, cand, n_threads):
        from_left = _uniform_at(_core.random.subkey(key, 0), rows, 1)[:, 0] < self._share
        if from_left.any():
            part = np.empty((int(from_left.sum()), self.dim), dtype=cand.dtype)
            self.left._draw(_core.random.subkey(key, 1), np.ascontiguousarray(rows[from_left]), part, n_threads)
            cand[from_left] = part
        ok = from_left.copy()
        if not from_left.all():
            part = np.empty((int((~from_left).sum()), self.dim), dtype=cand.dtype)
            self.right._draw(_core.random.subkey(key, 2), np.ascontiguousarray(rows[~from_left]), part, n_threads)
            cand[~from_left] = part
            ok[~from_left] = ~self.left.contains(part, n_threads=n_threads or None)
        return ok

    def contains(self, x: ArrayLike, n_threads: int | None = None):
        return self.left.contains(x, n_threads=n_threads) | self.right.contains(x, n_threads=n_threads)
