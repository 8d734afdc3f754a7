"""gs.random.uniform / normal against numpy.random.Generator (PCG64), same output shape.

Two modes: both sides fill a preallocated array (`out=`), and both sides allocate a fresh
(n, dim) array per call (which adds the operating system's page zeroing to both). NumPy's Generator is single-threaded;
gensample uses all cores (`--threads` to change). Usage:

    python bench/bench_random.py [--n 100000000] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse

import numpy as np
from harness import Case, run

import gensample as gs


def cases(n: int) -> list[Case]:
    g = np.random.default_rng(0)
    out = []
    # Into a preallocated array (out=): the generators alone, without the kernel's page
    # zeroing of a fresh allocation, which both sides otherwise pay.
    for dtype in (np.float64, np.float32):
        dn = np.dtype(dtype).name
        buf = np.zeros((n, 1), dtype=dtype)
        out.append(
            Case(
                f"uniform {dn} ({n:.0e}, 1) out=",
                lambda b=buf, t=dtype: gs.random.uniform(n, 1, rng=1, dtype=t, out=b),
                lambda b=buf, t=dtype: g.random(dtype=t, out=b),
                "Generator.random",
                n,
            )
        )
        out.append(
            Case(
                f"normal {dn} ({n:.0e}, 1) out=",
                lambda b=buf, t=dtype: gs.random.normal(n, 1, rng=1, dtype=t, out=b),
                lambda b=buf, t=dtype: g.standard_normal(dtype=t, out=b),
                "Generator.standard_normal",
                n,
            )
        )
    for dtype in (np.float64, np.float32):
        dn = np.dtype(dtype).name
        for dim in (1, 10):
            rows = n // dim
            out.append(
                Case(
                    f"uniform {dn} ({rows:.0e}, {dim})",
                    lambda r=rows, d=dim, t=dtype: gs.random.uniform(r, d, rng=1, dtype=t),
                    lambda r=rows, d=dim, t=dtype: g.random((r, d), dtype=t),
                    "Generator.random",
                    rows * dim,
                )
            )
            out.append(
                Case(
                    f"normal {dn} ({rows:.0e}, {dim})",
                    lambda r=rows, d=dim, t=dtype: gs.random.normal(r, d, rng=1, dtype=t),
                    lambda r=rows, d=dim, t=dtype: g.standard_normal((r, d), dtype=t),
                    "Generator.standard_normal",
                    rows * dim,
                )
            )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10**8, help="values per call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    gs.set_num_threads(args.threads)
    run("random", cases(args.n), repeats=args.repeats)


if __name__ == "__main__":
    main()
