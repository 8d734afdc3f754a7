"""Kernel density estimation: exact, stable and fast log-densities, scores and samples.

The engine (``cpp/src/kde.cpp``) whitens once at fit (queries and data are mapped by
``L^-1``, with ``H = L L^T`` the bandwidth matrix), then sums every kernel over tiles of the
data with a running maximum per query: no ``log(pdf)``, no floor under the density, exact
to rounding even hundreds of bandwidths from the data, and never an ``n x m`` matrix.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from ._tiles import pack
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    _short,
    as_dataset,
    as_points,
    as_real_array,
    as_sample_weights,
    check_n_threads,
    check_squares,
    is_symmetric,
)
from .distribution import Distribution

__all__ = ["KDE", "KERNELS", "log_kernel_norm"]

# Radial profiles f(r) of the kernels, K(u) = f(|u|) / norm: scikit-learn's set.
_KERNEL = _core.kde.Kernel.__members__  # name -> kde.hpp's Kernel, exported from C++
KERNELS = tuple(_KERNEL)


def _cosine_moment(k: int) -> float:
    """int_0^1 r^k cos(pi r / 2) dr, from the cosine series (alternating, terms fall fast)."""
    a = math.pi / 2
    terms, j = [], 0
    while True:
        t = a ** (2 * j) / math.factorial(2 * j) / (k + 1 + 2 * j)
        terms.append(-t if j % 2 else t)
        if t < 1e-22 * abs(terms[0]):
            return math.fsum(terms)
        j += 1


def log_kernel_norm(kernel: str, dim: int) -> float:
    """``log`` of the integral of the kernel's profile ``f(|u|)`` over ``R^dim``.

    >>> import math
    >>> round(math.exp(log_kernel_norm("tophat", 2)), 12) == round(math.pi, 12)   # the unit disc
    True
    """
    d = dim
    log_ball = 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)  # volume of the unit ball
    log_sphere = math.log(2) + 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d)  # its surface
    if kernel == "gaussian":
        return 0.5 * d * math.log(2 * math.pi)
    if kernel == "tophat":
        return log_ball
    if kernel == "epanechnikov":
        return log_ball + math.log(2.0 / (d + 2))
    if kernel == "exponential":
        return log_sphere + math.lgamma(d)
    if kernel == "linear":
        return log_ball - math.log(d + 1)
    if kernel == "cosine":
        return log_sphere + math.log(_cosine_moment(d - 1))
    raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")


def kernel_variance(kernel: str, dim: int) -> float:
    """E[u_k^2] of one coordinate of a draw u from the kernel (so Cov = this * H).

    >>> kernel_variance("gaussian", 3), kernel_variance("tophat", 1) == 1 / 3
    (1.0, True)
    """
    d = dim
    second = {  # E|u|^2
        "gaussian": d,
        "tophat": d / (d + 2),
        "epanechnikov": d / (d + 4),
        "exponential": d * (d + 1),
        "linear": d * (d + 1) / ((d + 2) * (d + 3)),
    }
    if kernel == "cosine":
        return _cosine_moment(d + 1) / _cosine_moment(d - 1) / d
    return second[kernel] / d


def _check_kernel(kernel) -> str:
    if not isinstance(kernel, str) or kernel not in _KERNEL:
        raise ValueError(f"kernel must be one of {KERNELS}, got {_short(kernel)}")
    return kernel


def weighted_covariance(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The unbiased weighted covariance (``np.cov`` with ``aweights``, as scipy's KDE), (d, d)."""
    if 1.0 / float(w @ w) <= 1.0 + 1e-12:
        raise ValueError(
            "the data covariance is undefined: one effective data point (bandwidth 'scott' and "
            "'silverman' scale the data's covariance); pass a numeric bandwidth"
        )
    return np.atleast_2d(np.cov(X, rowvar=False, aweights=w, bias=False))


def _cholesky(H: np.ndarray, what: str) -> np.ndarray:
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        L = None
    if L is None or not np.isfinite(L).all() or not (np.diag(L) > 0).all():
        # LinAlgError is a ValueError too: code written for scipy's gaussian_kde catches it.
        raise np.linalg.LinAlgError(
            f"{what} is not positive definite; if the data lie in a lower-dimensional subspace "
            "(collinear coordinates, a constant column, fewer points than dimensions), reduce "
            "the dimension first or pass an explicit bandwidth"
        )
    return L


def bandwidth_matrix(bandwidth, X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The bandwidth matrix ``H`` (d, d) of a ``KDE`` for data X with normalised weights w."""
    d = X.shape[1]
    if callable(bandwidth):
        bandwidth = bandwidth(X, w)
        if callable(bandwidth) or isinstance(bandwidth, str):
            raise TypeError("a bandwidth callable must return a number, a vector or a matrix")
    if isinstance(bandwidth, str):
        if bandwidth not in ("scott", "silverman"):
            raise ValueError(
                f"bandwidth must be 'scott', 'silverman', a number, a vector, a matrix or a callable, got {bandwidth!r}"
            )
        n_eff = 1.0 / float(w @ w)
        factor = n_eff ** (-1.0 / (d + 4)) if bandwidth == "scott" else (n_eff * (d + 2) / 4.0) ** (-1.0 / (d + 4))
        return weighted_covariance(X, w) * factor**2
    if isinstance(bandwidth, (bool, np.bool_)):
        raise TypeError("bandwidth must be a number, a vector, a matrix, a rule name or a callable, not bool")
    h = as_real_array(bandwidth, "bandwidth")
    if h.ndim == 0 or h.ndim == 1:
        if h.ndim == 1 and h.shape[0] != d:
            raise ValueError(f"a bandwidth vector needs one value per dimension ({d}), got {h.shape[0]}")
        if not (h > 0).all():
            raise ValueError(f"bandwidth must be positive, got {h.tolist()}")
        return np.diag(np.broadcast_to(h, (d,)) ** 2)
    if h.shape != (d, d):
        raise ValueError(f"a bandwidth matrix must have shape ({d}, {d}), got {h.shape}")
    if not is_symmetric(h, 1e-12):
        raise ValueError("a bandwidth matrix must be symmetric")
    return 0.5 * (h + h.T)


def _times_transpose(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """x @ m.T for the (n, d) points and a (d, d) matrix, without BLAS.

    ``@`` would wake the BLAS thread pool, whose threads then spin for a while on the cores
    that the kernel is about to use, and its sums may be ordered differently on other
    machines. einsum sums in a fixed order;
    the O(n d^2) product is small beside the O(n N d) kernel sums.
    """
    return np.einsum("ij,kj->ik", x, m)


class KDE(Distribution):
    """A kernel density estimate: ``p(x) = sum_i w_i |H|^(-1/2) K(H^(-1/2) (x - x_i))``.

    Parameters
    ----------
    bandwidth : float, array, "scott", "silverman" or callable, default "scott"
        A number ``h`` (``H = h^2 I``, the kernel's scale in data units, as scikit-learn's
        ``bandwidth``), a vector of one ``h`` per dimension (``H = diag(h^2)``), a full
        symmetric positive definite matrix ``H`` (for the Gaussian kernel, its covariance),
        ``"scott"`` / ``"silverman"`` (``H`` = the weighted data covariance times the rule's
        factor squared, as scipy's ``gaussian_kde``: ``n_eff^(-1/(d+4))`` and
        ``(n_eff (d+2)/4)^(-1/(d+4))``), or a callable ``f(X, weights)`` returning one of
        the numeric forms.
    kernel : str, default "gaussian"
        One of :data:`KERNELS`: ``gaussian`` ``exp(-r^2/2)``, ``tophat`` ``1``,
        ``epanechnikov`` ``1 - r^2``, ``exponential`` ``exp(-r)``, ``linear`` ``1 - r``,
        ``cosine`` ``cos(pi r / 2)``, with ``r = |H^(-1/2) (x - x_i)|`` (the compact
        kernels vanish for ``r >= 1``), each normalised in ``d`` dimensions.

    Attributes
    ----------
    data_ : (n, d) float64 array
        Set by :meth:`fit`, as the others.
    weights_ : (n,) array
        Summing to 1.
    n_eff_ : float
        ``1 / sum(w^2)``.
    bandwidth_ : (d, d) array
        The matrix ``H``.
    cholesky_ : (d, d) array
        Its lower Cholesky factor ``L``.

    float32 queries are evaluated in float32 (faster, about 1e-6 relative) and return
    float32; float64 queries are exact to about 1e-13.

    >>> import numpy as np, gensample as gs
    >>> X = np.random.default_rng(0).normal(size=(500, 2))
    >>> kde = gs.KDE(bandwidth="scott").fit(X)
    >>> [round(float(v), 2) for v in kde.logpdf([[0.0, 0.0], [30.0, 0.0]])]   # no floor, even far away
    [-1.94, -3046.03]
    >>> kde.sample(1000, rng=0).shape
    (1000, 2)
    """

    def __init__(self, bandwidth="scott", kernel="gaussian"):
        self.bandwidth = bandwidth
        self.kernel = _check_kernel(kernel)

    # ---- fit ----------------------------------------------------------------------------

    def fit(self, X: ArrayLike, weights: ArrayLike | None = None) -> KDE:
        """Fit to the rows of ``X`` (n, d) with optional non-negative ``weights`` (n,)."""
        X = as_dataset(X)
        n, d = X.shape
        w = np.full(n, 1.0 / n) if weights is None else as_sample_weights(weights, n)
        H = bandwidth_matrix(self.bandwidth, X, w)
        L = _cholesky(H, "the bandwidth matrix (from X and bandwidth)")
        self._set(X, w, H, L)
        return self

    def _set(self, X, w, H, L) -> None:
        """Fitted state from data, normalised weights and the bandwidth matrix with its factor."""
        self.data_, self.weights_, self.bandwidth_, self.cholesky_ = X, w, H, L
        self.n_eff_ = 1.0 / float(w @ w)
        self._linv = np.linalg.inv(L)
        self._offset = -float(np.sum(np.log(np.diag(L)))) - log_kernel_norm(self.kernel, X.shape[1])
        keep = w > 0  # zero-weight points add nothing to a sum
        self._z = _times_transpose(X[keep], self._linv)
        self._log_w = np.log(w[keep])
        self._tiles: dict = {}
        self._alias: tuple[np.ndarray, np.ndarray] | None = None

    def _check_fitted(self) -> None:
        if not hasattr(self, "data_"):
            raise RuntimeError("this KDE is not fitted yet: call fit(X) first")

    def _tiles_for(self, dtype) -> dict:
        """The engine's data in ``dtype`` (``_tiles.pack``), cached: whitened points, their
        log-weights, and their weights divided by the largest."""
        if dtype not in self._tiles:
            log_w_max = float(self._log_w.max())
            weight = np.exp(self._log_w - log_w_max)
            tiles = pack(self._z, dtype, log_weight=(self._log_w, -np.inf), weight=(weight, 0.0))
            self._tiles[dtype] = {**tiles, "log_weight_max": log_w_max}
        return self._tiles[dtype]

    @property
    def dim(self) -> int:
        self._check_fitted()
        return self.data_.shape[1]

    # ---- evaluate -----------------------------------------------------------------------

    def _whiten(self, x) -> np.ndarray:
        """The queries (validated) in whitened coordinates, in their own float type."""
        self._check_fitted()
        x = as_points(x, self.dim)
        return _times_transpose(x.astype(np.float64, copy=False), self._linv).astype(x.dtype, copy=False)

    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Log-density at each row of ``x`` (n, d) -> (n,), in ``x``'s float type.

        ``-inf`` only where the density is truly zero (outside a compact kernel's support).
        """
        y = self._whiten(x)
        threads = check_n_threads(n_threads)
        return _core.kde.log_density(_KERNEL[self.kernel], self._tiles_for(y.dtype), y, self._offset, threads)

    def grad_logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """The score ``grad_x log p(x)`` at each row of ``x`` -> (n, d).

        NaN where the density is zero (outside a compact kernel's support); the tophat
        kernel's score is zero wherever it is defined. Points whose whitened squared distances
        overflow are refused (the log-density there is -inf, and its gradient is not a number).
        """
        y = self._whiten(x)
        check_squares(y, "x (divided by the bandwidth)")
        threads = check_n_threads(n_threads)
        g = _core.kde.grad_log_density(_KERNEL[self.kernel], self._tiles_for(y.dtype), y, threads)
        return _times_transpose(g.astype(np.float64, copy=False), self._linv.T).astype(y.dtype, copy=False)

    def score_samples(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Same as :meth:`logpdf` (scikit-learn's name)."""
        return self.logpdf(x, n_threads=n_threads)

    # ---- sample -------------------------------------------------------------------------

    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        """``n`` draws, ``(n, d)``: a data point picked by weight plus the kernel's noise.

        Exact for every kernel (kde.hpp gives the transforms); row ``i`` is a pure function
        of (seed, i).
        """
        self._check_fitted()
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        """Rows ``r0 .. r0 + len(out)`` of the sample of stream ``key``, into ``out``."""
        if self._alias is None:
            self._alias = _core.random.alias_table(self.weights_)
        prob, alias = self._alias
        _core.kde.sample(_KERNEL[self.kernel], self.data_, self.cholesky_, prob, alias, key, r0, out, n_threads)

    def __repr__(self) -> str:
        return f"KDE(bandwidth={self.bandwidth!r}, kernel={self.kernel!r})"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_tiles"], state["_alias"] = {}, None  # caches: rebuilt on first use
        return state

    # ---- model files (gensample.io) -------------------------------------------------------

    def _save_state(self):
        self._check_fitted()
        b = self.bandwidth
        if isinstance(b, str) or (np.isscalar(b) and not isinstance(b, (bool, np.bool_))):
            bandwidth = b if isinstance(b, str) else float(b)
        elif callable(b):
            bandwidth = None  # a callable's result is bandwidth_; the callable itself is not stored
        else:
            bandwidth = np.asarray(b, dtype=np.float64).tolist()
        return (
            {"kernel": self.kernel, "bandwidth": bandwidth},
            {"data": self.data_, "weights": self.weights_, "bandwidth_matrix": self.bandwidth_},
            {},
        )

    @classmethod
    def _load_state(cls, params, arrays, children):
        from .io import float_array

        X = as_dataset(arrays["data"])
        n, d = X.shape
        w = float_array(arrays["weights"], "weights", 1)
        if w.shape != (n,) or (w < 0).any() or not abs(float(w.sum()) - 1.0) < 1e-9:
            raise ValueError(f"weights must be {n} non-negative numbers summing to 1")
        H = float_array(arrays["bandwidth_matrix"], "bandwidth_matrix", 2)
        if H.shape != (d, d) or not is_symmetric(H, 1e-12):
            raise ValueError(f"bandwidth_matrix must be a symmetric ({d}, {d}) matrix")
        bandwidth = params["bandwidth"]
        kde = cls(bandwidth=H if bandwidth is None else bandwidth, kernel=params["kernel"])
        kde._set(X, w, H, _cholesky(H, "the bandwidth matrix"))
        return kde
