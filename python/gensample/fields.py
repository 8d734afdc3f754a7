"""Velocity fields for :class:`gensample.Flow`: the exact marginal velocity of a target on
the linear (CondOT) path ``x_t = t x1 + (1 - t) x0``, ``x0 ~ N(0, I)``."""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_points, check_n_threads

__all__ = ["GaussianMixture"]


def _time(t) -> float:
    if isinstance(t, (bool, np.bool_)) or not np.isscalar(t) or not np.isfinite(t) or not 0.0 <= float(t) <= 1.0:
        raise ValueError(f"t must be a number in [0, 1], got {t!r}")
    return float(t)


class GaussianMixture:
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
        return self.weights_, self.means_, self.covariances_

    def velocity(self, t, x, n_threads=None) -> np.ndarray:
        """``u_t(x)`` at each row of ``x`` -> (n, d), in ``x``'s float type."""
        x = as_points(x, self.dim)
        return _core.flow_velocity(*self._args(), _time(t), x, False, check_n_threads(n_threads))

    def divergence(self, t, x, n_threads=None) -> np.ndarray:
        """``div u_t(x)`` at each row of ``x`` -> (n,) float64."""
        x = as_points(x, self.dim)
        return _core.flow_velocity(*self._args(), _time(t), x, True, check_n_threads(n_threads))[1]

    def __repr__(self) -> str:
        return f"GaussianMixture(k={len(self.weights_)}, dim={self.dim})"
