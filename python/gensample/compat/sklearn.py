"""``sklearn.neighbors.KernelDensity`` on gensample's KDE engine: scikit-learn's
parameters, attributes and methods, exact sums (``atol``/``rtol`` are met trivially) on
all cores, and ``sample`` for every kernel, not only gaussian and tophat.

>>> import numpy as np
>>> from gensample.compat.sklearn import KernelDensity
>>> X = np.random.default_rng(0).normal(size=(300, 2))
>>> kde = KernelDensity(bandwidth=0.5).fit(X)
>>> kde.score_samples(X[:2]).shape, kde.sample(4, random_state=0).shape
((2,), (4, 2))
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..kde import KDE, KERNELS

__all__ = ["KernelDensity"]


class KernelDensity(DensityMixin, BaseEstimator):
    """Kernel density estimation with scikit-learn's interface.

    ``bandwidth`` is a positive number or ``"scott"`` / ``"silverman"`` (scikit-learn's
    rules, which ignore the data's scale: ``n**(-1/(d+4))`` and ``(n (d+2)/4)**(-1/(d+4))``;
    for rules that follow the data's covariance use :class:`gensample.KDE`). Only the
    Euclidean metric is supported; ``algorithm``, ``breadth_first`` and ``leaf_size`` are
    accepted and have no effect (there is no tree).

    Attributes: ``bandwidth_``, ``n_features_in_``, ``feature_names_in_`` (when X has string
    column names), and ``kde_``, the fitted :class:`gensample.KDE`.
    """

    def __init__(self, *, bandwidth=1.0, algorithm="auto", kernel="gaussian", metric="euclidean", atol=0, rtol=0,
                 breadth_first=True, leaf_size=40, metric_params=None):
        self.algorithm = algorithm
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.metric = metric
        self.atol = atol
        self.rtol = rtol
        self.breadth_first = breadth_first
        self.leaf_size = leaf_size
        self.metric_params = metric_params

    def _check_params(self) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"The 'kernel' parameter of KernelDensity must be one of {set(KERNELS)}. "
                             f"Got {self.kernel!r} instead.")
        if self.metric != "euclidean":
            raise ValueError(f"gensample's KernelDensity supports metric='euclidean' only, got {self.metric!r}")
        if self.algorithm not in ("auto", "kd_tree", "ball_tree"):
            raise ValueError(f"The 'algorithm' parameter must be 'auto', 'kd_tree' or 'ball_tree', got "
                             f"{self.algorithm!r}")
        b = self.bandwidth
        if isinstance(b, str):
            if b not in ("scott", "silverman"):
                raise ValueError(f"bandwidth must be a positive number, 'scott' or 'silverman', got {b!r}")
        elif isinstance(b, bool) or not isinstance(b, numbers.Real) or not (np.isfinite(b) and b > 0):
            raise ValueError(f"bandwidth must be a positive number, 'scott' or 'silverman', got {b!r}")
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {v!r}")

    def fit(self, X, y=None, sample_weight=None):
        """Fit on the rows of X (n_samples, n_features), with optional ``sample_weight``."""
        self._check_params()
        X = validate_data(self, X, order="C", dtype=np.float64)
        n, d = X.shape
        if self.bandwidth == "scott":
            self.bandwidth_ = n ** (-1 / (d + 4))
        elif self.bandwidth == "silverman":
            self.bandwidth_ = (n * (d + 2) / 4) ** (-1 / (d + 4))
        else:
            self.bandwidth_ = self.bandwidth
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        self.kde_ = KDE(bandwidth=self.bandwidth_, kernel=self.kernel).fit(X, weights=weights)
        return self

    def score_samples(self, X) -> np.ndarray:
        """Log-density at each row of X, shape (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, order="C", dtype=np.float64, reset=False)
        return self.kde_.logpdf(X)

    def score(self, X, y=None) -> float:
        """Total log-likelihood of the rows of X."""
        return float(np.sum(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None) -> np.ndarray:
        """``n_samples`` draws, shape (n_samples, n_features); any kernel."""
        check_is_fitted(self)
        seed = check_random_state(random_state).randint(0, 2**32, size=2, dtype=np.uint64)
        return self.kde_.sample(n_samples, rng=[int(v) for v in seed])
