"""Twins of cpp/src/regions.cpp."""

from __future__ import annotations

import numpy as np

from .random import uniform


def box_sample(key: int, low, high, n: int, dtype=np.float64) -> np.ndarray:
    low = np.asarray(low, dtype=np.float64)
    width = np.asarray(high, dtype=np.float64) - low
    u = uniform(key, n, low.shape[0], dtype=dtype).astype(np.float64)
    return (low + width * u).astype(dtype)


def box_contains(x, low, high) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.all((x >= low) & (x <= high), axis=1)
