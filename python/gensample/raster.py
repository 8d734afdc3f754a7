"""Raster regions: masks (and weighted masks) on a grid, planar or on the sphere.

The index is run-length (cpp/include/gensample/raster.hpp): memory grows with the number of
runs of consecutive true cells along the last axis, not with the number of cells.
"""

from __future__ import annotations

import math
import mmap

import numpy as np

from . import _core
from ._typing import ArrayLike
from ._validation import _short, as_array, as_points, as_real_array, check_choice, check_n_threads
from .regions import MIN_ACCEPTANCE, Region

__all__ = ["GeoMask", "RasterMask", "EARTH_RADIUS_KM"]

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius: area_km2 = steradians * R**2
_METHODS = ("exact", "rejection")
_MAX_AXES = 8


_HUGE_PAGE = 2 << 20


def _aligned_empty(nbytes: int) -> np.ndarray:
    """nbytes uninitialised bytes starting on a 64-byte boundary (1-D uint8).

    NumPy aligns to 16 bytes; the exact sampler's 32-byte entries must not straddle two
    cache lines, or a sample in a table beyond the cache misses twice. A table of several
    huge pages goes on 2 MiB boundaries with the kernel asked for huge pages: its random
    reads then miss the TLB less.
    """
    if nbytes >= 2 * _HUGE_PAGE and hasattr(mmap, "MADV_HUGEPAGE"):
        area = mmap.mmap(-1, nbytes + _HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        try:
            area.madvise(mmap.MADV_HUGEPAGE)
        except OSError:  # a kernel without transparent huge pages: 4 KiB pages it is
            pass
        buffer = np.frombuffer(area, np.uint8)
        offset = -buffer.ctypes.data % _HUGE_PAGE
    else:
        buffer = np.empty(nbytes + 63, np.uint8)
        offset = -buffer.ctypes.data % 64
    return buffer[offset : offset + nbytes]


def _line_aligned(table: np.ndarray) -> np.ndarray:
    """table (1-D bytes) placed as _aligned_empty places it: itself when it is already on a
    64-byte boundary and smaller than two huge pages, else a copy (an unpickled index)."""
    if table.ctypes.data % 64 == 0 and table.nbytes < 2 * _HUGE_PAGE:
        return table
    out = _aligned_empty(table.nbytes)
    out[:] = table
    return out


# Index entries that are views of the pick table: neither pickled nor counted twice.
_PICK_VIEWS = ("length",)


def _run_lengths(pick: np.ndarray) -> np.ndarray:
    """Every run's length: side 0 of its own pick entry, as a strided view.

    An entry (RunPick, cpp/include/gensample/raster.hpp) is eight 32-bit words: prob (two),
    row[2], start[2], length[2]; entry k's side 0 is run k. A view, not a copy, keeps the
    world-land index at 15.2 MB instead of 16.7; the starts stay dense for contains' search.
    """
    return pick.view(np.uint32).reshape(-1, 8)[:, 6]


def _as_mask(mask) -> np.ndarray:
    arr = as_array(mask, "mask")
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"mask must be an array of booleans, got dtype {arr.dtype}")
        if not np.isin(arr, (0, 1)).all():
            raise ValueError("mask must hold booleans (or only 0 and 1)")
        arr = arr != 0
    if not 1 <= arr.ndim <= _MAX_AXES:
        raise ValueError(f"mask must have 1 to {_MAX_AXES} axes, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"mask must not be empty, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _as_weights(weights, shape) -> np.ndarray | None:
    if weights is None:
        return None
    w = as_real_array(weights, "weights", shape, expected=f"{shape}, the mask's", nonnegative=True)
    return w


def _check_runs(shape, runs) -> tuple:
    """A run index checked to be one the kernels may trust: every run inside its row, runs
    of a row in order and apart, weights finite and non-negative (weight None: all 1)."""
    row_ptr, start, length, weight = runs
    if not (1 <= len(shape) <= _MAX_AXES) or min(shape) < 1:
        raise ValueError(f"shape must have 1 to {_MAX_AXES} positive axes, got {list(shape)}")
    n_rows, n_cols = int(np.prod(shape[:-1], dtype=np.int64)), int(shape[-1])
    n_runs = start.shape[0]
    if row_ptr.shape != (n_rows + 1,) or length.shape != (n_runs,) or row_ptr[0] != 0 or row_ptr[-1] != n_runs:
        raise ValueError(f"run index sizes do not match shape {list(shape)}")
    if (np.diff(row_ptr) < 0).any() or (length == 0).any():
        raise ValueError("run index: row pointers must not decrease and runs must not be empty")
    end = start.astype(np.int64) + length
    if n_runs and int(end.max()) > n_cols:
        raise ValueError(f"run index: a run passes the last of {n_cols} cells")
    # runs of one row: each starts at or after the previous one's end
    same_row = np.ones(n_runs, dtype=bool)
    same_row[row_ptr[1:-1][row_ptr[1:-1] < n_runs]] = False
    if n_runs > 1 and (start[1:][same_row[1:]] < end[:-1][same_row[1:]]).any():
        raise ValueError("run index: the runs of a row must be in order and must not overlap")
    if weight is None:
        weight = np.ones(n_runs)
    elif weight.shape != (n_runs,) or not np.isfinite(weight).all() or (weight < 0).any():
        raise ValueError("run weights must be finite and non-negative, one per run")
    return row_ptr, start, length, weight


def _check_method(method: str) -> str:
    return check_choice(method, _METHODS, "method")


class RasterMask(Region):
    """The uniform distribution on the true cells of a mask, or a piecewise-constant one.

    Parameters
    ----------
    mask : array_like of bool, 1 to 8 axes
        The region: ``mask[..., row, col]``. Output column 0 runs along the last axis (x),
        column 1 along the one before (y), column 2 along the one before that (z), ...
    extent : sequence of 2 * ndim floats, optional
        ``(xmin, xmax, ymin, ymax, ...)`` of the whole grid, as matplotlib's ``imshow``
        takes it. Default: one unit per cell, ``(0, n_cols, 0, n_rows, ...)``.
    weights : array_like, optional
        Non-negative weights of the mask's shape: the density is proportional to the
        weight of the cell (a population raster, an image's brightness).
    method : {"exact", "rejection"}
        ``"exact"`` (default) is rejection-free: a run of cells by alias table, then a
        uniform point in it. ``"rejection"`` proposes in the bounding box of the true cells
        and retries on each sample's own counter sub-stream.
    origin : {"upper", "lower"}
        Where row 0 of the mask is: at the top (images, the default) or at the bottom.

    Samples are uniform in cells that are half-open in index space; rows of ``sample(n)``
    are pure functions of (seed, row) for either method.

    >>> import gensample as gs, numpy as np
    >>> ring = np.ones((4, 4), bool); ring[1:3, 1:3] = False
    >>> r = gs.RasterMask(ring, extent=(0, 4, 0, 4))
    >>> r.area
    12.0
    >>> x = r.sample(1000, rng=0)
    >>> bool(r.contains(x).all()), bool(((1 < x) & (x < 3)).all(axis=1).any())
    (True, False)
    """

    def __init__(self, mask, extent=None, weights=None, method="exact", origin="upper", n_threads=None):
        mask = _as_mask(mask)
        weights = _as_weights(weights, mask.shape)
        self._origin = check_choice(origin, ("upper", "lower"), "origin")
        self._method = _check_method(method)
        self._extent = self._check_extent(extent, mask.shape)
        rows = mask.reshape(-1, mask.shape[-1])
        w2 = None if weights is None else weights.reshape(rows.shape)
        runs = _core.raster.runs(rows.view(np.uint8), w2, check_n_threads(n_threads))
        self._build(mask.shape, runs, weighted=weights is not None)

    @staticmethod
    def _check_extent(extent, shape):
        ndim = len(shape)
        if extent is None:
            ext = []
            for j in range(ndim):
                ext += [0.0, float(shape[ndim - 1 - j])]
            return np.array(ext)
        ext = as_array(extent, "extent", np.float64)
        if ext.shape != (2 * ndim,):
            raise ValueError(f"extent must have {2 * ndim} numbers (min, max per axis, x first), got shape {ext.shape}")
        if not np.isfinite(ext).all():
            raise ValueError("extent must be finite")
        bad = np.flatnonzero(~(ext[0::2] < ext[1::2]))
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"extent: min must be below max for every axis; column {j} has {ext[2 * j]} >= {ext[2 * j + 1]}"
            )
        return ext

    @classmethod
    def _from_index(cls, shape, runs, extent, origin="upper", method="exact", weighted=False):
        """A mask from its run index (a cache, a model file), without the dense mask."""
        self = cls.__new__(cls)
        self._method = _check_method(method)
        self._origin = check_choice(origin, ("upper", "lower"), "origin")
        self._extent = self._check_extent(extent, tuple(shape))
        self._build(tuple(shape), _check_runs(shape, runs), weighted=bool(weighted))
        return self

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_index"] = {k: v for k, v in self._index.items() if k not in _PICK_VIEWS}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        ix = self._index
        ix["pick"] = _line_aligned(ix["pick"])
        ix["length"] = _run_lengths(ix["pick"])

    def _save_state(self):
        ix = self._index
        arrays = {"row_ptr": ix["row_ptr"], "start": ix["start"], "length": ix["length"]}
        if self.weighted:
            arrays["weight"] = ix["weight"]
        return self._params(), arrays, {}

    def _params(self) -> dict:
        return {
            "shape": list(self._shape),
            "extent": self._extent.tolist(),
            "origin": self._origin,
            "method": self._method,
            "weighted": self.weighted,
        }

    @classmethod
    def _load_state(cls, params, arrays, children):
        from .io import int_array

        shape = [int(v) for v in params["shape"]]
        runs = (
            int_array(arrays["row_ptr"], "row_ptr"),
            int_array(arrays["start"], "start", np.uint32),
            int_array(arrays["length"], "length", np.uint32),
            np.array(arrays["weight"], dtype=np.float64) if params["weighted"] else None,
        )
        return cls._restore(params, shape, runs)

    @classmethod
    def _restore(cls, params, shape, runs):
        return cls._from_index(shape, runs, params["extent"], params["origin"], params["method"], params["weighted"])

    # The index: arrays the C++ kernels read (raster.hpp, RasterView).
    def _grid(self, shape):
        ndim = len(shape)
        origin, step = np.empty(ndim), np.empty(ndim)
        for j in range(ndim):
            lo, hi = self._extent[2 * j], self._extent[2 * j + 1]
            cells = shape[ndim - 1 - j]
            if j == 1 and self._origin == "upper":
                origin[j], step[j] = hi, -(hi - lo) / cells
            else:
                origin[j], step[j] = lo, (hi - lo) / cells
        return origin, step

    def _row_measure(self, sin_lat_edge, step) -> np.ndarray | float:
        """Measure of one cell of each row (a scalar when all rows are alike)."""
        return float(np.prod(np.abs(step)))

    def _box_measure(self) -> float:
        lo, hi = self._box
        return float(np.prod((hi - lo) * np.abs(self._index["step"])))

    def _build(self, shape, runs, weighted: bool) -> None:
        row_ptr, start, length, weight = runs
        n_runs = int(row_ptr[-1])
        if n_runs == 0:
            raise ValueError("mask has no true cells (with positive weight): the region has zero area")
        if n_runs >= 2**32:
            raise ValueError(f"mask has {n_runs} runs of cells, more than the 2**32 - 1 supported")
        n_rows = row_ptr.size - 1
        origin, step = self._grid(shape)
        sin_lat_edge = self._sin_lat_edge(shape, origin, step)
        run_row = np.repeat(np.arange(n_rows, dtype=np.uint32), np.diff(row_ptr))
        measure = self._row_measure(sin_lat_edge, step)
        row_m = measure if isinstance(measure, float) else measure[run_row]
        cells = length.astype(np.float64) * row_m
        mass = cells * weight
        pick = _aligned_empty(32 * n_runs)  # written in place: tens of MB for a world map
        _core.raster.pick_table(mass, run_row, start, length, pick)
        length = _run_lengths(pick)
        self._shape = tuple(int(s) for s in shape)
        self._index = {
            "shape": np.array(shape, dtype=np.int64),
            "origin": origin,
            "step": step,
            "row_ptr": row_ptr,
            "start": start,
            "length": length,
            "weight": weight if weighted else None,
            "pick": pick,
            "sin_lat_edge": sin_lat_edge,
            "lat_series": self._lat_series(sin_lat_edge),
            "weighted": bool(weighted),
            "max_weight": float(weight.max()),
        }
        self.weighted = bool(weighted)
        self._volume = float(cells.sum())
        self._log_mass = math.log(float(mass.sum()))
        self._box = self._proposal_box(row_ptr, start, length)

    def _sin_lat_edge(self, shape, origin, step):
        return None

    def _lat_series(self, sin_lat_edge):
        return None

    def _proposal_box(self, row_ptr, start, length):
        """Bounding box of the true cells in index space, per output column."""
        shape = self._shape
        lo, hi = np.empty(len(shape)), np.empty(len(shape))
        lo[0], hi[0] = float(start.min()), float((start.astype(np.int64) + length).max())
        used = np.flatnonzero(np.diff(row_ptr) > 0)
        if len(shape) > 1:
            idx = np.unravel_index(used, shape[:-1])
            for axis, i in enumerate(idx):
                j = len(shape) - 1 - axis
                lo[j], hi[j] = float(i.min()), float(i.max() + 1)
        return lo, hi

    @property
    def dim(self) -> int:
        return len(self._shape)

    @property
    def shape(self) -> tuple:
        """Shape of the mask."""
        return self._shape

    @property
    def extent(self) -> np.ndarray:
        return self._extent.copy()

    @property
    def method(self) -> str:
        return self._method

    @property
    def n_runs(self) -> int:
        """Runs of consecutive true cells (of equal weight) along the last axis: the index size."""
        return int(self._index["row_ptr"][-1])

    @property
    def index_nbytes(self) -> int:
        """Memory that the sampling index holds, in bytes (it grows with the runs, not the cells)."""
        ix = self._index
        return sum(v.nbytes for k, v in ix.items() if isinstance(v, np.ndarray) and k not in _PICK_VIEWS)

    @property
    def volume(self) -> float:
        """Measure of the true cells (area in 2-D, volume in 3-D)."""
        return self._volume

    @property
    def acceptance(self) -> float:
        """Expected acceptance of ``method="rejection"``: mass share of the proposal box."""
        return math.exp(self._log_mass) / (self._box_measure() * self._index["max_weight"])

    def _draw(self, key, rows, out, n_threads, r0=0):
        if self._method == "exact":
            _core.raster.sample_exact(self._index, key, rows, r0, out, n_threads)
        else:
            lo, hi = self._box
            _core.raster.sample_rejection(self._index, lo, hi, key, rows, r0, MIN_ACCEPTANCE, out, n_threads)

    def _locate(self, x, n_threads):
        x = as_points(x, self.dim)
        return _core.raster.locate(self._index, x, check_n_threads(n_threads))

    def contains(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Whether each row of ``x`` lies in a true cell, shape ``(n,)``."""
        return self._locate(x, n_threads) >= 0

    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Log-density: ``log(weight / total mass)`` in a true cell, ``-inf`` elsewhere."""
        run = self._locate(x, n_threads)
        inside = run >= 0
        out = np.full(run.shape, -np.inf)
        w = self._index["weight"]
        out[inside] = (0.0 if w is None else np.log(w[run[inside]])) - self._log_mass
        return out

    def _same_grid(self, other) -> bool:
        return (
            type(other) is type(self)
            and other._shape == self._shape
            and np.array_equal(other._extent, self._extent)
            and other._origin == self._origin
        )

    def _cells(self) -> tuple[np.ndarray, np.ndarray]:
        """The mask and weights back as dense arrays (for exact set algebra)."""
        ix = self._index
        n_cols = self._shape[-1]
        mask = np.zeros((ix["row_ptr"].size - 1, n_cols), dtype=bool)
        weights = np.zeros(mask.shape)
        length = ix["length"].astype(np.int64)
        run_row = np.repeat(np.arange(mask.shape[0]), np.diff(ix["row_ptr"]))
        # flat index of every cell of every run: run start + offset within the run
        first = run_row * n_cols + ix["start"]
        offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
        cells = np.repeat(first, length) + offset
        weight = ix["weight"] if ix["weight"] is not None else np.ones(run_row.size)
        mask.flat[cells] = True
        weights.flat[cells] = np.repeat(weight, length)
        return mask.reshape(self._shape), weights.reshape(self._shape)

    def _combine(self, other, op):
        a, wa = self._cells()
        b, _ = other._cells()
        mask = op(a, b)
        if not mask.any():
            raise ValueError("the result of the set operation is empty (zero area)")
        return self._like(mask, wa if self.weighted else None)

    def _like(self, mask, weights):
        return RasterMask(mask, self._extent, weights=weights, method=self._method, origin=self._origin)

    def __or__(self, other):
        if isinstance(other, RasterMask) and self._same_grid(other) and not (self.weighted or other.weighted):
            return self._combine(other, np.logical_or)
        return super().__or__(other)

    def __and__(self, other):
        if isinstance(other, RasterMask) and self._same_grid(other):
            return self._combine(other, np.logical_and)
        return super().__and__(other)

    def __sub__(self, other):
        if isinstance(other, RasterMask) and self._same_grid(other):
            return self._combine(other, lambda a, b: a & ~b)
        return super().__sub__(other)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shape={self._shape}, runs={self.n_runs}, volume={self._volume:.6g}, "
            f"weighted={self.weighted}, method={self._method!r})"
        )


class GeoMask(RasterMask):
    """A mask on an equirectangular lat/lon grid, sampled uniformly **by area on the sphere**.

    Row 0 of ``mask`` is the northern edge (``lat_range[1]``), column 0 the western edge
    (``lon_range[0]``), as in global-land-mask. A cell's area is proportional to
    ``sin(lat_top) - sin(lat_bottom)``; within a cell, ``sin(lat)`` is uniform. Samples are
    ``(lon, lat)`` in degrees. :meth:`logpdf` is per **steradian**: subtract
    ``2 * log(EARTH_RADIUS_KM)`` for a density per km². :attr:`volume` is in steradians,
    :attr:`area_km2` in km².

    >>> import gensample as gs, numpy as np
    >>> m = np.zeros((180, 360), bool); m[:30] = True          # poleward of 60 N
    >>> cap = gs.GeoMask(m)
    >>> round(cap.area_km2 / 1e6, 2)                             # million km² of the cap
    34.17
    >>> lonlat = cap.sample(1000, rng=0)
    >>> bool((lonlat[:, 1] >= 60).all())
    True
    """

    space = "sphere"
    column_names = ("lon", "lat")  # for table outputs (gs.generate to Parquet)

    def __init__(
        self, mask, lat_range=(-90.0, 90.0), lon_range=(-180.0, 180.0), weights=None, method="exact", n_threads=None
    ):
        mask = _as_mask(mask)
        if mask.ndim != 2:
            raise ValueError(f"mask must be 2-D (lat rows, lon columns), got shape {mask.shape}")
        lat = self._check_range(lat_range, "lat_range", 90.0)
        lon = self._check_range(lon_range, "lon_range", 180.0)
        if lon[1] - lon[0] > 360:
            raise ValueError(f"lon_range must span at most 360 degrees, got {tuple(lon)}")
        super().__init__(
            mask,
            extent=(lon[0], lon[1], lat[0], lat[1]),
            weights=weights,
            method=method,
            origin="upper",
            n_threads=n_threads,
        )

    @staticmethod
    def _check_range(r, name, limit):
        arr = as_array(r, name, np.float64)
        if arr.shape != (2,) or not np.isfinite(arr).all() or not (-limit <= arr[0] < arr[1] <= limit):
            raise ValueError(f"{name} must be (low, high) with -{limit:g} <= low < high <= {limit:g}, got {_short(r)}")
        return arr

    @classmethod
    def _from_runs(cls, shape, runs, lat_range, lon_range, method="exact", weighted=False):
        if len(shape) != 2:
            raise ValueError(f"a GeoMask has 2 axes, got shape {list(shape)}")
        lat = cls._check_range(lat_range, "lat_range", 90.0)
        lon = cls._check_range(lon_range, "lon_range", 180.0)
        return cls._from_index(shape, runs, (lon[0], lon[1], lat[0], lat[1]), "upper", method, weighted)

    def _params(self) -> dict:
        lon0, lon1, lat0, lat1 = self._extent.tolist()
        return {
            "shape": list(self._shape),
            "lat_range": [lat0, lat1],
            "lon_range": [lon0, lon1],
            "method": self._method,
            "weighted": self.weighted,
        }

    @classmethod
    def _restore(cls, params, shape, runs):
        return cls._from_runs(
            shape, runs, params["lat_range"], params["lon_range"], params["method"], params["weighted"]
        )

    def _sin_lat_edge(self, shape, origin, step):
        edges = origin[1] + step[1] * np.arange(shape[0] + 1)
        edges[-1] = self._extent[2]  # exact southern edge
        return np.sin(np.radians(edges))

    def _row_measure(self, sin_lat_edge, step):
        return math.radians(step[0]) * (sin_lat_edge[:-1] - sin_lat_edge[1:])

    def _lat_series(self, sin_lat_edge):
        """Per row, asin about the row's top edge a = sin(lat_top) as a series in d = s - a:
        (asin a, then the coefficients of d, d^2, d^3, d^4), so that a latitude costs four
        multiply-adds instead of an asin. NaN coefficients where the first omitted term,
        bounded over the row, could exceed 2^-56 of the row's smallest |latitude| (the
        rows at the poles and across the equator, and coarse grids): asin is used there."""
        a, b = sin_lat_edge[:-1], sin_lat_edge[1:]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inv_c = 1.0 / np.sqrt(1.0 - a * a)  # 1 / cos(lat_top): asin' (a)
            inv_c2 = inv_c * inv_c
            series = np.stack(
                [
                    np.arcsin(a),
                    inv_c,
                    0.5 * a * inv_c * inv_c2,
                    (1.0 + 2.0 * a * a) / 6.0 * inv_c * inv_c2 * inv_c2,
                    (9.0 * a + 6.0 * a * a * a) / 24.0 * inv_c * inv_c2 * inv_c2 * inv_c2,
                ],
                axis=1,
            )
            s = np.maximum(np.abs(a), np.abs(b))  # asin^(5) grows with |s|
            fifth = (9.0 + 72.0 * s**2 + 24.0 * s**4) / (1.0 - s * s) ** 4.5 / 120.0 * np.abs(b - a) ** 5
            smallest = np.minimum(np.abs(np.arcsin(a)), np.abs(np.arcsin(b)))
            exact = (fifth <= 2.0**-56 * smallest) & (a * b > 0)
        series[~exact, 1:] = np.nan
        return np.ascontiguousarray(series).ravel()  # (n_rows * 5,): row r at [5 r, 5 r + 5)

    def _box_measure(self) -> float:
        lo, hi = self._box
        e = self._index["sin_lat_edge"]
        return math.radians(self._index["step"][0]) * (hi[0] - lo[0]) * (e[int(lo[1])] - e[int(hi[1])])

    @property
    def area_km2(self) -> float:
        """Area in km² on a sphere of radius :data:`EARTH_RADIUS_KM`."""
        return self._volume * EARTH_RADIUS_KM**2

    def _like(self, mask, weights):
        lon0, lon1, lat0, lat1 = self._extent
        return GeoMask(mask, (lat0, lat1), (lon0, lon1), weights=weights, method=self._method)
