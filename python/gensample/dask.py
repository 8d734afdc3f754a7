"""Samples as a Dask array: any number of rows, computed block by block on a cluster.

Each block is rows ``r0 .. r1`` of the model's stream, computed on a worker from the
block's global row offset, so the array equals ``gs.generate(dist, n, rng)`` (and
``dist.sample(n, rng)``) bit for bit, for any ``chunks`` and any number of workers. The
model is one node of the graph, so it travels once per computation; with ``client=`` it
is scattered to every worker once instead (large models, such as the world's land at
15 MB, computed more than once).

Threads: Dask starts its worker processes with ``OMP_NUM_THREADS=1`` and runs one task per
worker thread. ``sample`` does not rely on the environment: every block runs with the
``n_threads`` it is given (default 1, right for the usual one worker thread per core; a
worker with one thread on a machine of c cores can use ``n_threads=c``). The values do not
depend on it.

A labelled model (:class:`gensample.Conditional`) gives two arrays, ``(X, labels)``, built on
the same blocks: computed together (``dask.compute(X, labels)``) each block is drawn once.

Needs ``dask[array]`` (``pip install "gensample[dask]"``, which also brings
``distributed`` and ``zarr``).
"""

from __future__ import annotations

import numpy as np

from ._typing import Count, DTypeLike, RngLike
from ._validation import check_count, check_float_dtype, check_positive_int, require
from .random import key_from_rng
from .scale import check_model, default_chunk, draw, label_values

__all__ = ["sample"]


def _block(block_info=None, dist=None, key=0, out_dtype="float64", n_threads=1):
    """One block: the rows its place in the array names."""
    (r0, r1), _ = block_info[None]["array-location"]
    out = np.empty((r1 - r0, dist.dim), dtype=out_dtype)
    dist._sample_rows(key, r0, out, n_threads)
    return out


def _labelled_block(dist, key, r0, r1, out_dtype, n_threads):
    """One block of a labelled model: its rows and their labels."""
    out = np.empty((r1 - r0, dist.dim), dtype=out_dtype)
    codes = draw(dist, key, r0, out, n_threads, True)
    return out, dist.classes_[codes]


def _row_chunks(chunks, n: int, dim: int, dtype) -> tuple:
    if chunks is None:
        chunks = default_chunk(dim, dtype)
    if isinstance(chunks, (tuple, list)):
        sizes = tuple(check_count(c, "chunks") for c in chunks)
        if sum(sizes) != n:
            raise ValueError(f"chunks must add up to n={n}, got {sum(sizes)}")
        return sizes
    step = check_positive_int(chunks, "chunks")
    return tuple(min(step, n - a) for a in range(0, n, step)) or (0,)


def sample(dist, n: Count, chunks=None, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads=1, client=None):
    """``n`` rows of ``dist`` as a lazy ``dask.array`` of shape ``(n, dim)``.

    Parameters
    ----------
    dist : Distribution
        Any gensample model; it must pickle (every built-in one does).
    n : int
    chunks : int or tuple of ints, optional
        Rows per block (default: 32 MiB blocks), or the block sizes themselves.
    rng : seed, SeedSequence, Generator or None
        The stream (as for ``sample``); fixed when the array is built.
    dtype : float64 or float32
    n_threads : int, default 1
        OpenMP threads each block uses on its worker (module docstring).
    client : distributed.Client, optional
        Scatter the model to all of this client's workers now (one copy each) and refer to
        it from the graph; the array must then be computed on that client.

    >>> import gensample as gs, numpy as np
    >>> gmm = gs.GMM.from_parameters([0.5, 0.5], [[0.0], [3.0]], [1.0, 1.0], covariance="spherical")
    >>> x = gs.dask.sample(gmm, 10_000, chunks=3_000, rng=0)
    >>> x.chunks[0]
    (3000, 3000, 3000, 1000)
    >>> bool((x.compute() == gmm.sample(10_000, rng=0)).all())
    True
    >>> cond = gs.Conditional.from_models({"a": gmm, "b": gs.Box([5.0], [6.0])})
    >>> x, labels = gs.dask.sample(cond, 1000, chunks=300, rng=0)
    >>> bool((labels.compute() == cond.sample(1000, rng=0)[1]).all())
    True
    """
    dask = require("dask", "gensample.dask", "dask")
    da = require("dask.array", "gensample.dask", "dask")
    dist = check_model(dist)
    n = check_count(n)
    dtype = check_float_dtype(dtype)
    n_threads = check_positive_int(n_threads, "n_threads")
    dim = dist.dim
    rows = _row_chunks(chunks, n, dim, dtype)
    if client is None:
        model = dask.delayed(dist, pure=False, traverse=False)  # one graph node, shipped once per worker
    else:
        model = client.scatter(dist, broadcast=True, hash=False)  # on every worker already
    key = key_from_rng(rng)
    name = f"gensample-{type(dist).__name__.lower()}-" + dask.base.tokenize(model.key, key, rows, dtype.str)
    classes = label_values(dist)
    if classes is not None:
        xs, ys, r0 = [], [], 0
        for i, size in enumerate(rows):
            block = dask.delayed(_labelled_block, pure=True, nout=2)(
                model, key, r0, r0 + size, dtype.name, n_threads, dask_key_name=(name, i)
            )
            xs.append(da.from_delayed(block[0], shape=(size, dim), dtype=dtype))
            ys.append(da.from_delayed(block[1], shape=(size,), dtype=classes.dtype))
            r0 += size
        return da.concatenate(xs), da.concatenate(ys)
    return da.map_blocks(
        _block,
        chunks=(rows, (dim,)),
        dtype=dtype,
        meta=np.empty((0, dim), dtype=dtype),
        name=name,
        dist=model,
        key=key,
        out_dtype=dtype.name,
        n_threads=n_threads,
    )
