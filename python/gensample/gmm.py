"""Gaussian mixtures: fit by EM, evaluate, score, sample, condition and marginalise.

The engine (``cpp/src/gmm.cpp``) evaluates every component on blocks of points in SIMD
lanes and takes the log-sum-exp over components in registers; one EM iteration is one
pass over the data that accumulates the responsibilities' weighted sums and scatter
matrices about the current means. Conditioning and marginals are closed form.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _core
from ._progress import Progress
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    _short,
    as_array,
    as_dataset,
    as_points,
    as_real_array,
    as_sample_weights,
    check_bool,
    check_choice,
    check_count,
    check_float_dtype,
    check_n_threads,
    check_positive_int,
    check_real,
    empty_output,
    is_symmetric,
    real_array,
)
from .distribution import Distribution
from .random import key_from_rng

__all__ = ["GMM", "COVARIANCE_TYPES", "INITS", "ConvergenceWarning"]

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")
INITS = ("kmeans", "k-means++", "random_from_data", "random")
_EPS = np.finfo(np.float64).eps
_LOG_2PI = math.log(2 * math.pi)


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the lower bound changed by less than ``tol``."""


def _ill_defined(what: str) -> ValueError:
    # scikit-learn's sentence after ours, so code matching its message keeps working
    return ValueError(
        f"{what}: Fitting the mixture model failed because some components have ill-defined empirical "
        "covariance (for instance caused by singleton or collapsed samples). Try to decrease the number "
        "of components, increase reg_covar, or scale the input data."
    )


def _chol_lower(cov: np.ndarray, what: str) -> np.ndarray:
    """Lower Cholesky factors of (..., d, d) symmetric matrices, or a clear error."""
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        L = None
    if L is None or not np.isfinite(L).all() or not (np.diagonal(L, axis1=-2, axis2=-1) > 0).all():
        raise _ill_defined(what) if what.startswith("EM") else ValueError(f"{what} must be symmetric positive definite")
    return L


def _covariance_shape(covariance: str, k: int, d: int) -> tuple:
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance]


class GMM(Distribution):
    """A Gaussian mixture ``p(x) = sum_k w_k N(x; mu_k, S_k)``, fitted by EM or given.

    Parameters
    ----------
    n_components : int, default 1
    covariance : {"full", "diag", "spherical", "tied"}, default "full"
        Each component's own full matrix; a diagonal; one variance; or one full matrix
        shared by all (scikit-learn's ``covariance_type``).
    tol : float, default 1e-3
        EM stops when the mean log-likelihood changes by less than this.
    reg_covar : float, default 1e-6
        Added to every covariance's diagonal at each M-step.
    max_iter : int, default 100
        EM iterations at most; 0 keeps the initialisation (no EM, no warning).
    n_init : int, default 1
        Initialisations to run; the one with the best final log-likelihood is kept.
    init : {"kmeans", "k-means++", "random_from_data", "random"}, default "kmeans"
        ``kmeans``: greedy k-means++ seeds then Lloyd steps until no label changes (at most
        100); ``k-means++``: the seeds, each point assigned to its nearest; ``random_from_data``:
        distinct data points drawn by weight as centres, points assigned to the nearest;
        ``random``: uniform random responsibilities. The first M-step then gives the start.
    warm_start : bool, default False
        Refit from the current parameters (one initialisation).
    rng : seed, Generator or None
        The initialisation's random stream (:func:`gensample.random.key_from_rng`).

    Attributes
    ----------
    weights_ : (k,) array
        Set by :meth:`fit` or :meth:`from_parameters`, as the three below.
    means_ : (k, d) array
    covariances_ : array
        Shaped by the covariance type, as scikit-learn's.
    precisions_cholesky_ : array
        As scikit-learn's.
    converged_, n_iter_, lower_bound_ : bool, int, float
        After :meth:`fit`.
    lower_bounds_ : list of float
        After :meth:`fit`: the mean log-likelihood after each EM iteration of the start kept.

    >>> import numpy as np, gensample as gs
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-2, 0.5, (500, 2)), rng.normal(2, 0.5, (500, 2))])
    >>> gmm = gs.GMM(n_components=2, rng=0).fit(X)
    >>> sorted(np.round(gmm.means_[:, 0]).tolist()), gmm.converged_
    ([-2.0, 2.0], True)
    >>> cond = gmm.condition([1.8], dims=[0])          # p(x_1 | x_0 = 1.8): a 1-D mixture
    >>> round(float(cond.means_[np.argmax(cond.weights_), 0]))
    2
    >>> gmm.sample(1000, rng=0).shape
    (1000, 2)
    """

    def __init__(
        self,
        n_components=1,
        covariance="full",
        *,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init="kmeans",
        warm_start=False,
        rng=None,
    ):
        self.n_components = check_positive_int(n_components, "n_components")
        self.covariance = check_choice(covariance, COVARIANCE_TYPES, "covariance")
        self.tol = check_real(tol, "tol", 0.0)
        self.reg_covar = check_real(reg_covar, "reg_covar", 0.0)
        self.max_iter = check_count(max_iter, "max_iter")
        self.n_init = check_positive_int(n_init, "n_init")
        self.init = check_choice(init, INITS, "init")
        self.warm_start = bool(warm_start)
        self.rng = rng

    # ---- construction from parameters --------------------------------------------------

    @classmethod
    def from_parameters(cls, weights, means, covariances, covariance="full") -> GMM:
        """A mixture with the given parameters, no fitting.

        ``covariances`` has the shape of ``covariance``'s type: full (k, d, d), tied (d, d),
        diag (k, d) variances, spherical (k,) variances.

        >>> import gensample as gs
        >>> g = gs.GMM.from_parameters([0.5, 0.5], [[0.0], [4.0]], [1.0, 1.0], covariance="spherical")
        >>> round(float(g.logpdf([[2.0]])[0]), 4)
        -2.9189
        """
        means = as_array(means, "means")
        if means.ndim != 2 or means.shape[0] == 0 or means.shape[1] == 0:
            raise ValueError(f"means must have shape (n_components, dim), got {means.shape}")
        gmm = cls(n_components=means.shape[0], covariance=covariance)
        gmm._set(*gmm._check_parameters(weights, means, covariances))
        return gmm

    def _check_parameters(self, weights, means, covariances):
        """Validated (weights, means, covariances) for this mixture's type and size."""
        k = self.n_components
        means = as_real_array(means, "means", (k, None), expected=f"({k}, dim)")
        d = means.shape[1]
        w = as_real_array(weights, "weights", (k,), expected=f"({k},): one per row of means", nonnegative=True)
        if not abs(float(w.sum()) - 1.0) <= 1e-6:
            raise ValueError(f"weights must sum to 1, got sum {float(w.sum())!r}")
        w = w / w.sum()
        shape = _covariance_shape(self.covariance, k, d)
        expected = f"{shape} (covariance={self.covariance!r}, means of shape {means.shape})"
        cov = as_real_array(covariances, "covariances", shape, expected=expected)
        if self.covariance in ("full", "tied"):
            if not is_symmetric(cov, 1e-10):
                raise ValueError("covariances must be symmetric")
            cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        elif not (cov > 0).all():
            raise ValueError("covariances (variances) must be positive")
        return w, means, cov

    # ---- fitted state -------------------------------------------------------------------

    def _set(self, weights, means, covariances) -> None:
        """Parameters -> every derived array: Cholesky factors, the engine's factors, caches."""
        k, d = means.shape
        if self.covariance == "full":
            L = _chol_lower(covariances, "covariances")
        elif self.covariance == "tied":
            L = np.broadcast_to(_chol_lower(covariances, "covariances"), (k, d, d))
        elif self.covariance == "diag":
            L = np.sqrt(covariances)[:, :, None] * np.eye(d)
        else:
            L = np.sqrt(covariances)[:, None, None] * np.eye(d)
        self.weights_, self.means_, self.covariances_ = weights, means, covariances
        self._chol = np.ascontiguousarray(L)
        self._factors = np.linalg.inv(self._chol)  # A_k = L_k^-1, lower triangular
        diag = np.diagonal(self._chol, axis1=1, axis2=2)
        with np.errstate(divide="ignore"):
            self._log_coef = np.log(weights) - np.log(diag).sum(axis=1) - 0.5 * d * _LOG_2PI
        self._engine_cache: dict = {}
        self._alias: tuple[np.ndarray, np.ndarray] | None = None

    def _check_fitted(self) -> None:
        if not hasattr(self, "means_"):
            raise RuntimeError("this GMM is not fitted yet: call fit(X) or GMM.from_parameters(...)")

    @property
    def dim(self) -> int:
        self._check_fitted()
        return self.means_.shape[1]

    @property
    def diagonal(self) -> bool:
        return self.covariance in ("diag", "spherical")

    def _engine(self, dtype) -> dict:
        """The engine's mixture (gmm.hpp) by name, in dtype (cached): centre, mean, offset,
        factor, log_coef, diagonal; coordinates about the mixture's mean."""
        if dtype not in self._engine_cache:
            if self.diagonal:
                factor = np.diagonal(self._factors, axis1=1, axis2=2)
            else:
                rows, cols = np.tril_indices(self.dim)
                factor = self._factors[:, rows, cols]
            centre = (self.weights_ @ self.means_).astype(dtype).astype(np.float64)  # exact in dtype
            mean = self.means_ - centre
            offset = np.einsum("kij,kj->ki", self._factors, mean)
            arrays = {"centre": centre, "mean": mean, "offset": offset, "factor": factor, "log_coef": self._log_coef}
            self._engine_cache[dtype] = {name: np.ascontiguousarray(a, dtype=dtype) for name, a in arrays.items()}
            self._engine_cache[dtype]["diagonal"] = self.diagonal
        return self._engine_cache[dtype]

    @property
    def precisions_cholesky_(self) -> np.ndarray:
        """scikit-learn's ``precisions_cholesky_``: P with ``P P^T`` the precision."""
        self._check_fitted()
        P = np.swapaxes(self._factors, 1, 2)
        if self.covariance == "full":
            return np.ascontiguousarray(P)
        if self.covariance == "tied":
            return np.ascontiguousarray(P[0])
        diag = np.diagonal(self._factors, axis1=1, axis2=2)
        return np.ascontiguousarray(diag if self.covariance == "diag" else diag[:, 0])

    @property
    def precisions_(self) -> np.ndarray:
        """The precision matrices (inverse covariances), shaped as ``covariances_``."""
        P = self.precisions_cholesky_
        if self.covariance in ("full", "tied"):
            return P @ np.swapaxes(P, -1, -2)
        return P**2

    # ---- fit ----------------------------------------------------------------------------

    def fit(
        self, X: ArrayLike, weights: ArrayLike | None = None, n_threads: int | None = None, progress: bool = False
    ) -> GMM:
        """Fit by EM to the rows of ``X`` (n, d), with optional non-negative sample ``weights``;
        ``progress=True`` reports the EM iterations and the lower bound on stderr
        (:func:`gensample.generate`'s rules)."""
        X = as_dataset(X)
        progress = check_bool(progress, "progress")
        n = X.shape[0]
        v = np.ones(n) if weights is None else as_sample_weights(weights, n) * n
        if int(np.count_nonzero(v)) < self.n_components:
            raise ValueError(
                f"n_components={self.n_components} needs at least as many samples (rows of X) with "
                f"positive weight, got {int(np.count_nonzero(v))}"
            )
        threads = check_n_threads(n_threads)
        return self._fit(X, v, threads, progress=progress)

    def _fit(self, X, v, threads, override=None, progress=False) -> GMM:
        """EM from each of n_init initialisations (or from the current parameters, warm).

        ``override``: any of "weights", "means", "covariances" replacing the initialisation's
        (all three: no initialisation is run).
        """
        override = override or {}
        warm = self.warm_start and hasattr(self, "means_") and self.means_.shape[1] == X.shape[1]
        key = key_from_rng(self.rng)
        best = None
        for i in range(1 if warm else self.n_init):
            if warm:
                start = (self.weights_, self.means_, self.covariances_)
            elif len(override) == 3:
                start = (override["weights"], override["means"], override["covariances"])
            else:
                w, m, c = self._initialise(X, v, _core.random.subkey(key, i), threads)
                start = (override.get("weights", w), override.get("means", m), override.get("covariances", c))
            self._set(*start)
            # A warm fit goes on from the last one's lower bound (as scikit-learn's does), so
            # fits of a few iterations each see convergence instead of restarting from -inf.
            previous = getattr(self, "lower_bound_", -np.inf) if warm else -np.inf
            lower_bounds, converged = self._em(X, v, threads, progress, previous)
            lower_bound = lower_bounds[-1] if lower_bounds else previous
            if best is None or lower_bound > best[0]:
                best = (lower_bound, len(lower_bounds), converged, lower_bounds)
                best_parameters = (self.weights_, self.means_, self.covariances_)
        assert best is not None  # n_init >= 1
        self.lower_bound_, self.n_iter_, self.converged_, self.lower_bounds_ = best
        self._set(*best_parameters)
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                f"EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol}); "
                "raise max_iter or tol, or check the data",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _em(self, X, v, threads, progress=False, lower_bound=-np.inf) -> tuple:
        """EM iterations from the current parameters and the lower bound they reached:
        (the mean log-likelihood after each iteration, converged)."""
        full = self.covariance in ("full", "tied")
        total = float(v.sum())
        lower_bounds: list[float] = []
        with Progress(self.max_iter, progress, "GMM.fit", unit="EM iterations") as bar:
            for _ in range(self.max_iter):
                previous = lower_bound
                weight, first, second, ll = _core.gmm.em_moments(self._engine(np.float64), X, v, full, threads)
                lower_bound = ll / total
                lower_bounds.append(lower_bound)
                self._set(*self._m_step(weight, first, second))
                bar.update(1, lower_bound=f"{lower_bound:.6g}")
                if abs(lower_bound - previous) < self.tol:
                    return lower_bounds, True
        return lower_bounds, False

    def _m_step(self, weight, first, second):
        """New (weights, means, covariances) from the E-step sums about the current means."""
        k, d = self.means_.shape
        nk = weight + 10 * _EPS  # as scikit-learn: an empty component keeps finite parameters
        delta = first / nk[:, None]
        means = self.means_ + delta
        reg = self.reg_covar
        if self.covariance in ("full", "tied"):
            rows, cols = np.tril_indices(d)
            S = np.zeros((k, d, d))
            S[:, rows, cols] = second
            S[:, cols, rows] = second
            if self.covariance == "full":
                cov = S / nk[:, None, None] - delta[:, :, None] * delta[:, None, :]
                cov[:, np.arange(d), np.arange(d)] += reg
            else:
                cov = (S.sum(axis=0) - np.einsum("k,ki,kj->ij", nk, delta, delta)) / nk.sum()
                cov[np.arange(d), np.arange(d)] += reg
            _chol_lower(cov, "EM")
        else:
            cov = second / nk[:, None] - delta**2 + reg
            if self.covariance == "spherical":
                cov = cov.mean(axis=1)
            if not (cov > 0).all():
                raise _ill_defined("EM")
        return nk / nk.sum(), means, cov

    def _initialise(self, X, v, key, threads):
        """The starting parameters of one initialisation (class docstring)."""
        k = self.n_components
        if self.init == "random":
            from .random import uniform

            resp = uniform(X.shape[0], k, rng=np.random.SeedSequence(key))
            resp /= resp.sum(axis=1, keepdims=True)
            return self._params_from_responsibilities(X, v, resp)
        if self.init == "random_from_data":
            centres = X[self._distinct_draw(X, v, key)]
        else:
            trials = 2 + int(math.log(k))
            try:
                seeds = _core.gmm.kmeans_plusplus(X, v, k, trials, key, threads)
            except ValueError:  # fewer distinct points than components
                seeds = self._distinct_draw(X, v, key)
            centres = X[seeds]
        labels, weight, sums, _ = _core.gmm.lloyd_step(X, v, centres, threads)
        if self.init == "kmeans":
            for _ in range(100):  # one assignment pass per step: it also gives the next sums
                moved = weight > 0  # an emptied cluster keeps its centre
                centres = centres.copy()
                centres[moved] = sums[moved] / weight[moved, None]
                new_labels, weight, sums, _ = _core.gmm.lloyd_step(X, v, centres, threads)
                if np.array_equal(new_labels, labels):
                    break
                labels = new_labels
        resp = np.zeros((X.shape[0], k))
        resp[np.arange(X.shape[0]), labels] = 1.0
        return self._params_from_responsibilities(X, v, resp)

    def _distinct_draw(self, X, v, key) -> np.ndarray:
        """k indices of distinct points, drawn by weight without replacement.

        With fewer distinct points than components, every distinct point is a centre and the
        others repeat them: the components left without points keep a covariance of
        ``reg_covar`` (as scikit-learn's do), well-posed only when ``reg_covar > 0``.
        """
        gen = np.random.default_rng(np.random.SeedSequence(key))
        _, first = np.unique(X, axis=0, return_index=True)
        first = first[v[first] > 0]
        k = self.n_components
        p = v[first] / v[first].sum()
        if first.size >= k:
            return gen.choice(first, size=k, replace=False, p=p)
        if self.reg_covar <= 0:
            raise ValueError(
                f"X has {first.size} distinct points (with positive weight), fewer than n_components={k}; "
                "use fewer components or a positive reg_covar"
            )
        return np.concatenate([gen.permutation(first), gen.choice(first, size=k - first.size, p=p)])

    def _params_from_responsibilities(self, X, v, resp):
        """The M-step from explicit responsibilities (n, k), as scikit-learn's."""
        r = resp * v[:, None]
        nk = r.sum(axis=0) + 10 * _EPS
        means = (r.T @ X) / nk[:, None]
        d = X.shape[1]
        reg = self.reg_covar
        if self.covariance in ("full", "tied"):
            cov = np.empty((self.n_components, d, d))
            for j in range(self.n_components):
                rows = np.flatnonzero(r[:, j])  # hard starts touch each point once
                diff = X[rows] - means[j]
                cov[j] = (r[rows, j, None] * diff).T @ diff / nk[j]
            if self.covariance == "tied":
                cov = np.einsum("k,kij->ij", nk, cov) / nk.sum()
            cov[..., np.arange(d), np.arange(d)] += reg
            _chol_lower(cov, "EM")
        else:
            cov = (r.T @ X**2) / nk[:, None] - means**2 + reg
            if self.covariance == "spherical":
                cov = cov.mean(axis=1)
            if not (cov > 0).all():
                raise _ill_defined("EM")
        return nk / nk.sum(), means, cov

    # ---- evaluate -----------------------------------------------------------------------

    def _points(self, x) -> np.ndarray:
        self._check_fitted()
        return as_points(x, self.dim)

    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Log-density at each row of ``x`` (n, d) -> (n,), in ``x``'s float type."""
        x = self._points(x)
        return _core.gmm.log_density(self._engine(x.dtype), x, check_n_threads(n_threads))

    def score_samples(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Same as :meth:`logpdf` (scikit-learn's name)."""
        return self.logpdf(x, n_threads=n_threads)

    def score(self, x: ArrayLike, n_threads: int | None = None) -> float:
        """Mean log-density of the rows of ``x``."""
        x = self._points(x)
        if x.shape[0] == 0:
            raise ValueError("x must have at least one row: the mean log-density of no points is undefined")
        return float(np.mean(self.logpdf(x, n_threads=n_threads), dtype=np.float64))

    def log_responsibilities(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``log p(k | x)`` for each row of ``x`` -> (n, n_components)."""
        x = self._points(x)
        log_resp, _ = _core.gmm.responsibilities(self._engine(x.dtype), x, True, check_n_threads(n_threads))
        return log_resp

    def predict_proba(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Responsibilities ``p(k | x)`` -> (n, n_components), rows summing to 1."""
        x = self._points(x)
        resp, _ = _core.gmm.responsibilities(self._engine(x.dtype), x, False, check_n_threads(n_threads))
        return resp

    def predict(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """The most likely component of each row of ``x`` -> (n,) int64."""
        return np.argmax(self.log_responsibilities(x, n_threads=n_threads), axis=1)

    def grad_logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """The score ``grad_x log p(x)`` at each row of ``x`` -> (n, d)."""
        x = self._points(x)
        return _core.gmm.score(self._engine(x.dtype), x, check_n_threads(n_threads))

    def _n_parameters(self) -> int:
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) // 2, "diag": k * d, "tied": d * (d + 1) // 2, "spherical": k}
        return cov[self.covariance] + k * d + k - 1

    def bic(self, X: ArrayLike, n_threads: int | None = None) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        X = self._points(X)
        return -2 * self.score(X, n_threads) * X.shape[0] + self._n_parameters() * math.log(X.shape[0])

    def aic(self, X: ArrayLike, n_threads: int | None = None) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        X = self._points(X)
        return -2 * self.score(X, n_threads) * X.shape[0] + 2 * self._n_parameters()

    # ---- conditioning and marginals -----------------------------------------------------

    def _dims(self, dims, name="dims") -> np.ndarray:
        self._check_fitted()
        arr = as_array(dims, name)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.dtype.kind not in "iu" or arr.ndim != 1 or arr.size == 0:
            raise TypeError(f"{name} must be a non-empty list of dimension indices, got {_short(dims)}")
        if arr.min() < 0 or arr.max() >= self.dim or np.unique(arr).size != arr.size:
            raise ValueError(f"{name} must be distinct indices in [0, {self.dim}), got {arr.tolist()}")
        return arr.astype(np.int64)

    def _full_covariances(self) -> np.ndarray:
        return self._chol @ np.swapaxes(self._chol, 1, 2)

    def marginal(self, dims) -> GMM:
        """The mixture of the coordinates ``dims`` (in that order), exact.

        >>> import gensample as gs
        >>> g = gs.GMM.from_parameters([1.0], [[1.0, 2.0]], [[[2.0, 0.5], [0.5, 1.0]]])
        >>> g.marginal([1]).covariances_.tolist()
        [[[1.0]]]
        """
        dims = self._dims(dims)
        cov = self.covariances_
        if self.covariance == "full":
            cov = cov[:, dims][:, :, dims]
        elif self.covariance == "tied":
            cov = cov[dims][:, dims]
        elif self.covariance == "diag":
            cov = cov[:, dims]
        out = type(self)(n_components=self.n_components, covariance=self.covariance)
        out._set(self.weights_.copy(), np.ascontiguousarray(self.means_[:, dims]), np.ascontiguousarray(cov))
        return out

    def condition(self, values, dims) -> GMM:
        """The exact conditional mixture ``p(x_rest | x[dims] = values)`` over the other dimensions.

        Each component is conditioned in closed form (``mu_b + S_ba S_aa^-1 (v - mu_a)``,
        ``S_bb - S_ba S_aa^-1 S_ab``) and reweighted by ``p(k | x[dims] = values)``. The
        result keeps the covariance type; its dimensions are the remaining ones, in order.
        """
        dims = self._dims(dims)
        if dims.size == self.dim:
            raise ValueError("dims must leave at least one dimension to condition (it names all of them)")
        values = real_array(values, "values")
        if values.shape == (1, dims.size):  # one row of values, as scikit-learn passes points
            values = values[0]
        values = as_real_array(values, "values", (dims.size,), expected=f"({dims.size},): one per entry of dims")
        values = values.reshape(1, -1)
        rest = np.setdiff1d(np.arange(self.dim), dims)
        log_resp = self.marginal(dims).log_responsibilities(values)[0]
        weights = np.exp(log_resp - log_resp.max())
        weights /= weights.sum()
        mu_a, mu_b = self.means_[:, dims], self.means_[:, rest]
        if self.diagonal:  # no cross-covariance: each component keeps its rest
            cov = self.covariances_ if self.covariance == "spherical" else self.covariances_[:, rest]
            means = mu_b
        else:
            S = self._full_covariances()
            S_aa, S_ba, S_bb = S[:, dims][:, :, dims], S[:, rest][:, :, dims], S[:, rest][:, :, rest]
            gain = np.swapaxes(np.linalg.solve(S_aa, np.swapaxes(S_ba, 1, 2)), 1, 2)  # S_ba S_aa^-1
            means = mu_b + np.einsum("kij,kj->ki", gain, values[0] - mu_a)
            cov = S_bb - gain @ np.swapaxes(S_ba, 1, 2)
            cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
            if self.covariance == "tied":
                cov = cov[0]
        out = type(self)(n_components=self.n_components, covariance=self.covariance)
        out._set(weights, np.ascontiguousarray(means), np.ascontiguousarray(cov))
        return out

    # ---- sample -------------------------------------------------------------------------

    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        """``n`` draws (n, d), in row order (not grouped by component).

        Row ``i`` is ``mu_c + L_c z``: ``c`` picked by weight and ``z`` standard normal, both
        pure functions of (seed, i) (gmm.hpp).
        """
        self._check_fitted()
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def sample_with_labels(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`sample` and each row's component, ``(X (n, d), labels (n,) int64)``."""
        self._check_fitted()
        n = check_count(n)
        dtype = check_float_dtype(dtype)
        threads = check_n_threads(n_threads)
        out, labels = empty_output(n, self.dim, dtype), np.empty(n, dtype=np.int64)
        self._sample_rows(key_from_rng(rng), 0, out, threads, labels)
        return out, labels

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int, labels=None) -> None:
        """Rows ``r0 .. r0 + len(out)`` of the sample of stream ``key``, into ``out``."""
        if self._alias is None:
            self._alias = _core.random.alias_table(self.weights_)
        prob, alias = self._alias
        _core.gmm.sample(self.means_, self._chol, prob, alias, key, r0, out, labels, n_threads)

    def __repr__(self) -> str:
        return f"GMM(n_components={self.n_components}, covariance={self.covariance!r})"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_engine_cache"], state["_alias"] = {}, None  # caches: rebuilt on first use
        return state

    # ---- model files (gensample.io) -------------------------------------------------------

    _FIT_RESULTS = ("converged_", "n_iter_", "lower_bound_")

    def _save_state(self):
        self._check_fitted()
        params = {
            "n_components": self.n_components,
            "covariance": self.covariance,
            "tol": self.tol,
            "reg_covar": self.reg_covar,
            "max_iter": self.max_iter,
            "n_init": self.n_init,
            "init": self.init,
            "warm_start": self.warm_start,
            "rng": self.rng if isinstance(self.rng, int) else None,
        }
        for name in self._FIT_RESULTS:
            if hasattr(self, name):
                value = getattr(self, name)
                params[name] = (
                    value if isinstance(value, bool) else float(value) if name == "lower_bound_" else int(value)
                )
                if name == "lower_bound_" and not np.isfinite(value):
                    params[name] = None  # max_iter=0: no EM ran, the bound is -inf
        arrays = {"weights": self.weights_, "means": self.means_, "covariances": self.covariances_}
        if hasattr(self, "lower_bounds_"):
            arrays["lower_bounds"] = np.asarray(self.lower_bounds_, dtype=np.float64)
        return params, arrays, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        gmm = cls(
            params["n_components"],
            params["covariance"],
            tol=params["tol"],
            reg_covar=params["reg_covar"],
            max_iter=params["max_iter"],
            n_init=params["n_init"],
            init=params["init"],
            warm_start=params["warm_start"],
            rng=params["rng"],
        )
        gmm._check_parameters(arrays["weights"], arrays["means"], arrays["covariances"])
        # the stored bits, not the checked copies (which are renormalised): same samples as saved
        gmm._set(*(np.array(arrays[k], dtype=np.float64) for k in ("weights", "means", "covariances")))
        for name in cls._FIT_RESULTS:
            if name in params:
                setattr(gmm, name, params[name])
        if params.get("lower_bound_", 0.0) is None:  # JSON has no -inf: a fit of max_iter=0
            gmm.lower_bound_ = -np.inf
        if "lower_bounds" in arrays:
            gmm.lower_bounds_ = [float(v) for v in arrays["lower_bounds"]]
        return gmm
