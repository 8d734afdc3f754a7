"""scikit-learn's density estimators on gensample's engines.

``KernelDensity`` (``sklearn.neighbors``): scikit-learn's parameters, attributes and
methods, exact sums (``atol``/``rtol`` are met trivially) on all cores, and ``sample`` for
every kernel, not only gaussian and tophat.

``GaussianMixture`` (``sklearn.mixture``): the same parameters, attributes and methods;
EM runs on the fused C++ pass, and from the same initial parameters it reaches the same
solution as scikit-learn.

>>> import numpy as np
>>> from gensample.compat.sklearn import KernelDensity
>>> X = np.random.default_rng(0).normal(size=(300, 2))
>>> kde = KernelDensity(bandwidth=0.5).fit(X)
>>> kde.score_samples(X[:2]).shape, kde.sample(4, random_state=0).shape
((2,), (4, 2))
>>> from gensample.compat.sklearn import GaussianMixture
>>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
>>> gm.predict_proba(X[:3]).shape, gm.converged_
((3, 2), True)
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._validation import require

require("sklearn", "gensample.compat.sklearn", "sklearn")  # before the imports below fail without a hint

from sklearn.base import BaseEstimator, DensityMixin  # noqa: E402
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data  # noqa: E402

from .._validation import check_count  # noqa: E402
from ..gmm import COVARIANCE_TYPES, GMM, ConvergenceWarning  # noqa: E402
from ..kde import KDE, KERNELS  # noqa: E402

__all__ = ["GaussianMixture", "KernelDensity"]


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

    def __init__(
        self,
        *,
        bandwidth=1.0,
        algorithm="auto",
        kernel="gaussian",
        metric="euclidean",
        atol=0,
        rtol=0,
        breadth_first=True,
        leaf_size=40,
        metric_params=None,
    ):
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
            raise ValueError(
                f"The 'kernel' parameter of KernelDensity must be one of {set(KERNELS)}. Got {self.kernel!r} instead."
            )
        if self.metric != "euclidean":
            raise ValueError(f"gensample's KernelDensity supports metric='euclidean' only, got {self.metric!r}")
        if self.algorithm not in ("auto", "kd_tree", "ball_tree"):
            raise ValueError(
                f"The 'algorithm' parameter must be 'auto', 'kd_tree' or 'ball_tree', got {self.algorithm!r}"
            )
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
        n_samples = check_count(n_samples, "n_samples")
        seed = check_random_state(random_state).randint(0, 2**32, size=2, dtype=np.uint64)
        return self.kde_.sample(n_samples, rng=[int(v) for v in seed])


INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def _seed(random_state) -> list:
    """gensample seed words from a scikit-learn random_state (advancing it, as sklearn does)."""
    return [int(v) for v in check_random_state(random_state).randint(0, 2**32, size=2, dtype=np.uint64)]


class GaussianMixture(DensityMixin, BaseEstimator):
    """A Gaussian mixture with scikit-learn's interface (``sklearn.mixture.GaussianMixture``).

    Same parameters; ``verbose`` and ``verbose_interval`` are accepted and print nothing.
    The starts are scikit-learn's own, drawn from the same ``random_state`` in the same order
    (its ``KMeans``, ``kmeans_plusplus``, random responsibilities or random points, then the
    same parameter estimates), so the same seed gives the same fit; EM then runs in
    gensample's core. ``weights_init``, ``means_init`` and ``precisions_init`` replace the
    start's parameters as in scikit-learn.

    Attributes: ``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``, ``converged_``, ``n_iter_``, ``lower_bound_``,
    ``n_features_in_``, and ``gmm_``, the fitted :class:`gensample.GMM`.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def _override(self, d: int) -> dict:
        """weights_init, means_init and precisions_init as GMM parameters (covariances)."""
        k, ct = self.n_components, self.covariance_type
        out = {}
        if self.weights_init is not None:
            out["weights"] = np.asarray(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            out["means"] = np.asarray(self.means_init, dtype=np.float64)
            if out["means"].shape != (k, d):
                raise ValueError(
                    f"The parameter 'means' should have the shape of ({k}, {d}), but got {out['means'].shape}"
                )
        if self.precisions_init is not None:
            p = np.asarray(self.precisions_init, dtype=np.float64)
            if ct in ("full", "tied"):
                try:
                    out["covariances"] = np.linalg.inv(p)
                except np.linalg.LinAlgError:
                    raise ValueError("'precisions_init' should be symmetric, positive-definite") from None
            else:
                if not (p > 0).all():
                    raise ValueError(f"'{ct} precision' should be positive")
                out["covariances"] = 1.0 / p
        return out

    def _start(self, X, random_state) -> dict:
        """scikit-learn's starting parameters: responsibilities from its initialisation, drawn
        from random_state in its order, then its estimates of weights, means and covariances."""
        from sklearn.cluster import KMeans, kmeans_plusplus

        n, k = len(X), self.n_components
        resp = np.zeros((n, k))
        if self.init_params == "kmeans":
            labels = KMeans(n_clusters=k, n_init=1, random_state=random_state).fit(X).labels_
            resp[np.arange(n), labels] = 1
        elif self.init_params == "random":
            resp = random_state.uniform(size=(n, k))
            resp /= resp.sum(axis=1)[:, None]
        elif self.init_params == "random_from_data":
            resp[random_state.choice(n, size=k, replace=False), np.arange(k)] = 1
        else:  # "k-means++"
            _, indices = kmeans_plusplus(X, k, random_state=random_state)
            resp[indices, np.arange(k)] = 1
        nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
        means = resp.T @ X / nk[:, None]
        reg, ct = self.reg_covar, self.covariance_type
        if ct == "full":
            cov = np.empty((k, X.shape[1], X.shape[1]))
            for j in range(k):
                diff = X - means[j]
                cov[j] = (resp[:, j] * diff.T) @ diff / nk[j]
                cov[j].flat[:: X.shape[1] + 1] += reg
        elif ct == "tied":
            cov = (X.T @ X - (nk * means.T) @ means) / nk.sum()
            cov.flat[:: X.shape[1] + 1] += reg
        else:
            cov = resp.T @ (X * X) / nk[:, None] - 2 * means * (resp.T @ X) / nk[:, None] + means**2 + reg
            if ct == "spherical":
                cov = cov.mean(axis=1)
        return {"weights": nk / n, "means": means, "covariances": cov}

    def fit(self, X, y=None):
        """Fit by EM (``n_init`` starts, the best kept). Returns self."""
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then the most likely component of each row of X."""
        X = validate_data(self, X, dtype=np.float64, order="C", ensure_min_samples=2)
        n, d = X.shape
        if n < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, n_samples = {n}"
            )
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"The 'covariance_type' parameter of GaussianMixture must be one of "
                f"{set(COVARIANCE_TYPES)}. Got {self.covariance_type!r} instead."
            )
        if self.init_params not in INIT_PARAMS:
            raise ValueError(
                f"The 'init_params' parameter of GaussianMixture must be one of {set(INIT_PARAMS)}. "
                f"Got {self.init_params!r} instead."
            )
        warm = self.warm_start and hasattr(self, "gmm_") and self.gmm_.dim == d
        random_state = check_random_state(self.random_state)
        given = self._override(d)
        k = self.n_components
        placeholder = GMM(n_components=k, covariance=self.covariance_type, reg_covar=self.reg_covar)
        checked = placeholder._check_parameters(
            given.get("weights", np.full(k, 1.0 / k)),
            given.get("means", np.zeros((k, d))),
            given.get("covariances", _unit_covariances(self.covariance_type, k, d)),
        )
        given = {name: value for name, value in zip(("weights", "means", "covariances"), checked) if name in given}
        best = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            for _ in range(1 if warm else self.n_init):
                gmm = GMM(
                    n_components=k,
                    covariance=self.covariance_type,
                    tol=self.tol,
                    reg_covar=self.reg_covar,
                    max_iter=self.max_iter,
                    warm_start=warm,
                )
                if warm:
                    gmm._set(self.gmm_.weights_, self.gmm_.means_, self.gmm_.covariances_)
                    gmm.lower_bound_ = self.gmm_.lower_bound_
                    gmm._fit(X, np.ones(n), 0)
                else:
                    start = given if len(given) == 3 else {**self._start(X, random_state), **given}
                    gmm._fit(X, np.ones(n), 0, start)
                if best is None or gmm.lower_bound_ > best.lower_bound_:
                    best = gmm
        gmm = best
        for w in caught:  # scikit-learn warns once, about the start it keeps
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if not gmm.converged_:
            warnings.warn(
                f"Best performing initialization did not converge. Try different init parameters, or "
                f"increase max_iter, tol, or check for degenerate data (max_iter={self.max_iter}, "
                f"tol={self.tol}).",
                SklearnConvergenceWarning,
                stacklevel=2,
            )
        self.gmm_ = gmm
        for name in (
            "weights_",
            "means_",
            "covariances_",
            "precisions_",
            "precisions_cholesky_",
            "converged_",
            "n_iter_",
            "lower_bound_",
        ):
            setattr(self, name, getattr(gmm, name))
        return gmm.predict(X)

    def _X(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float64, order="C", reset=False)

    def score_samples(self, X) -> np.ndarray:
        """Log-density of each row of X, shape (n_samples,)."""
        X = self._X(X)
        return self.gmm_.logpdf(X)

    def score(self, X, y=None) -> float:
        """Mean log-likelihood of the rows of X."""
        return float(np.mean(self.score_samples(X)))

    def predict(self, X) -> np.ndarray:
        """The most likely component of each row of X."""
        X = self._X(X)
        return self.gmm_.predict(X)

    def predict_proba(self, X) -> np.ndarray:
        """Each component's responsibility for each row of X, shape (n_samples, n_components)."""
        X = self._X(X)
        return self.gmm_.predict_proba(X)

    def sample(self, n_samples=1):
        """``(X, y)``: ``n_samples`` draws and their components, as scikit-learn returns them
        (grouped by component, components in order)."""
        check_is_fitted(self)
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at least one sample."
            )
        X, y = self.gmm_.sample_with_labels(int(n_samples), rng=_seed(self.random_state))
        order = np.argsort(y, kind="stable")
        return X[order], y[order]

    def bic(self, X) -> float:
        """Bayesian information criterion on X (lower is better)."""
        X = self._X(X)
        return self.gmm_.bic(X)

    def aic(self, X) -> float:
        """Akaike information criterion on X (lower is better)."""
        X = self._X(X)
        return self.gmm_.aic(X)


def _unit_covariances(covariance_type: str, k: int, d: int) -> np.ndarray:
    """Placeholder identity covariances of the type's shape (validation of partial inits)."""
    return {
        "full": np.broadcast_to(np.eye(d), (k, d, d)),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[covariance_type]
