"""Velocity fields for :class:`gensample.Flow`: the exact marginal velocity of a target on
the linear (CondOT) path ``x_t = t x1 + (1 - t) x0``, ``x0 ~ N(0, I)``."""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_points, check_n_threads

__all__ = ["Callable", "Empirical", "GaussianMixture", "Guided"]


def _time(t) -> float:
    if isinstance(t, (bool, np.bool_)) or not np.isscalar(t) or not np.isfinite(t) or not 0.0 <= float(t) <= 1.0:
        raise ValueError(f"t must be a number in [0, 1], got {t!r}")
    return float(t)


class _Field:
    """What every field offers: ``velocity`` and ``divergence`` on validated input, built on
    ``_call`` and ``_div``, the calls the NumPy solver makes at each stage (flow.py) with
    ``where`` naming the step for error messages."""

    def velocity(self, t, x, n_threads=None) -> np.ndarray:
        """``u_t(x)`` at each row of ``x`` -> (n, d), in ``x``'s float type."""
        return self._call(_time(t), as_points(x, self.dim), f"t = {float(t)}", n_threads)

    def divergence(self, t, x, n_threads=None) -> np.ndarray:
        """``div u_t(x)`` at each row of ``x`` -> (n,) float64."""
        return self._div(_time(t), as_points(x, self.dim), f"t = {float(t)}", n_threads)


class GaussianMixture(_Field):
    """The exact marginal velocity toward a Gaussian mixture ``sum_k pi_k N(mu_k, Sigma_k)``.

    With ``S_k = t^2 Sigma_k + (1 - t)^2 I``: ``u_t(x) = sum_k w_k (mu_k + B_k (x - t mu_k))``,
    ``B_k = (t Sigma_k - (1 - t) I) S_k^-1``, ``w_k`` the posterior of component k at x; its
    divergence is exact too (``cpp/include/gensample/flow.hpp``), so a :class:`~gensample.Flow`
    on this field has an exact ``logpdf`` up to the solver's error. Finite at ``t = 1``.

    ``target`` is a fitted :class:`gensample.GMM` (any covariance type) or a
    :class:`gensample.KDE` with the Gaussian kernel (one component per data point, covariance
    ``H``).

    >>> import numpy as np, gensample as gs
    >>> g = gs.GMM.from_parameters([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    >>> field = gs.fields.GaussianMixture(g)
    >>> field.velocity(0.0, [[0.0]]).round(6).tolist()        # at t = 0: E[x1] - x
    [[0.0]]
    """

    def __init__(self, target):
        from .gmm import GMM
        from .kde import KDE

        if isinstance(target, GMM):
            target._check_fitted()
            weights, means, cov = target.weights_, target.means_, target._full_covariances()
        elif isinstance(target, KDE):
            target._check_fitted()
            if target.kernel != "gaussian":
                raise ValueError(f"a KDE field needs the Gaussian kernel, got {target.kernel!r}")
            keep = target.weights_ > 0
            means = target.data_[keep]
            weights = target.weights_[keep] / target.weights_[keep].sum()
            cov = np.broadcast_to(target.bandwidth_, (len(means),) + target.bandwidth_.shape)
        else:
            raise TypeError(f"target must be a gs.GMM or a gs.KDE, got {type(target).__name__}")
        self.target = target
        self.weights_ = np.ascontiguousarray(weights, dtype=np.float64)
        self.means_ = np.ascontiguousarray(means, dtype=np.float64)
        self.covariances_ = np.ascontiguousarray(cov, dtype=np.float64)

    @property
    def dim(self) -> int:
        return self.means_.shape[1]

    def _args(self) -> tuple:
        """(weights, means, covariances): the mixture, as the NumPy twin takes it."""
        return self.weights_, self.means_, self.covariances_

    def _engine(self) -> tuple:
        """The core's field tuple (flow.hpp's MixtureField)."""
        return self.weights_, self.means_, self.covariances_, 0.0

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None) -> np.ndarray:
        return _core.flow_velocity(self._engine(), t, x, False, check_n_threads(n_threads))

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None) -> np.ndarray:
        return _core.flow_velocity(self._engine(), t, x, True, check_n_threads(n_threads))[1]

    def __repr__(self) -> str:
        return f"GaussianMixture(k={len(self.weights_)}, dim={self.dim})"


class Empirical(GaussianMixture):
    """The exact marginal velocity toward the data themselves (or their Gaussian KDE).

    ``p_1`` is the empirical distribution of the rows of ``X`` (with optional ``weights``),
    or with ``bandwidth = h > 0`` its Gaussian KDE with covariance ``h^2 I``. Then
    ``u_t(x) = xbar + b (x - t xbar)``, ``xbar = sum_i w_i x_i`` with ``w`` a softmax of
    ``-|x - t x_i|^2 / (2 s^2)``, ``s^2 = t^2 h^2 + (1 - t)^2``, ``b = (t h^2 - (1 - t)) / s^2``:
    attention over the dataset, computed in tiles with a running maximum, O(n d) memory.
    Integrating it carries N(0, I) onto the training points (``bandwidth=0``). At t = 1
    with ``bandwidth=0`` the field is singular and returns the limit ``u = x``; the Euler
    and midpoint solvers never evaluate there.

    >>> import numpy as np, gensample as gs
    >>> X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    >>> x1 = gs.Flow(gs.fields.Empirical(X), "midpoint", 400).sample(5, rng=0)
    >>> bool(np.abs(np.abs(x1[:, 0]) - 1).max() < 0.01)     # every particle lands on a data point
    True
    """

    def __init__(self, X, weights=None, bandwidth=0.0):
        from ._validation import as_dataset, as_sample_weights

        X = as_dataset(X)
        w = np.full(len(X), 1.0 / len(X)) if weights is None else as_sample_weights(weights, len(X))
        if isinstance(bandwidth, (bool, np.bool_)) or not np.isscalar(bandwidth) or not np.isfinite(bandwidth) \
                or bandwidth < 0:
            raise ValueError(f"bandwidth must be a finite number >= 0, got {bandwidth!r}")
        keep = w > 0
        self.target = X
        self.bandwidth = float(bandwidth)
        self.weights_ = np.ascontiguousarray(w[keep])
        self.means_ = np.ascontiguousarray(X[keep])

    @property
    def covariances_(self) -> np.ndarray:
        """``h^2 I`` per point, (n, d, d) (built on demand: the engine never needs it)."""
        d = self.dim
        return np.broadcast_to(self.bandwidth**2 * np.eye(d), (len(self.means_), d, d))

    def _engine(self) -> tuple:
        return self.weights_, self.means_, None, self.bandwidth

    def __repr__(self) -> str:
        return f"Empirical(n={len(self.weights_)}, dim={self.dim}, bandwidth={self.bandwidth})"


class Callable(_Field):
    """Any batched velocity ``fn(t, x) -> (n, d)``: a NumPy function, a wrapped network.

    The solver calls ``fn`` once per stage with all particles (``t`` a Python float, ``x``
    an (n, d) array in the sample's float type) and checks what comes back: shape, dtype
    kind and finiteness, naming the step and time of a failure. ``divergence``, when
    given, is ``div(t, x) -> (n,)`` and makes :meth:`gensample.Flow.logpdf` available.

    >>> import numpy as np, gensample as gs
    >>> spin = gs.fields.Callable(lambda t, x: x[:, ::-1] * [1.0, -1.0], dim=2,
    ...                           divergence=lambda t, x: np.zeros(len(x)))
    >>> x1 = gs.Flow(spin, steps=200).integrate([[1.0, 0.0]])   # one radian of rotation
    >>> np.round(x1, 6).tolist() == np.round([[np.cos(1.0), -np.sin(1.0)]], 6).tolist()
    True
    """

    def __init__(self, fn, dim, divergence=None):
        if not callable(fn):
            raise TypeError(f"fn must be callable as fn(t, x), got {type(fn).__name__}")
        if divergence is not None and not callable(divergence):
            raise TypeError(f"divergence must be callable as div(t, x), got {type(divergence).__name__}")
        from ._validation import check_positive_int

        self.fn = fn
        self.divergence_fn = divergence
        self._dim = check_positive_int(dim, "dim")

    @property
    def dim(self) -> int:
        return self._dim

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None) -> np.ndarray:
        u = np.asarray(self.fn(t, x))
        if u.shape != x.shape or u.dtype.kind != "f":
            raise ValueError(f"the field returned {u.dtype} {u.shape} at {where}, expected float {x.shape}")
        bad = ~np.isfinite(u).all(axis=1)
        if bad.any():
            raise FloatingPointError(f"the field returned NaN or inf at {where} for {int(bad.sum())} of {len(x)} "
                                     f"particles (the first: row {int(np.flatnonzero(bad)[0])})")
        return u.astype(x.dtype, copy=False)

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None) -> np.ndarray:
        if self.divergence_fn is None:
            raise TypeError("this Callable field has no divergence: pass divergence=div(t, x) to use logpdf")
        d = np.asarray(self.divergence_fn(t, x), dtype=np.float64)
        if d.shape != (len(x),) or not np.isfinite(d).all():
            raise ValueError(f"the divergence returned {d.shape} or non-finite values at {where}, "
                             f"expected ({len(x)},) finite")
        return d

    def __repr__(self) -> str:
        return f"Callable({getattr(self.fn, '__name__', 'fn')}, dim={self.dim})"


class Guided(_Field):
    """Classifier-free guidance: ``u = u_uncond + w (u_cond - u_uncond)``.

    ``conditional`` and ``unconditional`` are fields of the same dimension (``w = 1`` is the
    conditional field, ``w = 0`` the unconditional one, ``w > 1`` pushes further toward the
    condition). The divergence combines the same way, so a guided flow keeps ``logpdf``
    when both fields have one. Closed-form conditional fields come from
    :meth:`gensample.GMM.condition` (a continuous condition) or from one mixture per class.

    >>> import numpy as np, gensample as gs
    >>> gmm = gs.GMM.from_parameters([0.5, 0.5], [[-2.0, -2.0], [2.0, 2.0]], np.stack([0.3 * np.eye(2)] * 2))
    >>> cond = gs.GMM.from_parameters([1.0], [[2.0, 2.0]], [0.3 * np.eye(2)])          # "class 1" only
    >>> field = gs.fields.Guided(gs.fields.GaussianMixture(cond), gs.fields.GaussianMixture(gmm), guidance=1.5)
    >>> x = gs.Flow(field, steps=32).sample(1000, rng=0)
    >>> bool((x.mean(axis=0) > 1.9).all())
    True
    """

    def __init__(self, conditional, unconditional, guidance=1.0):
        for name, f in (("conditional", conditional), ("unconditional", unconditional)):
            if not isinstance(f, _Field):
                raise TypeError(f"{name} must be a gensample.fields field, got {type(f).__name__}")
        if conditional.dim != unconditional.dim:
            raise ValueError(f"the fields' dimensions differ: {conditional.dim} and {unconditional.dim}")
        if isinstance(guidance, (bool, np.bool_)) or not np.isscalar(guidance) or not np.isfinite(guidance):
            raise ValueError(f"guidance must be a finite number, got {guidance!r}")
        self.conditional, self.unconditional, self.guidance = conditional, unconditional, float(guidance)

    @property
    def dim(self) -> int:
        return self.conditional.dim

    def _combine(self, a, b):
        return b + self.guidance * (a - b)

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None) -> np.ndarray:
        return self._combine(self.conditional._call(t, x, where, n_threads),
                             self.unconditional._call(t, x, where, n_threads))

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None) -> np.ndarray:
        return self._combine(self.conditional._div(t, x, where, n_threads),
                             self.unconditional._div(t, x, where, n_threads))

    def __repr__(self) -> str:
        return f"Guided({self.conditional!r}, {self.unconditional!r}, guidance={self.guidance})"
