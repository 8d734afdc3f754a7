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

from .._validation import as_array, as_dataset, as_sample_weights, check_count, check_real, require
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
        if weights is not None:
            self._weights = as_sample_weights(np.atleast_1d(as_array(weights, "weights")), self.n, data="dataset")
            self._neff = 1.0 / float(self._weights @ self._weights)
        if self.d > self.n:
            raise ValueError(
                "Number of dimensions is greater than number of samples: the data covariance is "
                "singular. gaussian_kde takes each *column* of `dataset` as a point; consider "
                "transposing `dataset`."
            )
        try:
            self.set_bandwidth(bw_method=bw_method)
        except np.linalg.LinAlgError as exc:
            # scipy's class and the start of its message, which code written for it matches
            raise np.linalg.LinAlgError(
                "The data appears to lie in a lower-dimensional subspace of the space in which it is "
                "expressed: its covariance is singular. Reduce the dimension first (for example by "
                "principal component analysis) and fit gaussian_kde to the transformed data."
            ) from exc

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

    # scipy's API: set_bandwidth replaces this method with an instance attribute, and
    # subclasses override it (the type: ignore comments below are that design).
    covariance_factor = scotts_factor

    def set_bandwidth(self, bw_method=None) -> None:
        if bw_method is None:
            pass
        elif isinstance(bw_method, str) and bw_method == "scott":
            self.covariance_factor = self.scotts_factor  # type: ignore[method-assign]
        elif isinstance(bw_method, str) and bw_method == "silverman":
            self.covariance_factor = self.silverman_factor  # type: ignore[method-assign]
        elif np.isscalar(bw_method) and not isinstance(bw_method, str):
            self._bw_method = "use constant"
            self.covariance_factor = lambda: bw_method  # type: ignore[method-assign,assignment,return-value]
        elif callable(bw_method):
            self._bw_method = bw_method
            self.covariance_factor = lambda: self._bw_method(self)  # type: ignore[method-assign,operator]
        else:
            raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar or a callable.")
        self._compute_covariance()

    def _compute_covariance(self) -> None:
        # scipy keeps subclasses working that set ``dataset`` (and ``d``, ``n``) and call this
        # without ``__init__``; everything else is derived here from those attributes.
        if not hasattr(self, "_X"):
            self._X = as_dataset(np.atleast_2d(self.dataset).T, name="dataset")
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
        return points.T

    def _output_dtype(self, x):
        """scipy's rule: the common type of the data, the points, float64 and the factor."""
        return np.result_type(self.dataset, np.asarray(x), np.float64, np.asarray(self.factor))

    def logpdf(self, x) -> np.ndarray:
        points = self._points(x)
        dtype = self._output_dtype(x)
        if dtype == np.float64:
            return self._kde.logpdf(points.astype(np.float64))
        return _logpdf_longdouble(self, points.astype(dtype), dtype)

    def evaluate(self, points) -> np.ndarray:
        return np.exp(self.logpdf(points))

    __call__ = evaluate
    pdf = evaluate

    # ---- integrate ----------------------------------------------------------------------

    def _gaussian_sum(self, covariance, what: str) -> KDE:
        """This KDE's data with the kernel covariance ``covariance``: the integral of a product
        of Gaussians is a Gaussian in the difference of their means, with the sum of covariances."""
        kde = KDE(kernel="gaussian")
        kde._set(self._X, self.weights, covariance, _cholesky(covariance, what))
        return kde

    def integrate_gaussian(self, mean, cov) -> float:
        """The integral of this density times the Gaussian ``N(mean, cov)`` over all space."""
        mean = np.atleast_1d(np.squeeze(as_array(mean, "mean"))).astype(np.float64)
        cov = np.atleast_2d(as_array(cov, "cov")).astype(np.float64)
        if mean.shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        kde = self._gaussian_sum(self.covariance + cov, "the kernel covariance plus cov")
        return float(np.exp(kde.logpdf(mean[None, :])[0]))

    def integrate_kde(self, other: gaussian_kde) -> float:
        """The integral of this density times ``other``'s over all space (an n x m Gaussian
        sum, on the parallel engine)."""
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        small, large = (other, self) if other.n < self.n else (self, other)
        kde = large._gaussian_sum(small.covariance + large.covariance, "the sum of the kernel covariances")
        return float(small.weights @ np.exp(kde.logpdf(small._X)))

    def integrate_box_1d(self, low, high) -> float:
        """The mass of a 1-D density between ``low`` and ``high`` (closed form)."""
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        low, high = check_real(low, "low", finite=False), check_real(high, "high", finite=False)
        return self._box_1d(low, high)

    def _box_1d(self, low: float, high: float) -> float:
        stdev = float(np.ravel(np.sqrt(self.covariance))[0])
        x = self._X[:, 0]
        erf = np.vectorize(math.erf, otypes=[float])
        lo, hi = (low - x) / (stdev * math.sqrt(2)), (high - x) / (stdev * math.sqrt(2))
        return float(self.weights @ (0.5 * (erf(hi) - erf(lo))))

    def integrate_box(self, low_bounds, high_bounds, maxpts=None, *, rng=None) -> float:
        """The mass of the box ``[low_bounds, high_bounds]``.

        Closed form in 1-D. In 2 or more dimensions each kernel's mass is a multivariate
        normal probability, estimated by Genz's quasi-Monte Carlo method through
        ``scipy.stats.multivariate_normal.cdf`` (scipy is then needed), with ``maxpts`` and
        ``rng`` passed on as scipy takes them.
        """
        low = np.broadcast_to(as_array(low_bounds, "low_bounds").astype(np.float64), (self.d,))
        high = np.broadcast_to(as_array(high_bounds, "high_bounds").astype(np.float64), (self.d,))
        if self.d == 1:
            return self._box_1d(float(low[0]), float(high[0]))
        stats = require("scipy.stats", "gaussian_kde.integrate_box in 2 or more dimensions", "scipy")
        values = stats.multivariate_normal.cdf(
            high - self._X, lower_limit=low - self._X, cov=self.covariance, maxpts=maxpts, rng=rng
        )
        return float(np.atleast_1d(values) @ self.weights)

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


def _logpdf_longdouble(kde: gaussian_kde, points: np.ndarray, dtype) -> np.ndarray:
    """Exact sums in ``dtype`` (long double) for scipy's long double outputs: the engine works
    in float32 and float64, so this path is NumPy's, in blocks of points to bound memory."""
    data = np.atleast_2d(kde.dataset).T.astype(dtype)
    linv = np.linalg.inv(kde.cho_cov).astype(dtype)
    z = data @ linv.T
    with np.errstate(divide="ignore"):  # a zero weight is a log weight of -inf
        log_w = np.log(kde.weights.astype(dtype))
    log_2pi = np.log(2 * np.pi, dtype=dtype)
    offset = -np.sum(np.log(np.diag(kde.cho_cov.astype(dtype)))) - dtype.type(kde.d) / 2 * log_2pi
    out = np.empty(len(points), dtype=dtype)
    block = max(1, 2**22 // max(1, len(z)))
    for start in range(0, len(points), block):
        y = points[start : start + block] @ linv.T
        exponent = log_w - 0.5 * ((y[:, None, :] - z[None, :, :]) ** 2).sum(axis=-1)
        top = exponent.max(axis=1)
        top = np.where(np.isfinite(top), top, 0)
        out[start : start + block] = top + np.log(np.exp(exponent - top[:, None]).sum(axis=1)) + offset
    return out
