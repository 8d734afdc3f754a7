"""Judging ``p_model``: how far its samples are from the data, and whether they stay where
the data live.

Two-sample distances (``mmd``, ``mmd_test``, ``energy_distance``, ``sliced_wasserstein``),
precision and recall of a generative model (k-NN balls, Kynkäänniemi et al. 2019), support
precision and recall against a known region, and the mean log-likelihood. The pairwise
sums run in C++ (``cpp/src/metrics.cpp``) over tiles of the second set, so memory is
O((n + m) d) however many pairs: 10^5 x 10^5 comparisons never build a matrix. float32
input (both sets) is computed in float32 and summed in float64.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _core
from ._progress import Progress
from ._tiles import pack
from ._typing import ArrayLike, RngLike
from ._validation import (
    _short,
    as_array,
    as_dataset,
    check_allocation,
    check_bool,
    check_choice,
    check_n_threads,
    check_positive_int,
    check_real,
)
from .distribution import Distribution
from .random import key_from_rng

__all__ = [
    "energy_distance",
    "mean_logpdf",
    "median_bandwidth",
    "mmd",
    "mmd_test",
    "precision_recall",
    "sliced_wasserstein",
    "support_precision",
    "support_recall",
]

_MEDIAN_POINTS = 1000  # points of the pooled sample the median heuristic looks at


def _pair(x, y, name_x="x", name_y="y"):
    """Both sets as (n, d) arrays of one float type (float32 only when both are), same d."""
    x, y = as_array(x, name_x), as_array(y, name_y)
    dtype = np.float32 if x.dtype == np.float32 and y.dtype == np.float32 else np.float64
    x, y = as_dataset(x, dtype=dtype, name=name_x, squares=True), as_dataset(y, dtype=dtype, name=name_y, squares=True)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{name_x} and {name_y} must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def _sums(kind: str, x, y, gamma: float, threads: int, weight=None) -> np.ndarray:
    """sum_j w_j k(|x_i - y_j|) for every row of x (float64)."""
    tiles = pack(y, weight=(1.0 if weight is None else weight, 0.0))
    return _core.metrics.pair_sums(_core.metrics.Pair[kind], tiles, x, float(gamma), threads)


def median_bandwidth(x: ArrayLike, y=None, rng=0) -> float:
    """The median heuristic: the median distance between points of the pooled sample (of
    at most 1000 points of it, drawn with ``rng``)."""
    z = as_dataset(x) if y is None else np.concatenate(_pair(x, y)).astype(np.float64)
    if len(z) > _MEDIAN_POINTS:
        z = z[np.random.default_rng(key_from_rng(rng)).choice(len(z), _MEDIAN_POINTS, replace=False)]
    i, j = np.triu_indices(len(z), 1)
    d = np.sqrt(((z[i] - z[j]) ** 2).sum(axis=1)) if len(z) > 1 else np.zeros(0)
    h = float(np.median(d[d > 0])) if (d > 0).any() else 0.0
    if not h > 0:
        raise ValueError("the median heuristic needs at least two distinct points in x and y: pass a bandwidth")
    return h


def _gamma(kernel: str, bandwidth, x, y) -> float:
    check_choice(kernel, ("gaussian", "laplacian"), "kernel")
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a positive number, got {_short(bandwidth)}")
        h = median_bandwidth(x, y)
    elif (
        isinstance(bandwidth, numbers.Real)
        and not isinstance(bandwidth, bool)
        and math.isfinite(bandwidth)
        and float(bandwidth) > 0
    ):
        h = float(bandwidth)
    else:
        raise ValueError(f"bandwidth must be 'median' or a positive finite number, got {_short(bandwidth)}")
    if kernel == "laplacian":
        gamma = 1 / h
    else:  # h * h underflows to 0 for tiny h
        gamma = 1 / (2 * h * h) if h * h > 0 else math.inf
    if not math.isfinite(gamma):
        raise ValueError(f"bandwidth={h!r} is too small: 1 / bandwidth^2 overflows")
    return gamma


def _mmd2_from_sums(sxx: float, syy: float, sxy: float, n: int, m: int) -> float:
    """Unbiased MMD^2 from the three full sums (diagonals k(x, x) = 1 included)."""
    return (sxx - n) / (n * (n - 1)) + (syy - m) / (m * (m - 1)) - 2 * sxy / (n * m)


def _check_sizes(x, y, what: str) -> None:
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"{what} needs at least 2 points in each of x and y, got {len(x)} and {len(y)}")


def mmd(x: ArrayLike, y, kernel="gaussian", bandwidth="median", n_threads: int | None = None) -> float:
    """The unbiased estimate of the squared maximum mean discrepancy between the samples.

    ``k(x, y) = exp(-|x - y|^2 / (2 h^2))`` (``kernel="gaussian"``) or ``exp(-|x - y| / h)``
    (``"laplacian"``); ``bandwidth`` is ``h`` or ``"median"`` (the median heuristic on the
    pooled sample). Near 0 (and possibly negative) when both come from one distribution.

    >>> import numpy as np, gensample as gs
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    >>> abs(gs.metrics.mmd(x, y)) < 1e-3, gs.metrics.mmd(x, y + 1.0) > 0.1
    (True, True)
    """
    x, y = _pair(x, y)
    _check_sizes(x, y, "mmd")
    threads = check_n_threads(n_threads)
    gamma = _gamma(kernel, bandwidth, x, y)
    sxx = float(_sums(kernel, x, x, gamma, threads).sum())
    syy = float(_sums(kernel, y, y, gamma, threads).sum())
    sxy = float(_sums(kernel, x, y, gamma, threads).sum())
    return _mmd2_from_sums(sxx, syy, sxy, len(x), len(y))


def mmd_test(
    x: ArrayLike,
    y,
    n_permutations=200,
    kernel="gaussian",
    bandwidth="median",
    rng: RngLike = None,
    n_threads: int | None = None,
    progress: bool = False,
):
    """A permutation test of "x and y come from one distribution": ``(mmd2, p_value)``.

    The bandwidth is fixed on the pooled sample; each of ``n_permutations`` random splits
    of the pooled sample gives an MMD^2, and ``p = (1 + #{MMD^2_perm >= MMD^2}) / (1 + P)``.
    Each permutation costs (n + m) n kernel evaluations. ``progress=True`` reports the
    permutations on stderr (:func:`gensample.generate`'s rules).
    """
    x, y = _pair(x, y)
    _check_sizes(x, y, "mmd_test")
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    threads = check_n_threads(n_threads)
    progress = check_bool(progress, "progress")
    gamma = _gamma(kernel, bandwidth, x, y)
    z = np.concatenate([x, y])
    n, m = len(x), len(y)
    total = float(_sums(kernel, z, z, gamma, threads).sum())  # the same for every split

    def statistic(first: np.ndarray) -> float:
        inside = np.zeros(n + m, dtype=bool)
        inside[first] = True
        r = _sums(kernel, z, z[first], gamma, threads)  # sum over the first group, for every point
        sxx, sxy = float(r[inside].sum()), float(r[~inside].sum())
        return _mmd2_from_sums(sxx, total - sxx - 2 * sxy, sxy, n, m)

    observed = statistic(np.arange(n))
    gen = np.random.default_rng(key_from_rng(rng))
    null = np.empty(n_permutations)
    with Progress(n_permutations, progress, "mmd_test", unit="permutations") as bar:
        for i in range(n_permutations):
            null[i] = statistic(gen.permutation(n + m)[:n])
            bar.update(1)
    return observed, float((1 + np.count_nonzero(null >= observed)) / (1 + n_permutations))


def energy_distance(x: ArrayLike, y, n_threads: int | None = None) -> float:
    """The energy distance ``sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|)`` between the
    empirical distributions of the samples (scipy's ``energy_distance`` in 1-D; 0 only when
    they are equal).

    >>> import numpy as np, gensample as gs
    >>> round(gs.metrics.energy_distance([[0.0], [1.0]], [[0.0], [1.0]]), 12)
    0.0
    """
    x, y = _pair(x, y)
    threads = check_n_threads(n_threads)
    a = float(_sums("distance", x, y, 0.0, threads).sum()) / (len(x) * len(y))
    b = float(_sums("distance", x, x, 0.0, threads).sum()) / len(x) ** 2
    c = float(_sums("distance", y, y, 0.0, threads).sum()) / len(y) ** 2
    return math.sqrt(max(2 * a - b - c, 0.0))


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray, p: float) -> np.ndarray:
    """W_p^p between the columns' empirical distributions (u (n, P), v (m, P), sorted)."""
    n, m = len(u), len(v)
    if n == m:
        return (np.abs(u - v) ** p).mean(axis=0)
    t = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    dt = np.diff(np.concatenate([[0.0], t]))
    mid = t - dt / 2  # inside each interval both quantile functions are constant
    iu = np.minimum((mid * n).astype(np.int64), n - 1)
    iv = np.minimum((mid * m).astype(np.int64), m - 1)
    return (dt[:, None] * np.abs(u[iu] - v[iv]) ** p).sum(axis=0)


def sliced_wasserstein(x: ArrayLike, y, n_projections=128, p=2, rng: RngLike = None) -> float:
    """The sliced Wasserstein distance: ``(E_theta W_p^p(theta . X, theta . Y))^(1/p)`` over
    ``n_projections`` directions uniform on the sphere (from ``rng``'s Philox stream), each
    1-D distance exact between the projected empirical distributions.

    >>> import gensample as gs
    >>> gs.metrics.sliced_wasserstein([[0.0], [1.0]], [[3.0], [4.0]])   # a 1-D shift by 3
    3.0
    """
    from .random import normal

    x, y = _pair(x, y)
    n_projections = check_positive_int(n_projections, "n_projections")
    check_allocation(8 * n_projections * x.shape[1], f"n_projections={n_projections} directions")
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and float(p) >= 1 and math.isfinite(p)):
        raise ValueError(f"p must be a finite number >= 1, got {_short(p)}")
    d = x.shape[1]
    theta = normal(n_projections, d, rng=rng) if d > 1 else np.ones((n_projections, 1))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    total = np.zeros(n_projections)
    for a in range(0, n_projections, 32):  # bounded memory: 32 projections of both sets at a time
        th = theta[a : a + 32].T
        u = np.sort(x.astype(np.float64) @ th, axis=0)
        v = np.sort(y.astype(np.float64) @ th, axis=0)
        total[a : a + 32] = _wasserstein_sorted(u, v, float(p))
    return float(np.mean(total) ** (1 / p))


def _knn_radius2(x: np.ndarray, k: int, threads: int, name: str) -> np.ndarray:
    if len(x) <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} points in {name}, got {len(x)}")
    return _core.metrics.nearest(pack(x, weight=(1.0, 0.0)), x, k, True, threads)[:, k - 1]


def _covered(centres: np.ndarray, radius2: np.ndarray, x: np.ndarray, threads: int) -> np.ndarray:
    tiles = pack(centres, weight=(1.0, 0.0), radius2=(radius2, -np.inf))
    return _core.metrics.in_any_ball(tiles, x, threads)


def precision_recall(real, fake, k=3, n_threads: int | None = None) -> tuple[float, float]:
    """Improved precision and recall of a generative model (Kynkäänniemi et al. 2019).

    Each real point gets a ball reaching its k-th nearest real neighbour; ``precision`` is
    the share of fake points inside some real ball (are the samples realistic?) and
    ``recall`` the share of real points inside some fake ball, built the same way on the
    fakes (is the data's variety covered?).

    >>> import numpy as np, gensample as gs
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(2000, 2))
    >>> p, r = gs.metrics.precision_recall(real, 0.3 * rng.normal(size=(2000, 2)))   # collapsed model
    >>> p > 0.95, r < 0.6
    (True, True)
    """
    real, fake = _pair(real, fake, "real", "fake")
    k = check_positive_int(k, "k")
    if k > 64:
        raise ValueError(f"k must be at most 64, got {k}")
    threads = check_n_threads(n_threads)
    precision = float(np.mean(_covered(real, _knn_radius2(real, k, threads, "real").astype(real.dtype), fake, threads)))
    recall = float(np.mean(_covered(fake, _knn_radius2(fake, k, threads, "fake").astype(fake.dtype), real, threads)))
    return precision, recall


def _points_for(model, x, name: str, kind=Distribution, what="a gensample Distribution") -> np.ndarray:
    """``x`` checked as points of ``model``'s dimension, ``model`` checked to be a ``kind``."""
    if not isinstance(model, kind):
        raise TypeError(
            f"{'region' if kind is not Distribution else 'model'} must be {what}, got {type(model).__name__}"
        )
    x = as_dataset(x, name=name)
    if x.shape[1] != model.dim:
        raise ValueError(f"{name} must have the dimension {model.dim}, got {x.shape[1]}")
    return x


def mean_logpdf(model, x: ArrayLike, n_threads: int | None = None) -> float:
    """The mean log-likelihood of the rows of ``x`` under ``model`` (nats per point)."""
    x = _points_for(model, x, "x")
    return float(np.mean(model.logpdf(x, n_threads=n_threads)))


def support_precision(samples, region, n_threads: int | None = None) -> float:
    """The share of ``samples`` inside the true support ``region`` (points the model should
    never generate count against it)."""
    from .regions import Region

    x = _points_for(region, samples, "samples", Region, "a gensample region")
    return float(np.mean(region.contains(x, n_threads=n_threads)))


def support_recall(
    model, region, n=100_000, rng: RngLike = None, log_threshold=None, n_threads: int | None = None
) -> float:
    """The share of the true ``region`` that ``model`` covers, from ``n`` points drawn in it.

    A region model covers the points it contains; a density covers the points where
    ``logpdf > log_threshold`` (default: where the density is not zero).
    """
    from .regions import Region

    if not isinstance(region, Region):
        raise TypeError(f"region must be a gensample region, got {type(region).__name__}")
    if not isinstance(model, Distribution):
        raise TypeError(f"model must be a gensample Distribution, got {type(model).__name__}")
    if model.dim != region.dim:
        raise ValueError(f"the model and the region must have one dimension, got {model.dim} and {region.dim}")
    n = check_positive_int(n, "n")
    threshold = -np.inf if log_threshold is None else check_real(log_threshold, "log_threshold", finite=False)
    x = region.sample(n, rng=rng, n_threads=n_threads)
    if isinstance(model, Region) and log_threshold is None:
        return float(np.mean(model.contains(x, n_threads=n_threads)))
    return float(np.mean(model.logpdf(x, n_threads=n_threads) > threshold))
