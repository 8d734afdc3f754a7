"""Twins of cpp/src/raster.cpp: run index, exact and rejection samplers, cell lookup."""

from __future__ import annotations

import numpy as np

from .draws import alias_pick, draws, u01, vose


def runs(mask2d, weights2d=None):
    """(row_ptr, start, length, weight): maximal stretches of active cells of equal weight."""
    mask2d = np.asarray(mask2d, dtype=bool)
    row_ptr, start, length, weight = [0], [], [], []
    for r in range(mask2d.shape[0]):
        c, n = 0, mask2d.shape[1]
        while c < n:
            w = 1.0 if weights2d is None else float(weights2d[r, c])
            if not mask2d[r, c] or w <= 0:
                c += 1
                continue
            e = c + 1
            while e < n and mask2d[r, e] and (weights2d is None or weights2d[r, e] == w):
                e += 1
            start.append(c), length.append(e - c), weight.append(w)
            c = e
        row_ptr.append(len(start))
    return (
        np.array(row_ptr, dtype=np.int64),
        np.array(start, dtype=np.uint32),
        np.array(length, dtype=np.uint32),
        np.array(weight),
    )


def _leading(shape, run_row, u, origin, step, sin_lat_edge, lat_series=None):
    """Coordinates 1..dim-1 of points in the rows run_row, from uniforms u (n, dim).

    On the sphere the latitude is asin(a + u (b - a)) between the row's edges a and b; where
    the row has a series (lat_series), asin a + d (c1 + d (c2 + d (c3 + d c4))) with
    d = u (b - a) instead, in the same order of operations as the C++.
    """
    dim = len(shape)
    cols = {}
    if sin_lat_edge is not None:
        a, b = sin_lat_edge[run_row], sin_lat_edge[run_row + 1]
        lat = np.arcsin(a + u[:, 1] * (b - a))
        if lat_series is not None:
            c = lat_series.reshape(-1, 5)[run_row]
            d = u[:, 1] * (b - a)
            series = c[:, 0] + d * (c[:, 1] + d * (c[:, 2] + d * (c[:, 3] + d * c[:, 4])))
            lat = np.where(np.isnan(c[:, 1]), lat, series)
        cols[1] = lat * (180.0 / np.pi)
        return cols
    rem = run_row.astype(np.int64)
    for axis in range(dim - 2, -1, -1):
        j = dim - 1 - axis
        i = rem % shape[axis]
        rem = rem // shape[axis]
        cols[j] = origin[j] + (i + u[:, j]) * step[j]
    return cols


def sample_exact(key, rows, shape, row_ptr, start, length, mass, origin, step, sin_lat_edge=None, lat_series=None):
    """Exact samples at the given rows: run by alias table, then uniform in the run."""
    dim = len(shape)
    run_row = np.repeat(np.arange(row_ptr.size - 1), np.diff(row_ptr))
    prob, alias = vose(mass)
    w = draws(key, rows, 1 + (dim + 1) // 2)
    run = alias_pick(key, rows, w, prob, alias)
    u = u01(w[:, 2:])
    out = np.empty((len(rows), dim))
    out[:, 0] = origin[0] + (start[run] + u[:, 0] * length[run]) * step[0]
    for j, v in _leading(shape, run_row[run], u, origin, step, sin_lat_edge, lat_series).items():
        out[:, j] = v
    return out


def locate(x, shape, row_ptr, start, length, origin, step):
    """The run holding each point, or -1 (half-open cells; the grid's far edges included)."""
    x = np.asarray(x, dtype=np.float64)
    dim = len(shape)
    c = (x - origin) / step
    idx = np.floor(c)
    ok = np.ones(x.shape[0], dtype=bool)
    for j in range(dim):
        size = shape[dim - 1 - j]
        far = (idx[:, j] == size) & (c[:, j] == size)
        idx[far, j] = size - 1
        ok &= (idx[:, j] >= 0) & (idx[:, j] < size)
    idx = np.where(ok[:, None], idx, 0).astype(np.int64)
    row = np.zeros(x.shape[0], dtype=np.int64)
    for axis in range(dim - 1):
        row = row * shape[axis] + idx[:, dim - 1 - axis]
    out = np.full(x.shape[0], -1, dtype=np.int64)
    for i in np.flatnonzero(ok):
        a, b = row_ptr[row[i]], row_ptr[row[i] + 1]
        k = a + np.searchsorted(start[a:b], idx[i, 0], side="right") - 1
        if k >= a and idx[i, 0] < int(start[k]) + int(length[k]):
            out[i] = k
    return out


def sample_rejection(
    key, rows, shape, row_ptr, start, length, weight, origin, step, box_lo, box_hi, sin_lat_edge=None, weighted=False
):
    """Rejection at the given rows: attempt a reads blocks (row, s, a)."""
    dim = len(shape)
    slots = (dim + int(weighted) + 1) // 2
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((rows.size, dim))
    pending = np.arange(rows.size)
    max_w = weight.max()
    for attempt in range(1 << 24):
        if pending.size == 0:
            return out
        u = u01(draws(key, rows[pending], slots, attempt))
        c = box_lo + u[:, :dim] * (box_hi - box_lo)
        if sin_lat_edge is not None:
            s_lo, s_hi = sin_lat_edge[int(box_lo[1])], sin_lat_edge[int(box_hi[1])]
            lat = np.degrees(np.arcsin(s_lo + u[:, 1] * (s_hi - s_lo)))
            c[:, 1] = (lat - origin[1]) / step[1]
        run = locate(origin + c * step, shape, row_ptr, start, length, origin, step)
        ok = run >= 0
        if weighted:
            ok &= u[:, dim] * max_w < weight[np.maximum(run, 0)]
        x = origin + c * step
        if sin_lat_edge is not None:
            x[:, 1] = lat
        out[pending[ok]] = x[ok]
        pending = pending[~ok]
    raise RuntimeError("ran out of attempts")
