"""Two-sample metrics against the code users write today, in one process.

MMD^2 (Gaussian kernel, median bandwidth, the unbiased estimate: the x-x, y-y and x-y sums)
and the energy distance at 10^5 x 10^5 in 2-D and 16-D: gensample (tiled C++, 2 threads)
against scipy ``cdist`` in row blocks (NumPy exp and sum) and ``torch.cdist`` in row
blocks (2 threads). The peers run on 10^4 x 10^4 (the ratio is per kernel evaluation);
their memory is the distance block they allocate (scipy: measured by tracemalloc; torch:
block rows x m x itemsize), gensample's what tracemalloc sees of its tile copies.
Error = |value - float64 reference| / |reference|, the reference a float64 NumPy run on
the same 10^4 points.

Usage:  python bench/bench_metrics.py [--n 100000] [--peer-n 10000] [--threads T]
"""

from __future__ import annotations

import argparse
import tracemalloc
from functools import partial

import numpy as np
from harness import Case, optional, run

import gensample as gs

BLOCK = 1024  # peer rows per distance block


def cdist_sum(x, y, f):
    from scipy.spatial.distance import cdist

    return sum(float(f(cdist(x[a : a + BLOCK], y, "sqeuclidean")).sum()) for a in range(0, len(x), BLOCK))


def torch_sum(x, y, f):
    import torch

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return sum(float(f(torch.cdist(tx[a : a + BLOCK], ty) ** 2).sum()) for a in range(0, len(x), BLOCK))


def mmd_with(total, x, y, h):
    g = 1 / (2 * h * h)
    n, m = len(x), len(y)
    sxx = total(x, x, lambda d2: np.exp(-g * d2) if isinstance(d2, np.ndarray) else (-g * d2).exp())
    syy = total(y, y, lambda d2: np.exp(-g * d2) if isinstance(d2, np.ndarray) else (-g * d2).exp())
    sxy = total(x, y, lambda d2: np.exp(-g * d2) if isinstance(d2, np.ndarray) else (-g * d2).exp())
    return (sxx - n) / (n * (n - 1)) + (syy - m) / (m * (m - 1)) - 2 * sxy / (n * m)


def energy_with(total, x, y):
    root = lambda d2: np.sqrt(d2) if isinstance(d2, np.ndarray) else d2.clamp_min(0).sqrt()  # noqa: E731
    a = total(x, y, root) / (len(x) * len(y))
    b = total(x, x, root) / len(x) ** 2
    c = total(y, y, root) / len(y) ** 2
    return float(np.sqrt(max(2 * a - b - c, 0.0)))


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10**5)
    p.add_argument("--peer-n", type=int, default=10**4)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    torch = optional("torch")
    threads = args.threads or gs.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    gs.set_num_threads(threads)
    n, pn = args.n, args.peer_n
    cases = []
    for d, dtype in ((2, np.float64), (16, np.float32), (16, np.float64)):
        rng = np.random.default_rng(d)
        x = rng.normal(size=(n, d)).astype(dtype)
        y = (rng.normal(size=(n, d)) * 1.1 + 0.05).astype(dtype)
        xs, ys = x[:pn], y[:pn]
        h = gs.metrics.median_bandwidth(x, y)
        tag = f"d = {d}, {np.dtype(dtype).name}"
        exact_small = mmd_with(cdist_sum, xs.astype(np.float64), ys.astype(np.float64), h)
        small = gs.metrics.mmd(xs, ys, bandwidth=h)
        err = abs(small - exact_small) / abs(exact_small)
        gs_mem = peak_bytes(partial(gs.metrics.mmd, x, y, bandwidth=h))
        sc_mem = peak_bytes(partial(mmd_with, cdist_sum, xs, ys, h))
        torch_block = BLOCK * pn * np.dtype(dtype).itemsize
        note_sc = (
            f"error {err:.1e}; memory: gensample {gs_mem / 2**20:.1f} MiB at 1e5 x 1e5, "
            f"scipy blocks {sc_mem / 2**20:.0f} MiB at 1e4 x 1e4"
        )
        cases.append(
            Case(
                f"mmd {tag}",
                lambda x=x, y=y, h=h: gs.metrics.mmd(x, y, bandwidth=h),
                lambda xs=xs, ys=ys, h=h: mmd_with(cdist_sum, xs, ys, h),
                "scipy cdist blocks",
                3.0 * n * n,
                3.0 * pn * pn,
                note=lambda s=note_sc: s,
            )
        )
        if torch is not None:
            cases.append(
                Case(
                    f"mmd {tag}",
                    lambda x=x, y=y, h=h: gs.metrics.mmd(x, y, bandwidth=h),
                    lambda xs=xs, ys=ys, h=h: mmd_with(torch_sum, xs, ys, h),
                    "torch.cdist blocks",
                    3.0 * n * n,
                    3.0 * pn * pn,
                    note=lambda b=torch_block: f"torch block {b / 2**20:.0f} MiB",
                )
            )
        if dtype == np.float64:
            exact_e = energy_with(cdist_sum, xs, ys)
            e_err = abs(gs.metrics.energy_distance(xs, ys) - exact_e) / exact_e
            cases.append(
                Case(
                    f"energy {tag}",
                    lambda x=x, y=y: gs.metrics.energy_distance(x, y),
                    lambda xs=xs, ys=ys: energy_with(cdist_sum, xs, ys),
                    "scipy cdist blocks",
                    3.0 * n * n,
                    3.0 * pn * pn,
                    note=lambda e=e_err: f"error {e:.1e}",
                )
            )
            if torch is not None:
                cases.append(
                    Case(
                        f"energy {tag}",
                        lambda x=x, y=y: gs.metrics.energy_distance(x, y),
                        lambda xs=xs, ys=ys: energy_with(torch_sum, xs, ys),
                        "torch.cdist blocks",
                        3.0 * n * n,
                        3.0 * pn * pn,
                    )
                )
    run("metrics", cases, repeats=args.repeats)


if __name__ == "__main__":
    main()
