"""The engines' tile layout (``cpp/include/gensample/tiles.hpp``), packed in one place for the
KDE and the metrics: ``_core.tile`` points per tile, stored dimension-major (coordinate k of
the tile's points are consecutive), so distances run over points in SIMD vectors."""

from __future__ import annotations

import numpy as np

from . import _core


def pack(points: np.ndarray, dtype=None, **per_point) -> dict:
    """``points`` (n, d) as whole tiles of ``dtype`` (default: theirs), padded with zeros,
    and each ``name=(values, pad)`` as an array of one value per tiled point, ``pad`` past
    ``n``: the dict the engines read by name (``Named`` in the bindings).

    >>> t = pack(np.arange(6.0).reshape(3, 2), weight=(1.0, 0.0))
    >>> t["points"].shape, t["weight"][:4].tolist()
    ((1, 2, 64), [1.0, 1.0, 1.0, 0.0])
    """
    dtype = np.dtype(points.dtype if dtype is None else dtype)
    tile = _core.tile
    n, d = points.shape
    tiles = -(-n // tile)
    padded = np.zeros((tiles * tile, d), dtype=dtype)
    padded[:n] = points
    out = {"points": np.ascontiguousarray(padded.reshape(tiles, tile, d).transpose(0, 2, 1))}
    for name, (values, pad) in per_point.items():
        column = np.full(tiles * tile, pad, dtype=dtype)
        column[:n] = values
        out[name] = column
    return out
