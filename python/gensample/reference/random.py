"""Twins of cpp/src/random.cpp: uniforms, normals and integers on the Philox stream."""

from __future__ import annotations

import numpy as np

from .philox import counters, philox4x32_10, words64


def _blocks(key: int, n: int, slots: int, tag: int = 0) -> np.ndarray:
    """Blocks (n, slots, 4) for counters (i, s, tag)."""
    rows = np.repeat(np.arange(n, dtype=np.uint64), slots)
    slot = np.tile(np.arange(slots, dtype=np.uint64), n)
    return philox4x32_10(counters(rows, slot, tag), key).reshape(n, slots, 4)


def _rows(vals: np.ndarray, n: int, dim: int) -> np.ndarray:
    """(n, slots, per_block) values -> the (n, dim) output: column k of slot s is s * per_block + k."""
    return np.ascontiguousarray(vals.reshape(n, vals.shape[1] * vals.shape[2])[:, :dim])


def u53(w: np.ndarray) -> np.ndarray:
    return (w >> np.uint64(11)).astype(np.float64) * 2.0**-53


def uniform(key: int, n: int, dim: int, dtype=np.float64) -> np.ndarray:
    if np.dtype(dtype) == np.float32:
        b = _blocks(key, n, -(-dim // 4))
        vals = (b >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)
        return _rows(vals, n, dim)
    w0, w1 = words64(_blocks(key, n, -(-dim // 2)))
    return _rows(np.stack([u53(w0), u53(w1)], axis=-1), n, dim)


def box_muller(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normals from two 64-bit words, with libm's log/sin/cos (the C++ uses its own)."""
    u1 = ((w0 >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0**-53  # (0, 1]
    u2 = u53(w1)  # [0, 1)
    r = np.sqrt(-2.0 * np.log(u1))
    # 2*pi*u2 reduced exactly by quarter turns, as in the C++: 4 u2 = q + f, |f| <= 1/2.
    t = 4.0 * u2
    q = np.rint(t)
    x = (t - q) * (np.pi / 2)
    s, c = np.sin(x), np.cos(x)
    q = q.astype(np.int64) & 3
    sin_v = np.where(q & 1, c, s)
    cos_v = np.where(q & 1, s, c)
    sin_v = np.where(q & 2, -sin_v, sin_v)
    cos_v = np.where((q + 1) & 2, -cos_v, cos_v)
    return r * cos_v, r * sin_v


def normal(key: int, n: int, dim: int, dtype=np.float64) -> np.ndarray:
    w0, w1 = words64(_blocks(key, n, -(-dim // 2)))
    z0, z1 = box_muller(w0, w1)
    return _rows(np.stack([z0, z1], axis=-1), n, dim).astype(dtype)


def lemire(key: int, row: int, slot: int, word: int, w: int, high: int) -> int:
    """Lemire's multiply-shift on word w; a rejected word retries at (row, slot, level << 24)."""
    threshold = (2**64 - high) % high
    level = 0
    while True:
        m = w * high
        if (m & (2**64 - 1)) >= threshold:
            return m >> 64
        level += 1
        block = philox4x32_10(counters([row], slot, level << 24), key)
        w = int(words64(block)[word][0])


def integers(key: int, n: int, dim: int, high: int) -> np.ndarray:
    """Unbiased integers in [0, high): Lemire's method on each 64-bit word."""
    slots = -(-dim // 2)
    w0, w1 = words64(_blocks(key, n, slots))
    words = np.stack([w0, w1], axis=-1)  # (n, slots, 2)
    out = np.empty(words.shape, dtype=np.int64)
    for idx in np.ndindex(words.shape):
        i, s, j = idx
        out[idx] = lemire(key, i, s, j, int(words[idx]), high)
    return _rows(out, n, dim)
