"""
Gaussian mixtures: passes over points, EM sums, k-means, sampling.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['em_chunk', 'em_moments', 'kmeans_plusplus', 'lloyd_step', 'log_density', 'responsibilities', 'sample', 'score']
def em_chunk(n: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Points per chunk of the EM sums.
    """
def em_moments(mixture: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], full: bool, n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], float]:
    """
    One E-step pass: (weight (k,), first (k, d), second (k, packed or d), weighted log-likelihood).
    """
def kmeans_plusplus(x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], k: typing.SupportsInt | typing.SupportsIndex, trials: typing.SupportsInt | typing.SupportsIndex, key: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    """
    Greedy k-means++ seed indices (k,).
    """
def lloyd_step(x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], centres: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], float]:
    """
    One Lloyd step: (labels (n,), weight (k,), weighted sums (k, d), inertia).
    """
def log_density(mixture: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    log p(x), (m,).
    """
def responsibilities(mixture: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], log: bool, n_threads: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    (p(k | x) (m, k), or its log with log=True; log p(x) (m,)).
    """
def sample(mean: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], chol: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], prob: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], alias: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], key: typing.SupportsInt | typing.SupportsIndex, r0: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], labels: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Rows r0 .. r0 + len(out) of a mixture sample; labels (or None) gets each row's component.
    """
def score(mixture: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    grad_x log p(x), (m, d).
    """
