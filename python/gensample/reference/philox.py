"""Philox4x32-10 in vectorised NumPy (twin of cpp/include/gensample/philox.hpp)."""

from __future__ import annotations

import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counters, key: int) -> np.ndarray:
    """Blocks for counters of shape (m, 4) uint32 under a 64-bit key -> (m, 4) uint32."""
    c = np.asarray(counters, dtype=np.uint32).reshape(-1, 4).astype(np.uint64)
    x0, x1, x2, x3 = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    k0, k1 = int(key) & 0xFFFFFFFF, (int(key) >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0 = M0 * x0
        p1 = M1 * x2
        x0, x1, x2, x3 = (
            (p1 >> np.uint64(32)) ^ x1 ^ np.uint64(k0),
            p1 & MASK32,
            (p0 >> np.uint64(32)) ^ x3 ^ np.uint64(k1),
            p0 & MASK32,
        )
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return np.stack([x0, x1, x2, x3], axis=1).astype(np.uint32)


def counters(rows, slot=0, tag=0) -> np.ndarray:
    """Counters (row mod 2^32, row >> 32, slot, tag) for each row (broadcasting)."""
    rows = np.asarray(rows, dtype=np.uint64)
    rows, slot, tag = np.broadcast_arrays(rows, np.asarray(slot, dtype=np.uint64), np.asarray(tag, dtype=np.uint64))
    return np.stack([rows & MASK32, rows >> np.uint64(32), slot & MASK32, tag & MASK32], axis=-1).astype(np.uint32)


def words64(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two 64-bit words of each block: v0 | v1 << 32 and v2 | v3 << 32."""
    b = blocks.astype(np.uint64)
    return b[..., 0] | (b[..., 1] << np.uint64(32)), b[..., 2] | (b[..., 3] << np.uint64(32))


def subkey(key: int, index: int) -> int:
    """Key of sub-stream ``index`` of ``key``: words 0-1 of block (index, 2^32-1, 2^32-1)."""
    ctr = np.array([[index & 0xFFFFFFFF, index >> 32, 0xFFFFFFFF, 0xFFFFFFFF]], dtype=np.uint32)
    b = philox4x32_10(ctr, key)[0].astype(np.uint64)
    return int(b[0] | (b[1] << np.uint64(32)))
