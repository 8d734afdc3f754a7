"""Linear latent models: each observation is a point ``z`` of a low-dimensional latent space
mapped back linearly, ``x = W^T z + mu + eps`` with ``z ~ N(0, I_q)``.

:class:`PPCA` (probabilistic PCA, Tipping and Bishop 1999) takes isotropic noise
``eps ~ N(0, sigma^2 I)`` and fits in closed form from the data covariance's eigenvectors;
:class:`FactorAnalysis` takes a noise variance per coordinate, ``eps ~ N(0, diag(psi))``,
and fits by EM (the SVD form of Barber 2012, section 21.2, as scikit-learn's). Both are
Gaussians, ``N(mu, W^T W + noise)``: their densities, scores, conditionals and marginals
run on the Gaussian-mixture engine (:class:`gensample.GMM` with one component).

``components_`` is ``W`` as scikit-learn stores it, ``(n_latent, d)``; :meth:`encode` gives
the posterior of ``z`` given ``x``, :meth:`decode` maps latent points back, and
:meth:`sample` draws ``z`` and the noise from two Philox sub-streams of the seed, so row
``i`` is a pure function of ``(seed, i)``.

>>> import numpy as np, gensample as gs
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(500, 5))
>>> ppca = gs.PPCA(n_latent=2).fit(X)
>>> z_mean, z_cov = ppca.encode(X[:3])
>>> z_mean.shape, z_cov.shape, ppca.sample(4, rng=0).shape
((3, 2), (2, 2), (4, 5))
>>> bool(ppca.logpdf(X[:3]).mean() > gs.PPCA(n_latent=1).fit(X).logpdf(X[:3]).mean())
True
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _core
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    as_dataset,
    as_points,
    as_real_array,
    as_sample_weights,
    check_count,
    check_positive_int,
    check_real,
)
from .distribution import Distribution
from .gmm import GMM, ConvergenceWarning

__all__ = ["FactorAnalysis", "PPCA"]

_SMALL = 1e-12  # the floor of a noise variance, as scikit-learn's FactorAnalysis


def _times(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b in a fixed summation order (einsum, not BLAS): the same bits on every machine
    and thread count, and no BLAS pool woken beside the engine's threads."""
    return np.einsum("ij,jk->ik", a, b)


class _LinearGaussian(Distribution):
    """What PPCA and FactorAnalysis share once fitted: ``mean_`` (d,), ``components_`` (q, d)
    and ``noise_variance_`` (d,), the Gaussian ``N(mean_, W^T W + diag(noise_variance_))``."""

    def __init__(self, n_latent: int):
        self.n_latent = check_positive_int(n_latent, "n_latent")

    # ---- state -------------------------------------------------------------------------

    def _set(self, mean: np.ndarray, components: np.ndarray, noise: np.ndarray) -> None:
        self.mean_, self.components_ = mean, components
        self.noise_variance_ = noise
        self._gaussian = GMM.from_parameters([1.0], mean[None, :], self.covariance_[None])

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(X) first")

    def _check_data(self, X, weights):
        X = as_dataset(X)
        n, d = X.shape
        if self.n_latent >= d:
            raise ValueError(f"n_latent={self.n_latent} must be below the dimension of X ({d})")
        w = np.full(n, 1.0 / n) if weights is None else as_sample_weights(weights, n)
        return X, w

    @property
    def dim(self) -> int:
        self._check_fitted()
        return int(self.mean_.shape[0])

    @property
    def covariance_(self) -> np.ndarray:
        """The model's covariance ``W^T W + diag(noise_variance_)``, (d, d)."""
        cov = _times(self.components_.T, self.components_)
        cov[np.diag_indices_from(cov)] += self.noise_variance_
        return cov

    # ---- latent space ------------------------------------------------------------------

    def encode(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The posterior ``p(z | x)`` of each row of ``x``: its means (n, q) and its
        covariance (q, q), the same for every x: ``(I + W Psi^-1 W^T)^-1``."""
        self._check_fitted()
        x = as_points(x, self.dim, dtype=np.float64)
        scaled = self.components_ / self.noise_variance_  # W Psi^-1, (q, d)
        precision = np.eye(self.n_latent) + _times(scaled, self.components_.T)
        cov = np.linalg.inv(precision)
        cov = 0.5 * (cov + cov.T)
        means = _times(_times(x - self.mean_, scaled.T), cov)
        return means, cov

    def decode(self, z: ArrayLike) -> np.ndarray:
        """Latent points (n, q) mapped back to the data space: ``z W + mean_`` (no noise)."""
        self._check_fitted()
        z = as_points(z, self.n_latent, name="z", dtype=np.float64)
        return _times(z, self.components_) + self.mean_

    def interpolate(self, x0: ArrayLike, x1: ArrayLike, n: Count = 8) -> np.ndarray:
        """``n`` points from ``x0`` to ``x1`` along the straight line between their latent
        means, decoded: (n, d)."""
        n = check_count(n, "n")
        (z0, z1), _ = self.encode(np.stack([as_points(x0, self.dim)[0], as_points(x1, self.dim)[0]]))
        steps = np.linspace(0.0, 1.0, n)[:, None]
        return self.decode((1 - steps) * z0 + steps * z1)

    # ---- the Gaussian ------------------------------------------------------------------

    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``log p(x)`` of each row, (n,) (the mixture engine, one component)."""
        self._check_fitted()
        return self._gaussian.logpdf(x, n_threads=n_threads)

    def grad_logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """The score ``grad_x log p(x)`` of each row, (n, d)."""
        self._check_fitted()
        return self._gaussian.grad_logpdf(x, n_threads=n_threads)

    def score_samples(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """Same as :meth:`logpdf` (scikit-learn's name)."""
        return self.logpdf(x, n_threads=n_threads)

    def condition(self, values, dims) -> GMM:
        """``p(x_rest | x_dims = values)``: a Gaussian (a one-component :class:`GMM`)."""
        self._check_fitted()
        return self._gaussian.condition(values, dims)

    def marginal(self, dims) -> GMM:
        """The marginal of the coordinates ``dims``: a Gaussian (a one-component :class:`GMM`)."""
        self._check_fitted()
        return self._gaussian.marginal(dims)

    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        """``n`` draws (n, d): ``z`` from sub-stream 0 of the seed, the noise from sub-stream 1."""
        self._check_fitted()
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        n = len(out)
        z = np.empty((n, self.n_latent))
        noise = np.empty((n, self.dim))
        _core.random.fill_normal(_core.random.subkey(key, 0), z, n_threads, r0)
        _core.random.fill_normal(_core.random.subkey(key, 1), noise, n_threads, r0)
        out[...] = _times(z, self.components_) + self.mean_ + noise * np.sqrt(self.noise_variance_)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_gaussian", None)  # rebuilt from the parameters
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "mean_" in state:
            self._set(self.mean_, self.components_, self.noise_variance_)

    # ---- model files (gensample.io) ----------------------------------------------------

    def _save_state(self):
        self._check_fitted()
        arrays = {"mean": self.mean_, "components": self.components_, "noise_variance": self.noise_variance_}
        return {"n_latent": self.n_latent}, arrays, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        model = cls(params["n_latent"])
        model._set(*_checked_parameters(arrays["mean"], arrays["components"], arrays["noise_variance"]))
        return model


def _checked_parameters(mean, components, noise_variance) -> tuple:
    mean = as_real_array(mean, "mean", (None,))
    d = mean.shape[0]
    components = as_real_array(components, "components", (None, d), expected=f"(n_latent, {d})")
    noise = as_real_array(noise_variance, "noise_variance", (d,))
    if not (noise > 0).all():
        raise ValueError(f"noise_variance must be positive, got a minimum of {float(noise.min())}")
    return mean, components, noise


class PPCA(_LinearGaussian):
    """Probabilistic PCA: ``x = W^T z + mu + eps``, ``z ~ N(0, I_q)``, ``eps ~ N(0, sigma^2 I)``.

    Parameters
    ----------
    n_latent : int
        The latent dimension ``q``, below the data's.

    Attributes
    ----------
    mean_ : (d,) array
        Set by :meth:`fit` or :meth:`from_parameters`, as the others.
    components_ : (q, d) array
        ``W``: the principal axes scaled by ``sqrt(lambda_k - sigma^2)``.
    explained_variance_ : (q,) array
        The q largest eigenvalues ``lambda_k`` of the data covariance.
    noise_variance_ : (d,) array
        ``sigma^2`` in every coordinate: the mean of the other eigenvalues.

    The fit is the maximum-likelihood solution in closed form (Tipping and Bishop 1999):
    the (weighted) covariance divides by the total weight. scikit-learn's ``PCA`` divides by
    ``n - 1``, so its ``score_samples`` is that of this model with every eigenvalue scaled
    by ``n / (n - 1)``; :meth:`from_parameters` takes its attributes as they are.

    >>> import numpy as np, gensample as gs
    >>> X = np.random.default_rng(1).normal(size=(200, 3)) * [3.0, 1.0, 0.1]
    >>> ppca = gs.PPCA(1).fit(X)
    >>> np.round(np.abs(ppca.components_[0]) / np.linalg.norm(ppca.components_), 1).tolist()
    [1.0, 0.0, 0.0]
    """

    def fit(self, X: ArrayLike, weights: ArrayLike | None = None) -> PPCA:
        """Fit to the rows of ``X`` (n, d), with optional non-negative ``weights``. Returns self."""
        X, w = self._check_data(X, weights)
        mean = w @ X
        centred = X - mean
        # BLAS here (the O(n d^2) pass of a fit, not a per-row kernel): its sums' order may
        # differ between machines in the last bits, as LAPACK's eigenvectors do anyway.
        cov = (centred.T * w) @ centred
        values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
        values, vectors = values[::-1], vectors[:, ::-1]  # largest first
        q = self.n_latent
        sigma2 = float(np.mean(values[q:]))
        if not sigma2 > 0:
            raise ValueError(
                f"X lies in a subspace of dimension {q} or less: the noise variance is 0; "
                "use fewer latent dimensions or FactorAnalysis"
            )
        scale = np.sqrt(np.maximum(values[:q] - sigma2, 0.0))
        components = np.ascontiguousarray((vectors[:, :q] * scale).T)
        self.explained_variance_ = values[:q].copy()
        self._set(mean, components, np.full(X.shape[1], sigma2))
        return self

    @classmethod
    def from_parameters(cls, mean, components, noise_variance) -> PPCA:
        """A PPCA from its parameters: ``mean`` (d,), ``components`` (q, d) (``W``, rows not
        necessarily orthogonal) and a scalar ``noise_variance`` (``sigma^2 > 0``).

        scikit-learn's ``PCA(n_components=q)`` gives ``mean_``, ``components_ *
        sqrt(explained_variance_ - noise_variance_)[:, None]`` and ``noise_variance_``.
        """
        sigma2 = check_real(noise_variance, "noise_variance", 0.0, open_low=True)
        components = as_real_array(components, "components", (None, None), expected="(n_latent, d)")
        model = cls(components.shape[0])
        model._set(*_checked_parameters(mean, components, np.full(components.shape[1], sigma2)))
        return model

    def __repr__(self) -> str:
        return f"PPCA(n_latent={self.n_latent})"


class FactorAnalysis(_LinearGaussian):
    """Factor analysis: ``x = W^T z + mu + eps``, ``z ~ N(0, I_q)``, ``eps ~ N(0, diag(psi))``.

    Parameters
    ----------
    n_latent : int
        The latent dimension ``q``, below the data's.
    tol : float, default 1e-2
        EM stops when the log-likelihood (of all rows) rises by less than this.
    max_iter : int, default 1000

    Attributes
    ----------
    mean_ : (d,) array
        Set by :meth:`fit` or :meth:`from_parameters`, as the others.
    components_ : (q, d) array
        ``W``, the factor loadings.
    noise_variance_ : (d,) array
        ``psi``, one variance per coordinate.
    loglike_ : list of float
        After :meth:`fit`: the log-likelihood after each EM iteration.
    n_iter_, converged_ : int, bool
        After :meth:`fit`; a fit that reaches ``max_iter`` warns (``gensample.gmm.ConvergenceWarning``).

    EM is the SVD form of Barber (2012, section 21.2), from unit noise variances, with
    scikit-learn's tol and max_iter and an exact SVD at each step: the same steps as its
    ``FactorAnalysis(svd_method="lapack")``. (Its default, ``"randomized"``, approximates
    that SVD, and its fit with it.)

    >>> import numpy as np, gensample as gs
    >>> rng = np.random.default_rng(2)
    >>> X = rng.normal(size=(2000, 1)) @ [[2.0, 1.0, 0.5]] + rng.normal(size=(2000, 3)) * [0.5, 0.7, 1.0]
    >>> fa = gs.FactorAnalysis(1).fit(X)
    >>> fa.converged_, np.round(np.abs(fa.components_[0]), 1).tolist()
    (True, [2.0, 1.0, 0.5])
    """

    def __init__(self, n_latent: int, *, tol: float = 1e-2, max_iter: int = 1000):
        super().__init__(n_latent)
        self.tol = check_real(tol, "tol", 0.0)
        self.max_iter = check_positive_int(max_iter, "max_iter")

    def fit(self, X: ArrayLike, weights: ArrayLike | None = None) -> FactorAnalysis:
        """Fit by EM to the rows of ``X`` (n, d), with optional non-negative ``weights``."""
        X, w = self._check_data(X, weights)
        n, d = X.shape
        q = self.n_latent
        mean = w @ X
        centred = X - mean
        cov = (centred.T * w) @ centred  # the one O(n d^2) pass (BLAS, as PPCA's)
        variance = np.diag(cov).copy()
        psi = np.ones(d)
        constant = d * math.log(2 * math.pi) + q
        loglike: list[float] = []
        previous = -np.inf
        components = np.zeros((q, d))
        converged = False
        for _ in range(self.max_iter):
            # The E-step and M-step in one: the top eigenvectors of the covariance whitened by
            # the noise give W, its other eigenvalues the unexplained variance. Barber's form
            # takes the SVD of the whitened data, O(n d^2) an iteration; these are its
            # squared singular values and right vectors, O(d^3) an iteration.
            root = np.sqrt(psi) + _SMALL
            whitened = cov / np.outer(root, root)
            values, vectors = np.linalg.eigh(0.5 * (whitened + whitened.T))
            s2 = values[::-1][:q]
            unexplained = float(np.sum(values[::-1][q:]))
            components = np.sqrt(np.maximum(s2 - 1.0, 0.0))[:, None] * vectors[:, ::-1][:, :q].T * root
            ll = -n / 2 * (constant + float(np.sum(np.log(s2))) + unexplained + float(np.sum(np.log(psi))))
            loglike.append(ll)
            if ll - previous < self.tol:
                converged = True
                break
            previous = ll
            psi = np.maximum(variance - np.sum(components**2, axis=0), _SMALL)
        self.loglike_, self.n_iter_, self.converged_ = loglike, len(loglike), converged
        if not converged:
            warnings.warn(
                f"EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol}); raise max_iter or tol",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set(mean, np.ascontiguousarray(components), psi)
        return self

    @classmethod
    def from_parameters(cls, mean, components, noise_variance) -> FactorAnalysis:
        """A factor model from its parameters: ``mean`` (d,), ``components`` (q, d) and
        ``noise_variance`` (d,) (scikit-learn's ``FactorAnalysis`` attributes as they are)."""
        components = as_real_array(components, "components", (None, None), expected="(n_latent, d)")
        model = cls(components.shape[0])
        model._set(*_checked_parameters(mean, components, noise_variance))
        return model

    def _save_state(self):
        params, arrays, children = super()._save_state()
        return {**params, "tol": self.tol, "max_iter": self.max_iter}, arrays, children

    @classmethod
    def _load_state(cls, params, arrays, children):
        model = cls(params["n_latent"], tol=params["tol"], max_iter=params["max_iter"])
        model._set(*_checked_parameters(arrays["mean"], arrays["components"], arrays["noise_variance"]))
        return model

    def __repr__(self) -> str:
        return f"FactorAnalysis(n_latent={self.n_latent}, tol={self.tol}, max_iter={self.max_iter})"
