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

import math
import numbers
import warnings

import numpy as np

from .._validation import require

require("sklearn", "gensample.compat.sklearn", "sklearn")  # before the imports below fail without a hint

from sklearn.base import BaseEstimator, DensityMixin  # noqa: E402
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning  # noqa: E402
from sklearn.metrics import DistanceMetric  # noqa: E402
from sklearn.neighbors import BallTree, KDTree  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data  # noqa: E402

from .._validation import check_count  # noqa: E402
from ..gmm import COVARIANCE_TYPES, GMM, ConvergenceWarning, _chol_lower, _ill_defined  # noqa: E402
from ..kde import KDE, KERNELS, log_kernel_norm  # noqa: E402

__all__ = ["GaussianMixture", "KernelDensity"]


class KernelDensity(DensityMixin, BaseEstimator):
    """Kernel density estimation with scikit-learn's interface.

    ``bandwidth`` is a positive number or ``"scott"`` / ``"silverman"`` (scikit-learn's
    rules, which ignore the data's scale: ``n**(-1/(d+4))`` and ``(n (d+2)/4)**(-1/(d+4))``;
    for rules that follow the data's covariance use :class:`gensample.KDE`).

    ``metric`` takes every metric scikit-learn's KDE takes (its ball tree's, with
    ``metric_params``; ``algorithm="kd_tree"`` refuses those its KD tree does not have, as
    scikit-learn does). The Euclidean metric (and ``minkowski`` with ``p=2``) runs on the
    parallel engine; the others sum exact kernel values over scikit-learn's distances in
    NumPy blocks, one thread. As in scikit-learn, a non-Euclidean kernel is normalised as
    the Euclidean one, so its density does not integrate to 1 (haversine: (lat, lon) in
    radians, as in scikit-learn). ``atol``, ``rtol``, ``breadth_first`` and ``leaf_size``
    are accepted and have no effect: the sums are exact and there is no tree.

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
        if not isinstance(self.metric, str) or self.metric not in BallTree.valid_metrics:
            raise ValueError(
                f"The 'metric' parameter of KernelDensity must be one of {sorted(BallTree.valid_metrics)}. "
                f"Got {self.metric!r} instead."
            )
        if self.algorithm not in ("auto", "kd_tree", "ball_tree"):
            raise ValueError(
                f"The 'algorithm' parameter must be 'auto', 'kd_tree' or 'ball_tree', got {self.algorithm!r}"
            )
        if self.algorithm == "kd_tree" and self.metric not in KDTree.valid_metrics:
            raise ValueError(f"invalid metric for KDTree: {self.metric!r} (algorithm='kd_tree')")
        if self.metric_params is not None and not isinstance(self.metric_params, dict):
            raise ValueError(f"metric_params must be None or a dict, got {self.metric_params!r}")
        b = self.bandwidth
        if isinstance(b, str):
            if b not in ("scott", "silverman"):
                raise ValueError(f"bandwidth must be a positive number, 'scott' or 'silverman', got {b!r}")
        elif isinstance(b, bool) or not isinstance(b, numbers.Real) or not (math.isfinite(b) and float(b) > 0):
            raise ValueError(f"bandwidth must be a positive number, 'scott' or 'silverman', got {b!r}")
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v) >= 0:
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
        params = dict(self.metric_params or {})
        euclidean = self.metric in ("euclidean", "l2") or (
            self.metric in ("minkowski", "p") and params.get("p", 2) == 2 and "w" not in params
        )
        # None: the engine's Euclidean sums; else scikit-learn's distance (it checks the params)
        self._distance = None if euclidean else DistanceMetric.get_metric(self.metric, **params)
        return self

    def score_samples(self, X) -> np.ndarray:
        """Log-density at each row of X, shape (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, order="C", dtype=np.float64, reset=False)
        if self._distance is None:
            return self.kde_.logpdf(X)
        return _log_density_in_metric(self.kde_, self._distance, X, self.kernel, self.bandwidth_)

    def score(self, X, y=None) -> float:
        """Total log-likelihood of the rows of X."""
        return float(np.sum(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None) -> np.ndarray:
        """``n_samples`` draws, shape (n_samples, n_features); any kernel."""
        check_is_fitted(self)
        n_samples = check_count(n_samples, "n_samples")
        if self._distance is not None:
            raise NotImplementedError(
                f"sampling a kernel in the {self.metric!r} metric is not implemented; scikit-learn draws "
                "Euclidean kernels there, which is not the density score_samples gives"
            )
        seed = check_random_state(random_state).randint(0, 2**32, size=2, dtype=np.uint64)
        return self.kde_.sample(n_samples, rng=[int(v) for v in seed])


_LOG_PROFILE = {  # log f(r) of each kernel's profile, r = distance / bandwidth
    "gaussian": lambda r: -0.5 * r * r,
    "tophat": lambda r: np.where(r < 1, 0.0, -np.inf),
    "epanechnikov": lambda r: np.log(np.clip(1 - r * r, 0, None)),
    "exponential": lambda r: -r,
    "linear": lambda r: np.log(np.clip(1 - r, 0, None)),
    "cosine": lambda r: np.log(np.where(r < 1, np.cos(0.5 * np.pi * np.minimum(r, 1)), 0.0)),
}


def _log_density_in_metric(kde: KDE, distance, X: np.ndarray, kernel: str, bandwidth: float) -> np.ndarray:
    """Exact kernel sums over scikit-learn's distances, normalised as for the Euclidean metric
    (scikit-learn's convention), in blocks of query rows to bound memory."""
    data, log_w = kde.data_, np.log(kde.weights_)
    d = data.shape[1]
    offset = -d * np.log(bandwidth) - log_kernel_norm(kernel, d)
    out = np.empty(len(X))
    block = max(1, 2**21 // len(data))
    with np.errstate(divide="ignore"):  # log 0 = -inf outside a compact kernel's support
        for start in range(0, len(X), block):
            terms = log_w + _LOG_PROFILE[kernel](distance.pairwise(X[start : start + block], data) / bandwidth)
            top = terms.max(axis=1, keepdims=True)
            top[~np.isfinite(top)] = 0.0
            out[start : start + block] = (top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))) + offset
    return out


def _namespace(*arrays):
    """``(xp, device)`` of the inputs when scikit-learn's ``array_api_dispatch`` is on and
    they are not NumPy arrays (torch tensors, CuPy arrays...), else ``(None, None)``."""
    from sklearn import get_config

    if not get_config()["array_api_dispatch"]:
        return None, None
    from sklearn.utils._array_api import get_namespace_and_device

    xp, compliant, device = get_namespace_and_device(*arrays)
    return (xp, device) if compliant and xp.__name__.split(".")[-1] != "numpy" else (None, None)


def _to_numpy(a):
    """An Array API array (on any device) as a NumPy array; anything else unchanged."""
    if a is None or isinstance(a, np.ndarray) or _namespace(a)[0] is None:
        return a
    from sklearn.utils._array_api import move_to

    return np.asarray(move_to(a, xp=np, device="cpu"))


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
    ``precisions_cholesky_``, ``converged_``, ``n_iter_``, ``lower_bound_``, ``lower_bounds_``
    (the mean log-likelihood after each EM iteration of the start kept), ``n_features_in_``,
    and ``gmm_``, the fitted :class:`gensample.GMM`. ``max_iter=0`` keeps the start.

    float32 input keeps float32 fitted arrays (EM itself runs in float64). With
    ``sklearn.set_config(array_api_dispatch=True)``, Array API inputs (torch tensors, on any
    device) are accepted and the fitted arrays and results come back in the input's
    namespace and device, as scikit-learn's do; the work is done on the CPU in NumPy and
    gensample's core, so every ``init_params`` works (scikit-learn's own refuses ``kmeans``
    and ``k-means++`` there).
    """

    gmm_: GMM  # the fitted gensample.GMM (set by fit)

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
        out: dict[str, np.ndarray] = {}
        if self.weights_init is not None:
            out["weights"] = np.asarray(_to_numpy(self.weights_init), dtype=np.float64)
        if self.means_init is not None:
            out["means"] = np.asarray(_to_numpy(self.means_init), dtype=np.float64)
            if out["means"].shape != (k, d):
                raise ValueError(
                    f"The parameter 'means' should have the shape of ({k}, {d}), but got {out['means'].shape}"
                )
        if self.precisions_init is not None:
            p = np.asarray(_to_numpy(self.precisions_init), dtype=np.float64)
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
        if ct in ("full", "tied"):
            _chol_lower(cov, "EM start")
        elif not (cov > 0).all():
            raise _ill_defined("EM start")
        return {"weights": nk / n, "means": means, "covariances": cov}

    def fit(self, X, y=None):
        """Fit by EM (``n_init`` starts, the best kept). Returns self."""
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then the most likely component of each row of X."""
        self._xp, self._device = _namespace(X)
        X = validate_data(self, _to_numpy(X), dtype=[np.float64, np.float32], order="C", ensure_min_samples=2)
        dtype = X.dtype  # scikit-learn's fitted arrays keep float32; EM runs in float64 here
        X = X.astype(np.float64, copy=False)
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
        assert best is not None  # n_init >= 1
        gmm = best
        for w in caught:  # scikit-learn warns once, about the start it keeps
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if not gmm.converged_ and self.max_iter > 0:  # max_iter=0: the start was asked for
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
            "lower_bounds_",
        ):
            value = getattr(gmm, name)
            setattr(self, name, self._out(value.astype(dtype)) if isinstance(value, np.ndarray) else value)
        return self._out(gmm.predict(X))

    def _out(self, a: np.ndarray):
        """A result in the fitted input's namespace and device (NumPy unless Array API)."""
        return a if getattr(self, "_xp", None) is None else self._xp.asarray(a, device=self._device)

    def _X(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, _to_numpy(X), dtype=[np.float64, np.float32], order="C", reset=False)

    def score_samples(self, X) -> np.ndarray:
        """Log-density of each row of X, shape (n_samples,)."""
        X = self._X(X)
        return self._out(self.gmm_.logpdf(X))

    def score(self, X, y=None) -> float:
        """Mean log-likelihood of the rows of X."""
        X = self._X(X)
        return float(np.mean(self.gmm_.logpdf(X)))

    def predict(self, X) -> np.ndarray:
        """The most likely component of each row of X."""
        X = self._X(X)
        return self._out(self.gmm_.predict(X))

    def predict_proba(self, X) -> np.ndarray:
        """Each component's responsibility for each row of X, shape (n_samples, n_components)."""
        X = self._X(X)
        return self._out(self.gmm_.predict_proba(X))

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
        return self._out(X[order]), self._out(y[order])

    def bic(self, X) -> float:
        """Bayesian information criterion on X (lower is better)."""
        X = self._X(X)
        return self.gmm_.bic(X)

    def aic(self, X) -> float:
        """Akaike information criterion on X (lower is better)."""
        X = self._X(X)
        return self.gmm_.aic(X)

    def _n_parameters(self) -> int:
        """Free parameters of the fitted model (scikit-learn's private name, which code
        computing its own criteria calls)."""
        check_is_fitted(self)
        return self.gmm_._n_parameters()


def _unit_covariances(covariance_type: str, k: int, d: int) -> np.ndarray:
    """Placeholder identity covariances of the type's shape (validation of partial inits)."""
    return {
        "full": np.broadcast_to(np.eye(d), (k, d, d)),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[covariance_type]
