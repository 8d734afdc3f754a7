"""Polygons with holes, and sets of disjoint polygons: exact uniform sampling.

Triangulated once at construction (ear clipping with holes bridged in, C++); a sample picks
a triangle by alias table over the areas and a uniform point in it. ``contains`` counts edge
crossings over a strip index of the edges.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import _core
from ._typing import ArrayLike
from ._validation import as_points, as_real_array, check_n_threads
from .regions import Region

__all__ = ["MultiPolygon", "Polygon"]


def _ring(points, name: str) -> np.ndarray:
    arr = as_real_array(points, name, (None, 2), expected="(n_vertices, 2)")
    if arr.shape[0] < 3:
        raise ValueError(f"{name} needs at least 3 vertices, got {arr.shape[0]}")
    return arr


def _rings(value, name: str) -> list:
    """A sequence of rings (or polygons) as a list; anything else is named in the error."""
    if (
        isinstance(value, (str, bytes, dict))
        or not isinstance(value, Iterable)
        or (isinstance(value, np.ndarray) and value.ndim == 0)
    ):
        raise TypeError(f"{name} must be a sequence of rings, got {type(value).__name__}")
    return list(value)


def _is_ring_like(value) -> bool:
    """A (shell, holes) pair has a shell of vertices first, not a vertex."""
    try:
        return np.ndim(value) == 2 or (len(value) > 0 and not np.isscalar(value[0]))
    except (TypeError, ValueError):
        return False


class _Polygons(Region):
    """Shared machinery: a list of (shell, holes) that do not overlap."""

    def _setup(self, parts) -> None:
        rings, ring_ptr, poly_ptr = [], [0], [0]
        for shell, holes in parts:
            for r in (shell, *holes):
                rings.append(r)
                ring_ptr.append(ring_ptr[-1] + r.shape[0])
            poly_ptr.append(len(rings))
        self._parts = [(s, tuple(h)) for s, h in parts]
        self._xy = np.ascontiguousarray(np.concatenate(rings))
        self._ring_ptr = np.array(ring_ptr, dtype=np.int64)
        self._poly_ptr = np.array(poly_ptr, dtype=np.int64)
        tri, area = _core.polygon.triangulate(self._xy, self._ring_ptr, self._poly_ptr)
        self._tri, self._tri_area = tri, area
        self._alias = _core.random.alias_table(area)
        self._strips = _core.polygon.strips(self._xy, self._ring_ptr, self._poly_ptr)
        self._area = float(area.sum())
        for a in (self._xy, self._tri):
            a.setflags(write=False)

    @property
    def dim(self) -> int:
        return 2

    @property
    def volume(self) -> float:
        """Area enclosed (shells minus holes)."""
        return self._area

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax)."""
        lo, hi = self._xy.min(axis=0), self._xy.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @property
    def triangles(self) -> np.ndarray:
        """The triangulation, shape (m, 3, 2)."""
        t = self._tri
        a = t[:, 0:2]
        return np.stack([a, a + t[:, 2:4], a + t[:, 4:6]], axis=1)

    def _draw(self, key, rows, out, n_threads, r0=0):
        prob, alias = self._alias
        _core.polygon.sample(self._tri, prob, alias, key, rows, r0, out, n_threads)

    def contains(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Whether each point is inside (an odd number of edges to its right), shape ``(n,)``."""
        x = as_points(x, 2)
        return _core.polygon.contains(self._strips, x, check_n_threads(n_threads))

    @staticmethod
    def from_shapely(geom) -> _Polygons:
        """A :class:`Polygon` or :class:`MultiPolygon` from a shapely geometry of that type."""
        import shapely

        if isinstance(geom, shapely.Polygon):
            return Polygon(np.asarray(geom.exterior.coords), [np.asarray(h.coords) for h in geom.interiors])
        if isinstance(geom, shapely.MultiPolygon):
            return MultiPolygon(
                [(np.asarray(g.exterior.coords), [np.asarray(h.coords) for h in g.interiors]) for g in geom.geoms]
            )
        raise TypeError(f"geom must be a shapely Polygon or MultiPolygon, got {type(geom).__name__}")

    def __getstate__(self):
        return {"parts": self._parts}

    def __setstate__(self, state):
        self._setup(state["parts"])

    def _save_state(self):
        return {}, {"xy": self._xy, "ring_ptr": self._ring_ptr, "poly_ptr": self._poly_ptr}, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        """Rings back from the flat arrays; the constructor checks and triangulates them again."""
        from .io import float_array, int_array

        xy = float_array(arrays["xy"], "xy", 2)
        ring_ptr, poly_ptr = int_array(arrays["ring_ptr"], "ring_ptr"), int_array(arrays["poly_ptr"], "poly_ptr")
        for name, ptr, end in (("ring_ptr", ring_ptr, len(xy)), ("poly_ptr", poly_ptr, len(ring_ptr) - 1)):
            if len(ptr) < 2 or ptr[0] != 0 or ptr[-1] != end or (np.diff(ptr) <= 0).any():
                raise ValueError(f"{name} must rise from 0 to {end}")
        rings = [xy[a:b] for a, b in zip(ring_ptr[:-1], ring_ptr[1:])]
        parts = [(rings[a], rings[a + 1 : b]) for a, b in zip(poly_ptr[:-1], poly_ptr[1:])]
        if cls is Polygon:
            if len(parts) != 1:
                raise ValueError(f"a Polygon has one shell, the file has {len(parts)}")
            return Polygon(*parts[0])
        return MultiPolygon(parts)


class Polygon(_Polygons):
    """The uniform distribution on a polygon with holes.

    Parameters
    ----------
    shell : array_like, shape (n, 2)
        The outer ring, in either orientation; repeating the first vertex at the end is
        allowed.
    holes : sequence of array_like, shape (m, 2)
        Inner rings, inside the shell and not touching it or each other.

    Rings that cross or touch, fold back, hold fewer than 3 distinct vertices or have zero
    area raise ``ValueError`` at construction, saying which ring and where.

    >>> import gensample as gs
    >>> square = [(0, 0), (4, 0), (4, 4), (0, 4)]
    >>> frame = gs.Polygon(square, holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]])
    >>> frame.area
    12.0
    >>> x = frame.sample(1000, rng=0)
    >>> bool(frame.contains(x).all())
    True
    """

    def __init__(self, shell, holes=()):
        shell = _ring(shell, "shell")
        holes = [_ring(h, f"holes[{i}]") for i, h in enumerate(_rings(holes, "holes"))]
        self._setup([(shell, holes)])

    @property
    def shell(self) -> np.ndarray:
        return self._parts[0][0]

    @property
    def holes(self) -> tuple:
        return self._parts[0][1]

    def __repr__(self) -> str:
        return f"Polygon({self.shell.shape[0]} vertices, {len(self.holes)} holes, area={self._area:.6g})"


class MultiPolygon(_Polygons):
    """The uniform distribution on a union of disjoint polygons (each may have holes).

    Parameters
    ----------
    polygons : sequence of Polygon or (shell, holes) pairs or shells

    >>> import gensample as gs
    >>> two = gs.MultiPolygon([[(0, 0), (1, 0), (0, 1)], [(5, 5), (6, 5), (6, 6), (5, 6)]])
    >>> two.area
    1.5
    """

    def __init__(self, polygons):
        parts = []
        for i, p in enumerate(_rings(polygons, "polygons")):
            if isinstance(p, Polygon):
                parts.append(p._parts[0])
            elif isinstance(p, tuple) and len(p) == 2 and _is_ring_like(p[0]):
                holes = _rings(p[1], f"polygons[{i}] holes")
                parts.append(
                    (
                        _ring(p[0], f"polygons[{i}] shell"),
                        [_ring(h, f"polygons[{i}] hole {k}") for k, h in enumerate(holes)],
                    )
                )
            else:
                parts.append((_ring(p, f"polygons[{i}]"), []))
        if not parts:
            raise ValueError("polygons must not be empty")
        self._setup(parts)

    @property
    def polygons(self) -> list:
        return [Polygon(s, h) for s, h in self._parts]

    def __repr__(self) -> str:
        return f"MultiPolygon({len(self._parts)} polygons, area={self._area:.6g})"
