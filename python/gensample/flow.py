"""Flows: carry particles from ``N(0, I)`` at t = 0 to ``p_model`` at t = 1 along a
velocity field, with fixed-step solvers in C++ (``cpp/src/flow.cpp``).

The solver works time-outer: each step's field data (whitening factors of the mixture at
the stage times) are computed once for all particles, then every block of particles takes
the whole step in SIMD lanes. Each particle's path depends only on its own start, so
results do not depend on the batch or the thread count.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_points, check_n_threads, check_positive_int
from .distribution import Distribution
from .fields import Callable, GaussianMixture, Guided
from .random import key_from_rng

__all__ = ["Flow", "SOLVERS"]

SOLVERS = ("euler", "midpoint", "heun", "rk4")  # flow.hpp's Solver enum
_LOG_2PI = float(np.log(2 * np.pi))


def _times(times, name="times") -> np.ndarray:
    arr = np.asarray(times, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must be finite times in [0, 1], got {times!r}")
    return arr


class Flow(Distribution):
    """``p_model`` as the end of an ODE ``dx/dt = u_t(x)`` from ``x0 ~ N(0, I)`` at t = 0.

    Parameters
    ----------
    field : a field of :mod:`gensample.fields`: :class:`~gensample.fields.GaussianMixture`
        and :class:`~gensample.fields.Empirical` (integrated in C++), or
        :class:`~gensample.fields.Callable` and :class:`~gensample.fields.Guided` (the same
        solvers in NumPy, one call of each field per stage for all particles)
    solver : {"euler", "midpoint", "heun", "rk4"}, default "rk4" ("euler" with ``sde``)
    steps : int, default 32
        Uniform steps on [0, 1] (each costs 1, 2, 2 or 4 field evaluations).
    sde : None, a number or a callable ``sigma(t)``
        Sample the SDE with the same marginals instead of the ODE:
        ``dX = [u_t + (sigma_t^2 / 2) grad log p_t] dt + sigma_t dW`` by Euler-Maruyama,
        the score from the velocity, ``grad log p_t(x) = (t u_t(x) - x) / (1 - t)``. The noise of
        particle ``i`` at step ``s`` is row ``i`` of its own Philox stream, so every path is
        reproducible whatever the batch. ``logpdf`` still integrates the ODE (same marginals).

    ``sample(n, rng)`` draws row ``i`` of ``x0`` from row ``i`` of ``gs.random.normal`` on
    ``rng``'s stream and integrates it; ``logpdf(x)`` integrates back to t = 0 with the exact
    divergence (the instantaneous change of variables).

    >>> import numpy as np, gensample as gs
    >>> g = gs.GMM.from_parameters([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], np.stack([0.2 * np.eye(2)] * 2))
    >>> flow = gs.Flow(gs.fields.GaussianMixture(g), solver="rk4", steps=64)
    >>> x = flow.sample(20_000, rng=0)
    >>> round(float(np.mean(x[:, 0] > 0)), 2)                     # the weight of the right component
    0.7
    >>> bool(abs(flow.logpdf([[2.0, 1.0]])[0] - g.logpdf([[2.0, 1.0]])[0]) < 1e-4)
    True
    """

    def __init__(self, field, solver=None, steps=32, sde=None):
        if not isinstance(field, (GaussianMixture, Callable, Guided)):
            raise TypeError(f"field must be a gensample.fields field, got {type(field).__name__}")
        if solver is None:
            solver = "rk4" if sde is None else "euler"
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        if sde is not None:
            if solver != "euler":
                raise ValueError(f"the SDE is sampled with Euler-Maruyama: solver must be 'euler', got {solver!r}")
            if not callable(sde):
                if isinstance(sde, (bool, np.bool_)) or not np.isscalar(sde) or not np.isfinite(sde) or sde < 0:
                    raise ValueError(f"sde must be a non-negative number or a callable sigma(t), got {sde!r}")
                sde = float(sde)
        self.field = field
        self.solver = solver
        self.steps = check_positive_int(steps, "steps")
        self.sde = sde

    def _sigma(self, grid) -> np.ndarray:
        """sigma at the start of each step, checked."""
        t = grid[:-1]
        sigma = np.full(len(t), self.sde) if not callable(self.sde) else np.array([self.sde(float(v)) for v in t],
                                                                                    dtype=np.float64)
        if sigma.shape != t.shape or not np.isfinite(sigma).all() or (sigma < 0).any():
            raise ValueError("sde(t) must return a finite non-negative number at every step")
        return np.ascontiguousarray(sigma, dtype=np.float64)

    @property
    def dim(self) -> int:
        return self.field.dim

    def _grid(self, t0: float, t1: float, times=None) -> tuple[np.ndarray, np.ndarray]:
        """The time grid from t0 to t1 (uniform, `steps` steps, plus any requested times) and
        the grid index of each requested time."""
        grid = np.linspace(t0, t1, self.steps + 1)
        if times is None:
            return grid, np.array([self.steps], dtype=np.int64)
        lo, hi = min(t0, t1), max(t0, t1)
        if (times < lo).any() or (times > hi).any():
            raise ValueError(f"times must lie between t0={t0} and t1={t1}")
        grid = np.unique(np.concatenate([grid, times]))
        if t1 < t0:
            grid = grid[::-1]
        return grid, np.array([int(np.flatnonzero(grid == t)[0]) for t in times], dtype=np.int64)

    def integrate(self, x0, t0=0.0, t1=1.0, times=None, rng=None, n_threads=None) -> np.ndarray:
        """Carry the rows of ``x0`` from ``t0`` to ``t1`` -> (n, d), or, with ``times``, the
        states at those times -> (len(times), n, d), in ``x0``'s float type.

        ``times`` join the uniform grid as extra step boundaries; only the requested states
        are stored, never the whole path. With ``sde``, ``rng`` seeds the noise (row i of x0
        gets row i of each step's noise stream) and the time runs forward.
        """
        t0, t1 = (float(v) for v in _times([t0, t1], "t0 and t1"))
        x = np.array(as_points(x0, self.dim), copy=True)
        threads = check_n_threads(n_threads)
        noise = None
        if self.sde is not None:
            if not t0 < t1:
                raise ValueError(f"the SDE runs forward: t0 must be below t1, got t0={t0}, t1={t1}")
            noise = (int(_core.subkey(key_from_rng(rng), 1)), 0)
        if times is not None:
            times = _times(times)
            order = np.argsort(times, kind="stable")
            if t1 < t0:
                order = order[::-1]
            grid, at = self._grid(t0, t1, times[order])
            snaps = np.empty((len(times), len(x), self.dim), dtype=x.dtype)
            sorted_at = np.ascontiguousarray(at)
            self._run(grid, x, None, sorted_at, snaps, threads, noise)
            out = np.empty_like(snaps)
            out[order] = snaps
            return out
        grid, _ = self._grid(t0, t1)
        self._run(grid, x, None, None, None, threads, noise)
        return x

    def _run(self, grid, x, log_det, snap_steps, snaps, threads, noise=None, solver=None) -> None:
        """Integrate x in place over grid; log_det += the divergence integral; snapshots.
        noise: (noise key, row of x[0]) for Euler-Maruyama steps of the SDE."""
        solver = solver or self.solver
        sigma, key, row0 = (None, 0, 0) if noise is None else (self._sigma(grid), *noise)
        if isinstance(self.field, GaussianMixture):
            _core.flow_integrate(self.field._engine(), SOLVERS.index(solver), grid, x, log_det, snap_steps, snaps,
                                 sigma, key, row0, threads)
        else:
            _integrate_callable(self.field, solver, grid, x, log_det, snap_steps, snaps, sigma, key, row0)

    def sample(self, n, rng=None, dtype=np.float64, n_threads=None) -> np.ndarray:
        """``n`` particles carried from ``N(0, I)`` at t = 0 to t = 1 -> (n, d)."""
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        """Rows ``r0 .. r0 + len(out)`` of the sample of stream ``key``, into ``out``."""
        _core.fill_normal(key, out, n_threads, r0)
        noise = None if self.sde is None else (int(_core.subkey(key, 1)), r0)
        self._run(self._grid(0.0, 1.0)[0], out, None, None, None, n_threads, noise)

    def logpdf(self, x, n_threads=None) -> np.ndarray:
        """``log p_1(x)`` by integrating back to t = 0 with the divergence -> (n,) float64.

        ``log p_1(x) = log N(x_0; 0, I) - int_0^1 div u_t(x_t) dt`` along the path through x;
        the error is the solver's (about 1e-6 with rk4 and 64 steps on a smooth mixture).
        """
        x = np.array(as_points(x, self.dim, dtype=np.float64), copy=True)
        log_det = np.zeros(len(x))
        solver = self.solver if self.sde is None else "rk4"  # an SDE flow: its probability-flow ODE
        self._run(self._grid(1.0, 0.0)[0], x, log_det, None, None, check_n_threads(n_threads), None, solver)
        return -0.5 * np.einsum("ij,ij->i", x, x) - 0.5 * self.dim * _LOG_2PI + log_det

    def __repr__(self) -> str:
        sde = "" if self.sde is None else f", sde={self.sde!r}"
        return f"Flow({self.field!r}, solver={self.solver!r}, steps={self.steps}{sde})"


def _integrate_callable(field, solver: str, grid, x, log_det, snap_steps, snaps, sigma=None, key=0,
                        row0=0) -> None:
    """The fixed-step solvers of flow.cpp, in NumPy, calling the field once per stage (and
    its Euler-Maruyama steps when sigma is given, with the same noise rows)."""
    want = [] if snap_steps is None else list(snap_steps)
    j = 0
    while j < len(want) and want[j] == 0:
        snaps[j] = x
        j += 1
    for s in range(len(grid) - 1):
        t, h = float(grid[s]), float(grid[s + 1] - grid[s])

        def u(tt, xx, stage):
            where = f"step {s}, stage {stage} (t = {tt:.6g})"
            v = field._call(tt, xx, where)
            return v, (field._div(tt, xx, where) if log_det is not None else 0.0)

        if sigma is not None:
            k1, _ = u(t, x, 1)
            z = np.empty(x.shape, dtype=np.float64)
            _core.fill_normal(int(_core.subkey(key, s)), z, 0, row0)
            drift = 0.5 * sigma[s] ** 2 / (1 - t)
            step, div = h * (k1 + drift * (t * k1 - x)) + sigma[s] * np.sqrt(h) * z, 0.0
        elif solver == "euler":
            k1, d1 = u(t, x, 1)
            step, div = h * k1, d1
        elif solver == "midpoint":
            k1, _ = u(t, x, 1)
            k2, d2 = u(t + 0.5 * h, x + (0.5 * h) * k1, 2)
            step, div = h * k2, d2
        elif solver == "heun":
            k1, d1 = u(t, x, 1)
            k2, d2 = u(t + h, x + h * k1, 2)
            step, div = (0.5 * h) * (k1 + k2), 0.5 * (d1 + d2)
        else:
            k1, d1 = u(t, x, 1)
            k2, d2 = u(t + 0.5 * h, x + (0.5 * h) * k1, 2)
            k3, d3 = u(t + 0.5 * h, x + (0.5 * h) * k2, 3)
            k4, d4 = u(t + h, x + h * k3, 4)
            step, div = (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4), (d1 + 2 * d2 + 2 * d3 + d4) / 6
        x += step.astype(x.dtype, copy=False)
        if log_det is not None:
            log_det += h * div
        while j < len(want) and want[j] == s + 1:
            snaps[j] = x
            j += 1
