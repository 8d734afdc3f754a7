"""The protocol every gensample model keeps (DESIGN.md)."""

from __future__ import annotations

import abc

import numpy as np

from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import check_bool, check_count, check_float_dtype, check_n_threads, empty_output


class Distribution(abc.ABC):
    """A generative model ``p_model``: it samples and evaluates its log-density.

    Subclasses define :attr:`dim`, :meth:`sample` and :meth:`logpdf`. ``sample(n, rng)``
    returns ``(n, dim)`` and is reproducible row by row: ``sample(n, rng=s)[a:b]`` equals
    ``sample(m, rng=s)[a:b]`` for any ``m >= b``.

    A model that can draw any range of rows of its stream on its own defines
    ``_sample_rows(key, r0, out, n_threads)``: fill ``out`` with rows ``r0 .. r0 + len(out)``
    of the sample of 64-bit stream ``key``. Every gensample model does; it is what
    :func:`gensample.generate` and :func:`gensample.dask.sample` call, chunk by chunk.
    """

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of dimensions of a sample."""

    @abc.abstractmethod
    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        """Draw ``n`` samples, shape ``(n, dim)``."""

    @abc.abstractmethod
    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Log-density at each row of ``x`` (shape ``(n, dim)``), shape ``(n,)``."""

    def _sample_by_rows(self, n, rng, dtype, n_threads, progress=False) -> np.ndarray:
        """``sample`` for models that fill rows ``r0 ..`` of stream ``key`` in place with
        ``_sample_rows(key, r0, out, n_threads)``: checks the arguments, allocates, fills
        (with progress, in 100 batches: rows are pure functions of (key, row))."""
        from ._progress import Progress
        from .random import key_from_rng

        n = check_count(n)
        dtype = check_float_dtype(dtype)
        threads = check_n_threads(n_threads)
        progress = check_bool(progress, "progress")
        out = empty_output(n, self.dim, dtype)
        key = key_from_rng(rng)
        if not progress:
            self._sample_rows(key, 0, out, threads)
            return out
        step = max(1, -(-n // 100))
        with Progress(n, True, f"{type(self).__name__}.sample") as bar:
            for r0 in range(0, n, step):
                self._sample_rows(key, r0, out[r0 : r0 + step], threads)
                bar.update(len(out[r0 : r0 + step]))
        return out

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        raise TypeError(
            f"{type(self).__name__} cannot draw a range of rows on its own: define "
            "_sample_rows(key, r0, out, n_threads) to use it with gs.generate and gs.dask"
        )

    def save(self, path, overwrite: bool = False):
        """Write the model to a ``.npz`` model file that :func:`gensample.load` reads
        (format: :mod:`gensample.io`); returns the path."""
        from .io import save

        return save(self, path, overwrite=overwrite)

    def pdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Density at each row of ``x``: ``exp(logpdf(x))``."""
        return np.exp(self.logpdf(x, n_threads=n_threads))
