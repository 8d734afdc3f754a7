"""Twins of cpp/include/gensample/draws.hpp: per-sample blocks and Vose's alias table."""

from __future__ import annotations

import numpy as np

from .philox import counters, philox4x32_10, words64
from .random import lemire


def draws(key: int, rows, slots: int, tag: int = 0) -> np.ndarray:
    """Words (n, 2 * slots) uint64: w[:, 2s + j] is word j of block (row, s, tag)."""
    rows = np.asarray(rows, dtype=np.uint64)
    ctr = counters(np.repeat(rows, slots), np.tile(np.arange(slots, dtype=np.uint64), rows.size), tag)
    w0, w1 = words64(philox4x32_10(ctr, key).reshape(rows.size, slots, 4))
    return np.stack([w0, w1], axis=-1).reshape(rows.size, 2 * slots)


def u01(w: np.ndarray) -> np.ndarray:
    return (w >> np.uint64(11)).astype(np.float64) * 2.0**-53


def column(key: int, rows, w0: np.ndarray, n: int) -> np.ndarray:
    """Lemire's column in [0, n) from word 0 of slot 0 of each row."""
    rows = np.asarray(rows, dtype=np.uint64)
    return np.array([lemire(key, int(r), 0, 0, w, n) for r, w in zip(rows.tolist(), w0.tolist())], dtype=np.int64)


def vose(mass) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table, in the C++ order: (prob, alias)."""
    mass = np.asarray(mass, dtype=np.float64)
    n = mass.size
    total = 0.0
    for v in mass.tolist():  # left to right, as the C++ sums
        total += v
    scaled = (mass * (n / total)).tolist()
    prob, alias = np.zeros(n), np.zeros(n, dtype=np.uint32)
    small = [j for j in range(n) if scaled[j] < 1.0]
    large = [j for j in range(n) if not scaled[j] < 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    for j in large + small:
        prob[j], alias[j] = 1.0, j
    return prob, alias


def alias_pick(key: int, rows, w: np.ndarray, prob, alias) -> np.ndarray:
    """The outcome of each sample from its slot-0 words (column, then coin)."""
    c = column(key, rows, w[:, 0], prob.size)
    return np.where(u01(w[:, 1]) < prob[c], c, alias[c])
