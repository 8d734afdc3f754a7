"""Flows: carry particles from ``N(0, I)`` at t = 0 to ``p_model`` at t = 1 along a
velocity field, with fixed-step solvers and dopri5 in C++ (``cpp/src/flow.cpp``).

Fixed steps work time-outer: each step's field data (whitening factors of the mixture at
the stage times) are computed once for all particles, then every block of particles takes
the whole step in SIMD lanes. dopri5 gives each particle its own step size. Each
particle's path depends only on its own start, so results do not depend on the batch or
the thread count.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _core
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    _short,
    as_array,
    as_points,
    check_bool,
    check_choice,
    check_n_threads,
    check_positive_int,
    check_real,
)
from .distribution import Distribution
from .fields import LINEAR, _Field, path_of
from .random import key_from_rng

__all__ = ["Flow", "FlowStats", "SOLVERS"]

SOLVERS = (*_core.flow.Solver.__members__, "dopri5")  # the fixed steps: flow.hpp's Solver, from C++
_STAGES = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}
_ORDER = _STAGES  # explicit Runge-Kutta up to order 4: the order is the number of stages
_STATUS = tuple(_core.flow.Status.__members__)  # flow.hpp's Status, in code order
_LOG_2PI = float(np.log(2 * np.pi))


class FlowStats(NamedTuple):
    """What the last integration did: field ``evaluations`` (per particle, summed),
    ``accepted`` and ``rejected`` steps (summed), and for dopri5 ``status`` per particle
    (0 finished, 1 max_steps, 2 step size underflow, 3 not finite; None for fixed steps)."""

    evaluations: int
    accepted: int
    rejected: int
    status: np.ndarray | None = None

    @property
    def finished(self) -> int:
        """Particles that reached the end."""
        return int(np.sum(self.status == 0)) if self.status is not None else -1

    def __repr__(self) -> str:
        text = f"FlowStats(evaluations={self.evaluations}, accepted={self.accepted}, rejected={self.rejected}"
        if self.status is None:
            return text + ")"
        counts = np.bincount(self.status, minlength=len(_STATUS))
        summary = ", ".join(f"{int(c)} {name}" for c, name in zip(counts, _STATUS) if c)
        return f"{text}, status: {summary or 'no particles'})"


def _times(times, name="times") -> np.ndarray:
    arr = as_array(times, name, np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must be finite times in [0, 1], got {_short(times)}")
    return arr


def _check_finite(flow, states: np.ndarray, name: str) -> None:
    """No silent NaN: particles that left the float range are an error (except where dopri5
    was asked to return its failures: they are NaN by design and flagged in stats_)."""
    if flow.solver == "dopri5" and flow.on_failure == "return":
        return
    bad = ~np.isfinite(states).all(axis=-1)  # per particle (and per requested time)
    if bad.ndim > 1:
        bad = bad.any(axis=0)
    if bad.any():
        raise ValueError(
            f"{name}: {int(bad.sum())} particles left the float range during the integration (the first: "
            f"row {int(np.flatnonzero(bad)[0])}); the field or the inputs are too large for this solver"
        )


class Flow(Distribution):
    """``p_model`` as the end of an ODE ``dx/dt = u_t(x)`` from ``x0 ~ N(0, I)`` at t = 0.

    Parameters
    ----------
    field : a field of :mod:`gensample.fields`: :class:`~gensample.fields.GaussianMixture`,
        :class:`~gensample.fields.Empirical` and :class:`~gensample.fields.MLP` (integrated
        in C++), or :class:`~gensample.fields.Callable` and :class:`~gensample.fields.Guided`
        (the fixed-step solvers in NumPy, one call of each field per stage for all particles)
    solver : {"euler", "midpoint", "heun", "rk4", "dopri5"}, default "rk4" ("euler" with ``sde``)
    steps : int, default 32
        Uniform steps on [0, 1] for the fixed-step solvers (each costs 1, 2, 2 or 4 field
        evaluations).
    rtol, atol : float, default 1e-5
        dopri5's tolerances, per particle: each particle takes its own steps, controlled
        by the RMS over its coordinates of ``err / (atol + rtol max(|x|, |x_new|))`` (scipy's
        RK45 rule, one trajectory at a time), never the whole batch's norm. In ``logpdf``
        the log-density's own error ratio counts too (the larger of the two): a step must
        get the divergence integral right, not only x.
    max_steps : int, default 10_000
        dopri5's step attempts per particle before it gives up.
    on_failure : {"raise", "return"}
        What dopri5 does when particles hit ``max_steps`` or the step size underflows:
        raise, saying how many finished, or return the states reached (``stats_.status``
        flags them; their requested ``times`` after the failure are NaN).
    path : "linear", "cosine", "vp" or ("vp", beta_min, beta_max)
        The probability path ``x_t = alpha_t x1 + sigma_t x0``: it gives the closed-form
        fields' velocity and the SDE's score. Linear (CondOT): ``alpha = t``, ``sigma = 1 - t``;
        cosine: ``alpha = sin(pi t / 2)``, ``sigma = cos(pi t / 2)``; variance preserving:
        ``alpha = exp(-T(1 - t) / 2)``, ``sigma^2 = 1 - alpha^2``,
        ``T(s) = beta_min s + (beta_max - beta_min) s^2 / 2`` (default 0.1, 20), whose
        ``p_0`` is ``N(0, I)`` only up to ``alpha_0 = 0.0066``.
    sde : None, a number or a callable ``s(t)``
        Sample the SDE with the same marginals instead of the ODE:
        ``dX = [u_t + (s_t^2 / 2) grad log p_t] dt + s_t dW`` by Euler-Maruyama, the score from
        the velocity, ``grad log p_t(x) = (alpha u - alpha' x) / (alpha' sigma^2 - alpha sigma sigma')``
        (linear path: ``(t u - x) / (1 - t)``). The noise of particle ``i`` at step ``s`` is row
        ``i`` of its own Philox stream, so every path is reproducible whatever the batch.
        ``logpdf`` still integrates the ODE (same marginals).

    ``sample(n, rng)`` draws row ``i`` of ``x0`` from row ``i`` of ``gs.random.normal`` on
    ``rng``'s stream and integrates it; ``logpdf(x)`` integrates back to t = 0 with the exact
    divergence (the instantaneous change of variables). ``stats_`` holds the last call's
    :class:`FlowStats`.

    >>> import numpy as np, gensample as gs
    >>> g = gs.GMM.from_parameters([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], np.stack([0.2 * np.eye(2)] * 2))
    >>> flow = gs.Flow(gs.fields.GaussianMixture(g), solver="rk4", steps=64)
    >>> x = flow.sample(20_000, rng=0)
    >>> round(float(np.mean(x[:, 0] > 0)), 2)                     # the weight of the right component
    0.7
    >>> bool(abs(flow.logpdf([[2.0, 1.0]])[0] - g.logpdf([[2.0, 1.0]])[0]) < 1e-4)
    True
    >>> x = gs.Flow(gs.fields.GaussianMixture(g), solver="dopri5", rtol=1e-6, atol=1e-6).sample(1000, rng=0)
    """

    def __init__(
        self,
        field,
        solver=None,
        steps=32,
        rtol=1e-5,
        atol=1e-5,
        max_steps=10_000,
        on_failure="raise",
        path="linear",
        sde=None,
    ):
        if not isinstance(field, _Field):
            raise TypeError(f"field must be a gensample.fields field, got {type(field).__name__}")
        if solver is None:
            solver = "rk4" if sde is None else "euler"
        check_choice(solver, SOLVERS, "solver")
        if solver == "dopri5" and field._engine(True) is None:
            raise ValueError(
                f"dopri5 gives every particle its own time, which a {type(field).__name__} field's "
                f"fn(t, x) cannot take: use a fixed-step solver"
            )
        if sde is not None:
            if solver != "euler":
                raise ValueError(f"the SDE is sampled with Euler-Maruyama: solver must be 'euler', got {solver!r}")
            if not callable(sde):
                sde = check_real(sde, "sde (a number or a callable sigma(t))", 0.0)
        check_choice(on_failure, ("raise", "return"), "on_failure")
        self.field = field
        self.solver = solver
        self.steps = check_positive_int(steps, "steps")
        self.rtol = check_real(rtol, "rtol", 0.0, open_low=True)
        self.atol = check_real(atol, "atol", 0.0, open_low=True)
        self.max_steps = check_positive_int(max_steps, "max_steps")
        self.on_failure = on_failure
        self.path = path
        self._path = path_of(path)
        self.sde = sde
        self.stats_ = None

    def _sigma(self, grid) -> np.ndarray:
        """sigma at the start of each step, checked."""
        t = grid[:-1]
        sigma = (
            np.full(len(t), self.sde)
            if not callable(self.sde)
            else np.array([self.sde(float(v)) for v in t], dtype=np.float64)
        )
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
        grid = np.unique(np.concatenate([grid, times]))
        if t1 < t0:
            grid = grid[::-1]
        return grid, np.array([int(np.flatnonzero(grid == t)[0]) for t in times], dtype=np.int64)

    def integrate(
        self, x0, t0=0.0, t1=1.0, times=None, rng: RngLike = None, n_threads: int | None = None
    ) -> np.ndarray:
        """Carry the rows of ``x0`` from ``t0`` to ``t1`` -> (n, d), or, with ``times``, the
        states at those times -> (len(times), n, d), in ``x0``'s float type.

        ``times`` join the uniform grid as extra step boundaries (dopri5: stops its steps
        land on); only the requested states are stored, never the whole path. With
        ``sde``, ``rng`` seeds the noise (row i of x0 gets row i of each step's noise
        stream) and the time runs forward. ``stats_`` tells the work done.
        """
        t0, t1 = check_real(t0, "t0", 0.0, 1.0), check_real(t1, "t1", 0.0, 1.0)
        x = np.array(as_points(x0, self.dim, name="x0", squares=True), copy=True)
        threads = check_n_threads(n_threads)
        noise = None
        if self.sde is not None:
            if not t0 < t1:
                raise ValueError(f"the SDE runs forward: t0 must be below t1, got t0={t0}, t1={t1}")
            if not (np.diff(np.linspace(t0, t1, self.steps + 1)) > 0).all():
                raise ValueError(f"t0={t0} and t1={t1} are too close for {self.steps} steps of positive length")
            noise = (int(_core.random.subkey(key_from_rng(rng), 1)), 0)
        if times is None:
            self._run(t0, t1, x, None, None, threads, noise)
            _check_finite(self, x, "x0")
            return x
        times = _times(times)
        lo, hi = min(t0, t1), max(t0, t1)
        if (times < lo).any() or (times > hi).any():
            raise ValueError(f"times must lie between t0={t0} and t1={t1}")
        snaps = self._run(t0, t1, x, None, times, threads, noise)
        _check_finite(self, snaps, "x0")
        return snaps

    def _run(self, t0, t1, x, log_det, times, threads, noise=None, solver=None):
        """Integrate x in place from t0 to t1; log_det += the divergence integral; returns
        the states at `times` (len(times), n, d) when given. noise: (noise key, row of
        x[0]) for Euler-Maruyama steps of the SDE."""
        solver = solver or self.solver
        if solver == "dopri5":
            return self._run_adaptive(t0, t1, x, log_det, times, threads)
        order = None
        if times is not None:
            order = np.argsort(times, kind="stable")
            if t1 < t0:
                order = order[::-1]
            grid, snap_steps = self._grid(t0, t1, times[order])
            snaps = np.empty((len(times), len(x), self.dim), dtype=x.dtype)
        else:
            grid, snap_steps, snaps = self._grid(t0, t1)[0], None, None
        sigma, key, row0 = (None, 0, 0) if noise is None else (self._sigma(grid), *noise)
        engine = self.field._engine(False, x.dtype)
        if engine is not None:
            _core.flow.integrate(
                engine,
                self._path,
                _core.flow.Solver[solver],
                grid,
                x,
                log_det,
                snap_steps,
                snaps,
                sigma,
                key,
                row0,
                threads,
            )
        else:
            _integrate_callable(self.field, solver, grid, x, log_det, snap_steps, snaps, sigma, key, row0, self._path)
        steps = len(grid) - 1
        self.stats_ = FlowStats(len(x) * steps * _STAGES[solver], len(x) * steps, 0)
        if times is None:
            return None
        out = np.empty_like(snaps)
        out[order] = snaps
        return out

    def _run_adaptive(self, t0, t1, x, log_det, times, threads):
        """dopri5 from t0 through the requested times (sorted, unique) to t1."""
        ask = np.array([t1]) if times is None else times
        stops = np.unique(np.concatenate([ask, [t1]]))
        stops = stops[stops != t0][:: -1 if t1 < t0 else 1]
        stops = np.concatenate([[t0], stops if len(stops) else [t1]])
        snaps = None if times is None else np.full((len(stops) - 1, len(x), self.dim), np.nan, dtype=x.dtype)
        start = x.copy() if times is not None and (ask == t0).any() else None
        status, (evaluations, accepted, rejected) = _core.flow.integrate_adaptive(
            self.field._engine(True, x.dtype),
            self._path,
            np.ascontiguousarray(stops),
            x,
            log_det,
            snaps,
            self.rtol,
            self.atol,
            self.max_steps,
            threads,
        )
        self.stats_ = FlowStats(int(evaluations), int(accepted), int(rejected), status)
        failed = status != 0
        if failed.any() and self.on_failure == "raise":
            counts = ", ".join(
                f"{int(np.sum(status == c))} {_STATUS[c].replace('_', ' ')}" for c in (1, 2, 3) if np.any(status == c)
            )
            raise RuntimeError(
                f"dopri5: {int(np.sum(~failed))} of {len(x)} particles finished ({counts}; the first "
                f"failure: row {int(np.flatnonzero(failed)[0])}). Raise max_steps (now "
                f"{self.max_steps}), loosen rtol/atol, or pass on_failure='return' for the states reached"
            )
        if times is None:
            return None
        row = {float(t): i for i, t in enumerate(stops[1:])}
        return np.stack([start if t == t0 else snaps[row[float(t)]] for t in ask])

    def sample(
        self,
        n: Count,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
        n_threads: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """``n`` particles carried from ``N(0, I)`` at t = 0 to t = 1 -> (n, d).

        ``progress=True`` shows progress on stderr (:func:`gensample.generate`'s rules); the
        particles then go in 100 batches, which changes no value.
        """
        return self._sample_by_rows(n, rng, dtype, n_threads, progress=progress)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        """Rows ``r0 .. r0 + len(out)`` of the sample of stream ``key``, into ``out``."""
        _core.random.fill_normal(key, out, n_threads, r0)
        noise = None if self.sde is None else (int(_core.random.subkey(key, 1)), r0)
        self._run(0.0, 1.0, out, None, None, n_threads, noise)
        _check_finite(self, out, "the sample")

    def logpdf(self, x: ArrayLike, n_threads: int | None = None, return_error=False):
        """``log p_1(x)`` by integrating back to t = 0 with the divergence -> (n,) float64.

        ``log p_1(x) = log N(x_0; 0, I) - int_0^1 div u_t(x_t) dt`` along the path through x.
        The error is the solver's: about 1e-6 with rk4 and 64 steps on a smooth mixture, but
        far more where the field is stiff (a mixture with variances of 1e-6, as a GMM fitted
        with scikit-learn's default ``reg_covar`` to data with constant pixels has): there
        fixed steps can be tens of nats off. dopri5 keeps each step's error of the state and
        of the log-density within ``rtol``/``atol``; the error that reaches the answer can
        still be 10-1000 times that in such fields, so ask for the estimate when it matters.

        With ``return_error=True`` returns ``(logp, error)``, ``error`` (n,) an estimate of
        ``|logp - log p_1(x)|`` per point from a second, more accurate integration; ``logp``
        is the same as without it. For dopri5 the second runs at tolerances 32 times
        tighter (it costs 2-3x). For fixed steps it is dopri5 at ``rtol = atol = 1e-9``
        where the field allows (a few times the cost); for a Python callable field, twice
        the steps with Richardson's estimate for the solver's order, which holds only once
        the steps are fine enough to be in their asymptotic regime. Particles that dopri5
        could not finish get ``inf``. On mixtures with variances from 1e-6 to 1e2 in up to
        64 dimensions the true error stayed within 4 times the estimate.

        >>> import numpy as np, gensample as gs
        >>> g = gs.GMM.from_parameters([1.0], [[0.0, 0.0]], [np.diag([1.0, 1e-4])])
        >>> lp, err = gs.Flow(gs.fields.GaussianMixture(g), steps=16).logpdf([[0.5, 0.0]], return_error=True)
        >>> bool(abs(lp[0] - g.logpdf([[0.5, 0.0]])[0]) < 2 * err[0])
        True
        """
        x = np.array(as_points(x, self.dim, dtype=np.float64, squares=True), copy=True)
        return_error = check_bool(return_error, "return_error")
        threads = check_n_threads(n_threads)
        solver = self.solver if self.sde is None else "rk4"  # an SDE flow: its probability-flow ODE
        logp = self._logpdf(x, threads, solver)
        if not return_error:
            return logp
        stats = self.stats_
        if solver == "dopri5":
            finer = Flow(
                self.field,
                "dopri5",
                rtol=self.rtol / 32,
                atol=self.atol / 32,
                max_steps=32 * self.max_steps,
                on_failure="return",
                path=self.path,
            )
            gain = 32 / 31  # the error of the first, if the second's is 32 times smaller
        elif self.field._engine(True) is not None:
            # Step doubling fails where fixed steps are too coarse for a stiff field (its
            # estimate was 3000 times too small there): compare with an adaptive solve.
            finer = Flow(
                self.field, "dopri5", rtol=1e-9, atol=1e-9, max_steps=10**6, on_failure="return", path=self.path
            )
            gain = 1.0
        else:
            finer = Flow(self.field, solver, steps=2 * self.steps, path=self.path)
            order = _ORDER[solver]
            gain = 2**order / (2**order - 1)  # Richardson: the coarse error from the difference
        error = np.abs(logp - finer._logpdf(x, threads, finer.solver)) * gain
        for run in (stats, finer.stats_):
            if run.status is not None:
                error[run.status != 0] = np.inf  # a particle that did not finish has no estimate
        self.stats_ = stats  # the answer's integration, not the estimate's
        return logp, error

    def _logpdf(self, x, threads, solver) -> np.ndarray:
        x = x.copy()
        log_det = np.zeros(len(x))
        self._run(1.0, 0.0, x, log_det, None, threads, None, solver)
        _check_finite(self, x, "x")
        _check_finite(self, log_det[:, None], "x")
        return -0.5 * np.einsum("ij,ij->i", x, x) - 0.5 * self.dim * _LOG_2PI + log_det

    def _save_state(self):
        if callable(self.sde):
            raise TypeError("cannot save a Flow whose sde is a callable (arbitrary Python code): pickle it instead")
        params = {
            "solver": self.solver,
            "steps": self.steps,
            "rtol": self.rtol,
            "atol": self.atol,
            "max_steps": self.max_steps,
            "on_failure": self.on_failure,
            "path": self.path if isinstance(self.path, str) else list(self.path),
            "sde": self.sde,
        }
        return params, {}, {"field": self.field}

    @classmethod
    def _load_state(cls, params, arrays, children):
        path = params["path"]
        return cls(
            children["field"],
            params["solver"],
            params["steps"],
            params["rtol"],
            params["atol"],
            params["max_steps"],
            params["on_failure"],
            path if isinstance(path, str) else tuple(path),
            params["sde"],
        )

    def __repr__(self) -> str:
        extra = "" if self.sde is None else f", sde={self.sde!r}"
        extra += "" if self.path == "linear" else f", path={self.path!r}"
        tol = f"rtol={self.rtol}, atol={self.atol}" if self.solver == "dopri5" else f"steps={self.steps}"
        return f"Flow({self.field!r}, solver={self.solver!r}, {tol}{extra})"


def _integrate_callable(
    field, solver: str, grid, x, log_det, snap_steps, snaps, sigma=None, key=0, row0=0, path=LINEAR
) -> None:
    """The fixed-step solvers of flow.cpp, in NumPy, calling the field once per stage (and
    its Euler-Maruyama steps when sigma is given, with the same noise rows)."""
    want = [] if snap_steps is None else list(snap_steps)
    j = 0
    while j < len(want) and want[j] == 0:
        snaps[j] = x
        j += 1
    with_div = log_det is not None
    for s in range(len(grid) - 1):
        t, h = float(grid[s]), float(grid[s + 1] - grid[s])

        def u(tt, xx, stage, s=s):  # the field at this step's stages
            where = f"step {s}, stage {stage} (t = {tt:.6g})"
            v = field._call(tt, xx, where, None, path)
            return v, (field._div(tt, xx, where, None, path) if with_div else 0.0)

        if sigma is not None:
            k1, _ = u(t, x, 1)
            z = np.empty(x.shape, dtype=np.float64)
            _core.random.fill_normal(int(_core.random.subkey(key, s)), z, 0, row0)
            a, da, s2, sds = _core.flow.path_coefficients(path, t)  # the score from the velocity (flow.hpp)
            half = 0.5 * sigma[s] ** 2
            score_u, score_x = half * a / (da * s2 - a * sds), half * da / (da * s2 - a * sds)
            step, div = h * (k1 + (score_u * k1 - score_x * x)) + sigma[s] * np.sqrt(h) * z, 0.0
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
