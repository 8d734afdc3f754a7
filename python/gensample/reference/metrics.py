"""Twins of cpp/src/metrics.cpp and of gensample.metrics, in plain NumPy (chunked rows)."""

from __future__ import annotations

import numpy as np


def _d2(x, y) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def pair_sums(kind: str, y, weight, x, gamma: float) -> np.ndarray:
    """sum_j w_j k(|x_i - y_j|): gaussian exp(-gamma r^2), laplacian exp(-gamma r), distance r."""
    out = np.empty(len(x))
    for a in range(0, len(x), 256):
        d2 = _d2(x[a : a + 256], y)
        if kind == "gaussian":
            k = np.exp(-gamma * d2)
        elif kind == "laplacian":
            k = np.exp(-gamma * np.sqrt(d2))
        elif kind == "distance":
            k = np.sqrt(d2)
        else:
            raise KeyError(kind)
        out[a : a + 256] = k @ np.asarray(weight, dtype=np.float64)
    return out


def nearest(y, x, k: int, skip_self: bool) -> np.ndarray:
    """The k smallest squared distances from each row of x to y, ascending."""
    d2 = _d2(x, y)
    if skip_self:
        np.fill_diagonal(d2, np.inf)
    d2 = np.sort(d2, axis=1)[:, :k]
    if d2.shape[1] < k:
        d2 = np.pad(d2, ((0, 0), (0, k - d2.shape[1])), constant_values=np.inf)
    return d2


def in_any_ball(y, radius2, x) -> np.ndarray:
    return np.asarray((_d2(x, y) <= np.asarray(radius2)[None, :]).any(axis=1))


def mmd2(x, y, gamma: float, kind: str = "gaussian") -> float:
    """The unbiased MMD^2 with k = exp(-gamma r^2) (or exp(-gamma r))."""
    f = (lambda d2: np.exp(-gamma * d2)) if kind == "gaussian" else (lambda d2: np.exp(-gamma * np.sqrt(d2)))
    kxx, kyy, kxy = f(_d2(x, x)), f(_d2(y, y)), f(_d2(x, y))
    n, m = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )


def energy_distance(x, y) -> float:
    """sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|) of the empirical distributions (scipy's)."""
    a, b, c = np.sqrt(_d2(x, y)).mean(), np.sqrt(_d2(x, x)).mean(), np.sqrt(_d2(y, y)).mean()
    return float(np.sqrt(max(2 * a - b - c, 0.0)))


def wasserstein_1d(u, v, p: float = 1.0) -> float:
    """W_p between the empirical distributions of u and v: the integral over t of
    |F^-1(t) - G^-1(t)|^p, exact on the merged breakpoints."""
    u, v = np.sort(u), np.sort(v)
    t = np.union1d(np.arange(1, len(u) + 1) / len(u), np.arange(1, len(v) + 1) / len(v))
    dt = np.diff(np.concatenate([[0.0], t]))
    mid = t - dt / 2
    fu = u[np.minimum((mid * len(u)).astype(np.int64), len(u) - 1)]
    fv = v[np.minimum((mid * len(v)).astype(np.int64), len(v) - 1)]
    return float((dt * np.abs(fu - fv) ** p).sum() ** (1 / p))
