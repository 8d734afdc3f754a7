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

from . import _core, _network
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    _short,
    as_dataset,
    as_points,
    as_real_array,
    as_sample_weights,
    check_count,
    check_n_threads,
    check_positive_int,
    check_real,
)
from .distribution import Distribution
from .gmm import GMM, ConvergenceWarning
from .random import key_from_rng

__all__ = ["Decoder", "FactorAnalysis", "PPCA"]

_SMALL = 1e-12  # the floor of a noise variance, as scikit-learn's FactorAnalysis


def _times(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b in a fixed summation order (einsum, not BLAS): the same bits on every machine
    and thread count, and no BLAS pool woken beside the engine's threads."""
    return np.einsum("ij,jk->ik", a, b)


_SCATTER_ROWS = 1024  # rows per block of the covariance pass: the centred block stays in cache


def _scatter(X: np.ndarray, w: np.ndarray | None, mean: np.ndarray) -> np.ndarray:
    """The (weighted) covariance ``sum_i w_i (x_i - mean)(x_i - mean)^T`` (``w`` None: 1/n
    each), centred block by block: exact where ``X^T X - n mean mean^T`` would cancel (data
    far from the origin), without a centred copy of X. BLAS here (the O(n d^2) pass of a
    fit, not a per-row kernel): its sums' order may differ between machines in the last
    bits, as LAPACK's eigenvectors do anyway."""
    d = X.shape[1]
    cov = np.zeros((d, d))
    root = None if w is None else np.sqrt(w)
    for a in range(0, len(X), _SCATTER_ROWS):
        c = X[a : a + _SCATTER_ROWS] - mean
        if root is not None:
            c *= root[a : a + _SCATTER_ROWS, None]
        cov += c.T @ c  # NumPy calls syrk for a product with its own transpose
    return cov / len(X) if w is None else cov


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
        cov = _scatter(X, None if weights is None else w, mean)
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
        cov = _scatter(X, None if weights is None else w, mean)  # the one O(n d^2) pass
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


# ---- decoders ------------------------------------------------------------------------------

_IWAE_BLOCK = 1 << 16  # latent draws per batch of the importance-sampling estimate (memory bound)


def _network_of(network, name: str) -> tuple[list, list, list]:
    """(weights, biases, steps) of a torch module, or of (weights, biases, activations) as
    :class:`gensample.fields.MLP` takes them."""
    if hasattr(network, "forward") and hasattr(network, "named_children"):
        return _network.check_layers(*_network.from_torch(network))
    if isinstance(network, (tuple, list)) and len(network) == 3:
        return _network.check_layers(*network)
    raise TypeError(f"{name} must be a torch module or (weights, biases, activations), got {type(network).__name__}")


class Decoder(Distribution):
    """``x = f(z) + eps``: ``z ~ N(0, I_q)`` pushed through a network ``f`` (a VAE's decoder,
    a GAN's generator), with optional Gaussian observation noise ``eps ~ N(0, diag(noise))``.

    Parameters
    ----------
    network : torch module or (weights, biases, activations)
        ``f``: a ``torch.nn.Sequential`` of Linear layers, activations and LayerNorm
        (translated once; torch is not needed afterwards), or the layers as
        :class:`gensample.fields.MLP` takes them. It runs in the C++ network engine.
    latent_dim : int
        ``q``: the network's input width (checked).
    noise : None, float or (d,) array
        The observation noise's *variance* ``sigma^2`` (one for all coordinates or one each);
        None draws ``f(z)`` itself (then the model has no density).
    encoder : torch module, (weights, biases, activations), or a pair of them, optional
        ``q(z | x) = N(mu(x), diag(exp(logvar(x))))``: one network whose 2q outputs are
        ``[mu, logvar]``, or the pair ``(mu network, logvar network)``. With it and ``noise``,
        :meth:`logpdf` estimates ``log p(x)`` by importance sampling (:meth:`iwae`).

    Row ``i`` of :meth:`sample` is ``f(z_i) + eps_i`` with ``z_i`` row ``i`` of sub-stream 0
    of the seed and ``eps_i`` of sub-stream 1: a pure function of ``(seed, i)`` for any
    thread count or chunking, float32 in float32 arithmetic.

    >>> import torch, numpy as np, gensample as gs
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.LayerNorm(32), torch.nn.ELU(),
    ...                           torch.nn.Linear(32, 5))
    >>> dec = gs.Decoder(net, latent_dim=2, noise=0.01)
    >>> dec.sample(4, rng=0).shape, dec.dim
    ((4, 5), 5)
    >>> z = np.zeros((1, 2), np.float32)
    >>> bool(np.allclose(dec.decode(z), net(torch.from_numpy(z)).detach().numpy(), atol=1e-5))
    True
    """

    def __init__(self, network, latent_dim, noise=None, encoder=None):
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.weights_, self.biases_, self.steps_ = _network_of(network, "network")
        width = self.weights_[0].shape[1]
        if width != self.latent_dim:
            raise ValueError(f"the network takes {width} inputs, but latent_dim is {self.latent_dim}")
        d = self.weights_[-1].shape[0]
        self.noise_ = None if noise is None else _noise_of(noise, d)
        self.encoder_ = None if encoder is None else self._encoder_of(encoder)
        self._cache: dict = {}

    @classmethod
    def from_torch(cls, module, noise=None, encoder=None) -> Decoder:
        """A Decoder from a torch module, its latent dimension read from the first Linear layer."""
        weights, biases, steps = _network.from_torch(module)
        return cls((weights, biases, steps), weights[0].shape[1], noise, encoder)

    def _encoder_of(self, encoder) -> tuple:
        q, d = self.latent_dim, self.weights_[-1].shape[0]
        if isinstance(encoder, tuple) and len(encoder) == 2:
            heads = [_network_of(e, f"encoder[{i}]") for i, e in enumerate(encoder)]
        else:
            heads = [_network_of(encoder, "encoder")]
        for i, (W, _, _) in enumerate(heads):
            if W[0].shape[1] != d:
                raise ValueError(f"the encoder takes {W[0].shape[1]} inputs, but the data has {d} dimensions")
            want = 2 * q if len(heads) == 1 else q
            if W[-1].shape[0] != want:
                raise ValueError(
                    f"the encoder{'' if len(heads) == 1 else f'[{i}]'} gives {W[-1].shape[0]} outputs, expected "
                    f"{want} ({'[mean, log-variance] of ' if len(heads) == 1 else ''}{q} latent dimensions)"
                )
        return tuple(heads)

    @property
    def dim(self) -> int:
        return self.weights_[-1].shape[0]

    def _engine(self, which, dtype) -> dict:
        key = (which, np.dtype(dtype))
        if key not in self._cache:
            W, b, steps = (self.weights_, self.biases_, self.steps_) if which == "decoder" else self.encoder_[which]
            self._cache[key] = {"layers": _network.engine_layers(W, b, steps, np.dtype(dtype))}
        return self._cache[key]

    def decode(self, z: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        """``f(z)`` at each row of ``z`` (n, q) -> (n, d), in ``z``'s float type (no noise)."""
        z = as_points(z, self.latent_dim, name="z")
        return _core.flow.forward(self._engine("decoder", z.dtype), z, check_n_threads(n_threads))

    def encode(self, x: ArrayLike, n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The encoder's ``q(z | x)``: means (n, q) and log-variances (n, q), float64."""
        if self.encoder_ is None:
            raise ValueError("this Decoder has no encoder: pass encoder= to encode")
        return self._encode(as_points(x, self.dim, dtype=np.float64), check_n_threads(n_threads))

    def _encode(self, x: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.encoder_ is not None
        outs = [_core.flow.forward(self._engine(i, np.float64), x, threads) for i in range(len(self.encoder_))]
        q = self.latent_dim
        return (outs[0][:, :q], outs[0][:, q:]) if len(outs) == 1 else (outs[0], outs[1])

    def interpolate(self, z0: ArrayLike, z1: ArrayLike, n: Count = 8) -> np.ndarray:
        """``n`` decoded points along the straight line from latent ``z0`` to ``z1``: (n, d)."""
        n = check_count(n, "n")
        a = as_points(z0, self.latent_dim, name="z0", dtype=np.float64)[0]
        b = as_points(z1, self.latent_dim, name="z1", dtype=np.float64)[0]
        steps = np.linspace(0.0, 1.0, n)[:, None]
        return self.decode((1 - steps) * a + steps * b)

    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        """``n`` draws (n, d): ``z`` from sub-stream 0 of the seed, the noise from sub-stream 1."""
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        z = np.empty((len(out), self.latent_dim), dtype=out.dtype)
        _core.random.fill_normal(_core.random.subkey(key, 0), z, n_threads, r0)
        _core.flow.forward(self._engine("decoder", out.dtype), z, n_threads, out)  # in place: no copy
        if self.noise_ is not None:
            eps = np.empty_like(out)
            _core.random.fill_normal(_core.random.subkey(key, 1), eps, n_threads, r0)
            out += eps * np.sqrt(self.noise_).astype(out.dtype)

    # ---- densities: importance sampling -----------------------------------------------

    def iwae(
        self, x: ArrayLike, k: Count = 64, rng: RngLike = 0, n_threads: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Importance-sampled ``log p(x)`` of each row (the IWAE bound, Burda et al. 2016) and
        its standard error: ``log (1/k) sum_j p(x | z_j) p(z_j) / q(z_j | x)``, ``z_j ~ q(z | x)``
        from the encoder, in float64.

        The estimate is a lower bound in expectation that tightens as ``k`` grows (exact for
        any ``k`` when ``q`` is the true posterior). The error is the delta method's,
        ``sd(w) / (sqrt(k) mean(w))`` of the weights ``w``: small when they agree. Draw ``j``
        of row ``i`` is row ``i k + j`` of the normal stream of ``rng`` (default 0), so the
        result is reproducible and the same for any thread count.
        """
        if self.noise_ is None or self.encoder_ is None:
            raise ValueError(
                "log p(x) needs observation noise and an encoder: Decoder(network, latent_dim, noise=..., encoder=...)"
            )
        k = check_positive_int(k, "k")
        x = as_points(x, self.dim, dtype=np.float64)
        threads = check_n_threads(n_threads)
        key = key_from_rng(rng)
        mean, logvar = self._encode(x, threads)
        q, d = self.latent_dim, self.dim
        log_noise = np.log(self.noise_)
        est, err = np.empty(len(x)), np.empty(len(x))
        rows = max(1, _IWAE_BLOCK // k)
        for a in range(0, len(x), rows):
            b = min(len(x), a + rows)
            eps = np.empty(((b - a) * k, q))
            _core.random.fill_normal(key, eps, threads, a * k)
            eps = eps.reshape(b - a, k, q)
            std = np.exp(0.5 * logvar[a:b])[:, None, :]
            z = mean[a:b, None, :] + std * eps
            fz = _core.flow.forward(self._engine("decoder", np.float64), z.reshape(-1, q), threads).reshape(b - a, k, d)
            r = x[a:b, None, :] - fz
            log_px = -0.5 * (np.sum(r * r / self.noise_, axis=2) + np.sum(log_noise) + d * _LOG_2PI)
            log_pz = -0.5 * (np.sum(z * z, axis=2) + q * _LOG_2PI)
            log_qz = -0.5 * (np.sum(eps * eps, axis=2) + np.sum(logvar[a:b], axis=1)[:, None] + q * _LOG_2PI)
            log_w = log_px + log_pz - log_qz
            top = log_w.max(axis=1, keepdims=True)
            w = np.exp(log_w - top)
            m = w.mean(axis=1)
            est[a:b] = np.log(m) + top[:, 0]
            err[a:b] = w.std(axis=1, ddof=1) / (np.sqrt(k) * m) if k > 1 else np.inf
        return est, err

    def logpdf(self, x: ArrayLike, n_threads: int | None = None, *, k: Count = 64, rng: RngLike = 0) -> np.ndarray:
        """:meth:`iwae`'s estimate of ``log p(x)`` (needs ``noise`` and an ``encoder``)."""
        return self.iwae(x, k, rng, n_threads)[0]

    # ---- the protocol's rest -------------------------------------------------------------

    def __repr__(self) -> str:
        noise = "" if self.noise_ is None else ", noise"
        encoder = "" if self.encoder_ is None else ", encoder"
        return f"Decoder({_network.describe(self.weights_, self.steps_)}{noise}{encoder})"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def _save_state(self):
        params: dict = {"latent_dim": self.latent_dim}
        arrays: dict = {}
        nets = [("", (self.weights_, self.biases_, self.steps_))]
        nets += [(f"encoder{i}_", net) for i, net in enumerate(self.encoder_ or ())]
        for prefix, (W, b, steps) in nets:
            saved, norms = _network.save_steps(steps)
            params[f"{prefix}steps"] = saved
            arrays.update({f"{prefix}{name}": v for name, v in norms.items()})
            for i, (w, v) in enumerate(zip(W, b)):
                arrays[f"{prefix}weight{i}"], arrays[f"{prefix}bias{i}"] = w, v
        params["encoder_heads"] = 0 if self.encoder_ is None else len(self.encoder_)
        if self.noise_ is not None:
            arrays["noise"] = self.noise_
        return params, arrays, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        def network(prefix):
            steps = params[f"{prefix}steps"]
            if not isinstance(steps, list):
                raise ValueError(f"{prefix}steps must be a list per layer")
            own = {name[len(prefix) :]: v for name, v in arrays.items() if name.startswith(prefix)}
            W = [own[f"weight{i}"] for i in range(len(steps))]
            b = [own[f"bias{i}"] for i in range(len(steps))]
            return W, b, _network.load_steps(steps, own)

        heads = params["encoder_heads"]
        if heads not in (0, 1, 2):
            raise ValueError(f"encoder_heads must be 0, 1 or 2, got {heads!r}")
        encoder = [network(f"encoder{i}_") for i in range(heads)]
        return cls(
            network(""),
            params["latent_dim"],
            arrays.get("noise"),
            None if not encoder else encoder[0] if heads == 1 else tuple(encoder),
        )


_LOG_2PI = math.log(2 * math.pi)


def _noise_of(noise, d: int) -> np.ndarray:
    values = as_real_array(noise, "noise", expected=f"a variance or {d} of them")
    values = np.broadcast_to(values, (d,)).copy() if values.ndim == 0 else values
    if values.shape != (d,) or not (values > 0).all():
        raise ValueError(f"noise must be a positive variance or {d} of them (one per coordinate), got {_short(noise)}")
    return values
