"""The protocol every gensample model keeps (DESIGN.md)."""

from __future__ import annotations

import abc

import numpy as np

from ._validation import check_count, check_float_dtype, check_n_threads, empty_output


class Distribution(abc.ABC):
    """A generative model ``p_model``: it samples and evaluates its log-density.

    Subclasses define :attr:`dim`, :meth:`sample` and :meth:`logpdf`. ``sample(n, rng)``
    returns ``(n, dim)`` and is reproducible row by row: ``sample(n, rng=s)[a:b]`` equals
    ``sample(m, rng=s)[a:b]`` for any ``m >= b``.
    """

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of dimensions of a sample."""

    @abc.abstractmethod
    def sample(self, n, rng=None, dtype=np.float64, n_threads=None) -> np.ndarray:
        """Draw ``n`` samples, shape ``(n, dim)``."""

    @abc.abstractmethod
    def logpdf(self, x, n_threads=None) -> np.ndarray:
        """Log-density at each row of ``x`` (shape ``(n, dim)``), shape ``(n,)``."""

    def _sample_by_rows(self, n, rng, dtype, n_threads) -> np.ndarray:
        """``sample`` for models that fill rows ``r0 ..`` of stream ``key`` in place with
        ``_sample_rows(key, r0, out, n_threads)``: checks the arguments, allocates, fills."""
        from .random import key_from_rng

        n = check_count(n)
        dtype = check_float_dtype(dtype)
        threads = check_n_threads(n_threads)
        out = empty_output(n, self.dim, dtype)
        self._sample_rows(key_from_rng(rng), 0, out, threads)
        return out

    def pdf(self, x, n_threads=None) -> np.ndarray:
        """Density at each row of ``x``: ``exp(logpdf(x))``."""
        return np.exp(self.logpdf(x, n_threads=n_threads))
