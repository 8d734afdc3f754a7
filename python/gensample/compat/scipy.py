"""``scipy.stats.gaussian_kde`` on gensample's KDE engine: same constructor, attributes and
methods, same numbers (to about 1e-13), exact in the tails, parallel.

>>> import numpy as np
>>> from gensample.compat.scipy import gaussian_kde
>>> kde = gaussian_kde(np.random.default_rng(0).normal(size=(2, 400)))
>>> kde.logpdf([[0.0], [0.0]]).shape, kde.resample(5, seed=1).shape
((1,), (2, 5))
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_array, as_dataset, as_sample_weights, check_count, check_real
from ..kde import KDE, _cholesky, weighted_covariance
from ..random import key_from_rng

__all__ = ["gaussian_kde"]


def _seed_to_rng(seed):
    """scipy's seed forms (None, int, Generator, RandomState) as a gensample rng."""
    if isinstance(seed, np.random.RandomState):
        return [int(v) for v in seed.randint(0, 2**32, size=2, dtype=np.uint64)]
    if not isinstance(seed, np.random.Generator):
        key_from_rng(seed, "seed")  # checked here, to name scipy's argument
    return seed


class gaussian_kde:  # noqa: N801 (scipy's name)
    """Gaussian KDE with scipy's interface: ``dataset`` is ``(d, n)``, points are ``(d, m)``.

    ``bw_method`` is ``"scott"`` (default), ``"silverman"``, a scalar factor, or a callable
    taking this object and returning the factor; the kernel covariance is the weighted data
    covariance times ``factor**2``.
    """

    def __init__(self, dataset, bw_method=None, weights=None):
        self.dataset = np.atleast_2d(as_array(dataset, "dataset"))
        if not self.dataset.size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        self.d, self.n = self.dataset.shape
        self._X = as_dataset(self.dataset.T, name="dataset")
        if weights is not None:
            self._weights = as_sample_weights(np.atleast_1d(as_array(weights, "weights")), self.n, data="dataset")
            self._neff = 1.0 / float(self._weights @ self._weights)
        if self.d > self.n:
            raise ValueError(
                "Number of dimensions is greater than number of samples: the data covariance is "
                "singular. gaussian_kde takes each *column* of `dataset` as a point; consider "
                "transposing `dataset`."
            )
        self.set_bandwidth(bw_method=bw_method)

    # ---- bandwidth ----------------------------------------------------------------------

    @property
    def weights(self) -> np.ndarray:
        if not hasattr(self, "_weights"):
            self._weights = np.full(self.n, 1.0 / self.n)
        return self._weights

    @property
    def neff(self) -> float:
        if not hasattr(self, "_neff"):
            self._neff = 1.0 / float(self.weights @ self.weights)
        return self._neff

    def scotts_factor(self) -> float:
        return float(np.power(self.neff, -1.0 / (self.d + 4)))

    def silverman_factor(self) -> float:
        return float(np.power(self.neff * (self.d + 2.0) / 4.0, -1.0 / (self.d + 4)))

    covariance_factor = scotts_factor

    def set_bandwidth(self, bw_method=None) -> None:
        if bw_method is None:
            pass
        elif isinstance(bw_method, str) and bw_method == "scott":
            self.covariance_factor = self.scotts_factor
        elif isinstance(bw_method, str) and bw_method == "silverman":
            self.covariance_factor = self.silverman_factor
        elif np.isscalar(bw_method) and not isinstance(bw_method, str):
            self._bw_method = "use constant"
            self.covariance_factor = lambda: bw_method
        elif callable(bw_method):
            self._bw_method = bw_method
            self.covariance_factor = lambda: self._bw_method(self)
        else:
            raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar or a callable.")
        self._compute_covariance()

    def _compute_covariance(self) -> None:
        self.factor = self.covariance_factor()
        if not (np.isfinite(self.factor) and self.factor > 0 and np.isfinite(self.factor * self.factor)):
            raise ValueError(f"bw_method must give a positive finite bandwidth factor, got {self.factor!r}")
        if not hasattr(self, "_data_cho_cov"):
            self._data_covariance = weighted_covariance(self._X, self.weights)
            self._data_cho_cov = _cholesky(self._data_covariance, "the data covariance")
        self.covariance = self._data_covariance * self.factor**2
        self.cho_cov = (self._data_cho_cov * self.factor).astype(np.float64)
        self.log_det = 2 * np.log(np.diag(self.cho_cov * np.sqrt(2 * np.pi))).sum()
        self._kde = KDE(kernel="gaussian")
        self._kde._set(self._X, self.weights, self.covariance, self.cho_cov)

    @property
    def inv_cov(self) -> np.ndarray:
        return np.linalg.inv(self._data_covariance) / self.factor**2

    # ---- evaluate -----------------------------------------------------------------------

    def _points(self, x) -> np.ndarray:
        """scipy's (d, m) points (or one (d,) point) as (m, d) rows."""
        points = np.atleast_2d(as_array(x, "points"))
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:  # a row vector: one point
                points = np.reshape(points, (self.d, 1))
            else:
                raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")
        return points.T.astype(np.float64)

    def logpdf(self, x) -> np.ndarray:
        return self._kde.logpdf(self._points(x))

    def evaluate(self, points) -> np.ndarray:
        return np.exp(self.logpdf(points))

    __call__ = evaluate
    pdf = evaluate

    def integrate_box_1d(self, low, high) -> float:
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        stdev = float(np.ravel(np.sqrt(self.covariance))[0])
        x = self.dataset[0]
        erf = np.vectorize(math.erf, otypes=[float])
        low, high = check_real(low, "low", finite=False), check_real(high, "high", finite=False)
        lo, hi = (low - x) / (stdev * math.sqrt(2)), (high - x) / (stdev * math.sqrt(2))
        return float(self.weights @ (0.5 * (erf(hi) - erf(lo))))

    # ---- sample -------------------------------------------------------------------------

    def resample(self, size=None, seed=None) -> np.ndarray:
        """``size`` draws as a ``(d, size)`` array (``size`` defaults to ``int(neff)``)."""
        size = int(self.neff) if size is None else check_count(size, "size")
        return self._kde.sample(size, rng=_seed_to_rng(seed)).T

    def marginal(self, dimensions) -> gaussian_kde:
        dims = np.atleast_1d(dimensions)
        if not np.issubdtype(dims.dtype, np.integer):
            raise ValueError(
                "Elements of `dimensions` must be integers - the indices of the marginal variables being retained."
            )
        n = len(self.dataset)
        original = dims.copy()
        dims = np.where(dims < 0, n + dims, dims)
        if len(np.unique(dims)) != len(dims):
            raise ValueError("All elements of `dimensions` must be unique.")
        bad = (dims < 0) | (dims >= n)
        if bad.any():
            raise ValueError(f"Dimensions {original[bad]} are invalid for a distribution in {n} dimensions.")
        return gaussian_kde(self.dataset[dims], bw_method=self.covariance_factor(), weights=self.weights)
