"""Twins of cpp/src/polygon.cpp: sampling triangles and the crossing-number test.

(The triangulation itself is checked by its properties in tests/test_polygon.py: exact area,
every triangle inside, agreement with shapely.)"""

from __future__ import annotations

import numpy as np

from .draws import alias_pick, draws, u01, vose


def sample(key, rows, tri, area):
    """Triangle by alias table over areas, then (u, v) folded into the triangle."""
    prob, alias = vose(area)
    w = draws(key, rows, 2)
    t = tri[alias_pick(key, rows, w, prob, alias)]
    u, v = u01(w[:, 2]), u01(w[:, 3])
    fold = u + v > 1.0
    u, v = np.where(fold, 1.0 - u, u), np.where(fold, 1.0 - v, v)
    return np.c_[t[:, 0] + u * t[:, 2] + v * t[:, 4], t[:, 1] + u * t[:, 3] + v * t[:, 5]]


def contains(x, rings) -> np.ndarray:
    """Even-odd rule over the edges of all rings (each an (n, 2) array, not closed)."""
    x = np.asarray(x, dtype=np.float64)
    px, py = x[:, :1], x[:, 1:]
    inside = np.zeros(x.shape[0], dtype=bool)
    for r in rings:
        a, b = r, np.roll(r, -1, axis=0)
        keep = a[:, 1] != b[:, 1]
        a, b = a[keep], b[keep]
        cross = (a[:, 1] > py) != (b[:, 1] > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = a[:, 0] + (py - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        inside ^= (np.count_nonzero(cross & (px < xi), axis=1) % 2).astype(bool)
    return inside
