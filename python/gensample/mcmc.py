"""Markov chains driven by a score: unadjusted Langevin (ULA), Metropolis-adjusted Langevin
(MALA) and Hamiltonian Monte Carlo (HMC), for densities known up to a constant.

``sample(target, n_chains, n_steps)`` runs many independent chains at once. Chain ``i``'s
whole path is a pure function of ``(seed, i)``: the same for any number of chains, thread
count or chunking. A Gaussian mixture runs every step in C++; any other target (a model
with ``logpdf`` and ``grad_logpdf``, or a callable returning both) is evaluated by Python
once per step for all chains, and the step's arithmetic still runs in C++.

Warm-up adapts each chain's step size toward a target acceptance rate by dual averaging
(Hoffman and Gelman 2014), and for HMC a diagonal mass matrix in Stan's doubling windows.
Both are per chain, so chains stay independent. :func:`diagnostics` gives split-R-hat
and bulk and tail effective sample sizes (Vehtari et al. 2021) with ArviZ's numbers.

>>> import gensample as gs, numpy as np
>>> X = np.random.default_rng(0).normal(size=(1000, 1)) + [[-2], [2]] * 500
>>> gmm = gs.GMM(2, rng=0).fit(X)
>>> run = gs.mcmc.sample(gmm, n_chains=8, n_steps=500, method="mala", rng=0)
>>> run.draws.shape
(8, 500, 1)
>>> bool(gs.mcmc.diagnostics(run.draws)["rhat"][0] < 1.1)
True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from . import _core
from ._progress import Progress
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    check_allocation,
    check_choice,
    check_count,
    check_float_dtype,
    check_n_threads,
    check_positive_int,
    check_real,
    real_array,
)
from .random import key_from_rng

__all__ = ["sample", "Run", "diagnostics", "METHODS"]

METHODS = ("ula", "mala", "hmc")
# Optimal acceptance rates: MALA 0.574 (Roberts and Rosenthal 1998), HMC 0.651 (Beskos et
# al. 2013).
TARGET_ACCEPT = {"mala": 0.574, "hmc": 0.651}
_MAX_STEPS = 2**32 - 1  # a step's counter word is 32 bits (mcmc.hpp)
_ADAPT_STEP, _COLLECT_MASS, _UPDATE_MASS, _FINAL_STEP = 1, 2, 4, 8


@dataclasses.dataclass(frozen=True)
class Run:
    """The outcome of :func:`sample`.

    ``draws``: ``(n_chains, n_kept, dim)`` (``keep="all"``) or the last states
    ``(n_chains, dim)`` (``keep="last"``); ``logp``: their log-densities, ``(n_chains,
    n_kept)`` or ``(n_chains,)``; ``acceptance``: each chain's mean acceptance probability
    over the kept phase; ``step_size`` and ``inv_mass``: what warm-up settled on;
    ``divergences``: per chain, the sampling steps whose energy error exceeded 1000 or was
    not finite (ULA: steps that left the density's support).
    """

    draws: np.ndarray
    logp: np.ndarray
    acceptance: np.ndarray
    step_size: np.ndarray
    inv_mass: np.ndarray
    divergences: np.ndarray
    method: str

    def diagnostics(self) -> dict[str, np.ndarray]:
        """:func:`diagnostics` of ``draws`` (needs ``keep="all"``)."""
        if self.draws.ndim != 3:
            raise ValueError('diagnostics need the chains\' paths: sample with keep="all"')
        return diagnostics(self.draws)

    def to_inference_data(self):
        """The draws as an ArviZ ``InferenceData`` (posterior ``x`` of shape (chain, draw,
        dim), with ``lp``, ``acceptance_rate`` and ``step_size`` in sample_stats)."""
        from ._validation import require

        az = require("arviz", "Run.to_inference_data", "arviz")
        if self.draws.ndim != 3:
            raise ValueError('to_inference_data needs the chains\' paths: sample with keep="all"')
        n_chains, n_kept, _ = self.draws.shape
        return az.from_dict(
            posterior={"x": self.draws},
            sample_stats={
                "lp": self.logp,
                "step_size": np.broadcast_to(self.step_size[:, None], (n_chains, n_kept)),
            },
        )


# ---- targets ---------------------------------------------------------------------------


def _evaluator(target, n_threads: int) -> Callable:
    """x (n, dim) -> (logp (n,), grad (n, dim)) for a Python-evaluated target."""
    if hasattr(target, "logpdf") and hasattr(target, "grad_logpdf"):

        def model(x):
            return target.logpdf(x, n_threads=n_threads or None), target.grad_logpdf(x, n_threads=n_threads or None)

        return model
    return target


def _dim_of(target, init) -> int:
    dim = getattr(target, "dim", None)
    if isinstance(dim, (int, np.integer)) and dim >= 1:
        return int(dim)
    if init is None:
        raise ValueError("init is needed to know the dimension of a callable target: an (n_chains, dim) array")
    return int(np.shape(init)[-1]) if np.ndim(init) == 2 else -1


def _check_target(target) -> str:
    """'gmm' (driven in C++), 'model' or 'callable'."""
    from .gmm import GMM

    if isinstance(target, GMM):
        if not hasattr(target, "weights_"):
            raise ValueError("target: the GMM is not fitted; call fit first")
        return "gmm"
    if hasattr(target, "logpdf"):
        if not hasattr(target, "grad_logpdf"):
            raise TypeError(
                f"target: {type(target).__name__} has logpdf but no grad_logpdf; Langevin and HMC need the score. "
                "Pass a callable x -> (log p, grad log p) instead"
            )
        return "model"
    if callable(target):
        return "callable"
    raise TypeError(
        "target must be a gensample model with logpdf and grad_logpdf, or a callable x -> (log p, grad log p); "
        f"got {type(target).__name__}"
    )


def _checked_values(values, n: int, dim: int, dtype: np.dtype, step: int | None):
    """A Python target's (logp, grad), checked: shapes, no NaN, finite gradients where the
    log-density is finite (log p = -inf is outside the support, and rejected)."""
    where = "at the initial states" if step is None else f"at step {step}"
    if not isinstance(values, tuple) or len(values) != 2:
        raise TypeError(f"target must return a tuple (log p, grad log p); got {type(values).__name__} {where}")
    logp = np.asarray(values[0])
    grad = np.asarray(values[1])
    if logp.shape != (n,):
        raise ValueError(f"target returned log p of shape {logp.shape} {where}; expected ({n},)")
    if grad.shape != (n, dim):
        raise ValueError(f"target returned grad log p of shape {grad.shape} {where}; expected ({n}, {dim})")
    bad = np.isnan(logp) | (logp == np.inf)
    if bad.any():
        chain = int(np.flatnonzero(bad)[0])
        raise ValueError(f"target returned log p = {logp[chain]} for chain {chain} {where}")
    bad = np.isfinite(logp) & ~np.isfinite(grad).all(axis=1)
    if bad.any():
        chain = int(np.flatnonzero(bad)[0])
        raise ValueError(f"target returned a non-finite grad log p for chain {chain} {where}")
    return logp.astype(dtype, copy=False), grad.astype(dtype, copy=False)


# ---- the warm-up schedule ------------------------------------------------------------------


def warmup_schedule(warmup: int, adapt_step: bool, adapt_mass: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per warm-up step: the Adapt flags (mcmc.hpp) and dual averaging's iteration t.

    Stan's windows: a fast initial buffer (75 steps), slow windows doubling from 25 that
    estimate the mass matrix, a terminal buffer (50); below 150 steps 15 %, 75 % and 10 %.
    Each window's end sets the inverse mass and restarts dual averaging.
    """
    flags = np.zeros(warmup, np.uint8)
    da_iter = np.zeros(warmup, np.int32)
    if warmup == 0 or not adapt_step:
        return flags, da_iter
    flags |= _ADAPT_STEP
    flags[-1] |= _FINAL_STEP
    ends: list[int] = []
    if adapt_mass and warmup >= 20:
        if warmup < 150:
            init, term = int(0.15 * warmup), int(0.1 * warmup)
            base = warmup - init - term
        else:
            init, term, base = 75, 50, 25
        start, size, stop = init, base, warmup - term
        while start < stop:
            end = start + size
            if end + 2 * size > stop:
                end = stop
            flags[start:end] |= _COLLECT_MASS
            flags[end - 1] |= _UPDATE_MASS
            ends.append(end)
            start, size = end, 2 * size
    restart = 0
    for s in range(warmup):
        da_iter[s] = s - restart + 1
        if flags[s] & _UPDATE_MASS:
            restart = s + 1
    return flags, da_iter


# ---- sampling ------------------------------------------------------------------------------


def _state(init: np.ndarray, step_size: float, dtype: np.dtype) -> dict:
    n, dim = init.shape
    zeros = {name: np.zeros(shape, dt) for name, shape, dt in [
        ("grad", (n, dim), dtype), ("logp", (n,), dtype), ("x_new", (n, dim), dtype),
        ("grad_new", (n, dim), dtype), ("logp_new", (n,), dtype), ("momentum", (n, dim), dtype),
        ("uniform", (n,), np.float64), ("energy", (n,), np.float64), ("log_step_bar", (n,), np.float64),
        ("h_bar", (n,), np.float64), ("mass_mean", (n, dim), np.float64), ("mass_m2", (n, dim), np.float64),
        ("mass_count", (n,), np.int64), ("accept_sum", (n,), np.float64), ("divergent", (n,), np.int64),
    ]}  # fmt: skip
    return {
        "x": np.array(init, dtype=dtype, order="C"),
        "inv_mass": np.ones((n, dim), dtype),
        "step": np.full(n, step_size, dtype),
        "log_step": np.full(n, math.log(step_size)),
        "mu": np.full(n, math.log(10 * step_size)),
        **zeros,
    }


def sample(
    target,
    n_chains: Count,
    n_steps: Count,
    *,
    method: str = "mala",
    step_size: float | None = None,
    warmup: Count | None = None,
    target_accept: float | None = None,
    n_leapfrog: int = 10,
    adapt_mass: bool | None = None,
    thin: int = 1,
    keep: str = "all",
    init: ArrayLike | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
    n_threads: int | None = None,
    progress: bool | None = None,
) -> Run:
    """Run ``n_chains`` independent Markov chains of ``warmup + n_steps`` steps on ``target``.

    Parameters
    ----------
    target : a fitted :class:`~gensample.GMM` (every step in C++), a model with ``logpdf``
        and ``grad_logpdf`` (a KDE, PPCA, ...), or a callable ``x -> (log p, grad log p)``
        on an ``(n, dim)`` array, returning ``(n,)`` and ``(n, dim)``; ``log p`` may be
        ``-inf`` outside the support (such proposals are rejected).
    method : ``"mala"`` (default), ``"hmc"`` (``n_leapfrog`` leapfrog steps, a diagonal
        mass matrix) or ``"ula"`` (Langevin without correction: biased by O(step_size)).
    step_size : the initial step (MALA and HMC adapt it during warm-up); default 0.1.
        ULA keeps it, and needs it.
    warmup : steps before the kept ones; default ``n_steps`` for MALA and HMC (adapting),
        0 for ULA (whose warm-up is a plain burn-in).
    target_accept : dual averaging's target; default 0.574 (MALA) and 0.651 (HMC).
    adapt_mass : estimate HMC's diagonal mass matrix in warm-up (default True for HMC).
    thin : keep every ``thin``-th step.
    keep : ``"all"`` (the paths, ``(n_chains, n_steps // thin, dim)``) or ``"last"`` (the
        final states, ``(n_chains, dim)``: chains as a sampler of independent points).
    init : ``(n_chains, dim)`` starting points; default row ``i`` of a standard normal draw
        on a sub-stream of ``rng`` (so chain ``i``'s start depends on ``i`` alone).
    rng : the seed; chain ``i`` reads Philox counters ``(i, step, j)`` only.
    dtype : float64 or float32 (the chains' arithmetic; energies are summed in float64).
    progress : show progress (default: when the run has more than 10^8 chain steps).

    Returns
    -------
    Run

    >>> import gensample as gs
    >>> ring = gs.GMM.from_parameters(
    ...     weights=[0.5, 0.5], means=[[-3.0, 0.0], [3.0, 0.0]], covariances=[[[1.0, 0.0], [0.0, 1.0]]] * 2)
    >>> run = gs.mcmc.sample(ring, 100, 200, method="hmc", n_leapfrog=5, rng=1)
    >>> run.draws.shape, bool((run.acceptance > 0.4).all())
    ((100, 200, 2), True)
    """
    kind = _check_target(target)
    method = check_choice(method, METHODS, "method")
    n_chains = check_positive_int(n_chains, "n_chains")
    n_steps = check_count(n_steps, "n_steps")
    warmup = (0 if method == "ula" else n_steps) if warmup is None else check_count(warmup, "warmup")
    if warmup + n_steps > _MAX_STEPS:
        raise ValueError(f"warmup + n_steps must be below 2**32, got {warmup + n_steps}")
    if step_size is None:
        if method == "ula":
            raise ValueError("ula needs step_size: it does not adapt (its bias grows with the step)")
        step_size = 0.1
    step_size = check_real(step_size, "step_size", 0, open_low=True)
    if target_accept is None:
        target_accept = TARGET_ACCEPT.get(method, 0.5)
    target_accept = check_real(target_accept, "target_accept", 0, 1, open_low=True)
    if target_accept == 1:
        raise ValueError("target_accept must be below 1")
    n_leapfrog = check_positive_int(n_leapfrog, "n_leapfrog")
    if n_leapfrog > 2**31 - 1:
        raise ValueError(f"n_leapfrog must be below 2**31, got {n_leapfrog}")
    adapt_mass = method == "hmc" if adapt_mass is None else bool(adapt_mass)
    if adapt_mass and method != "hmc":
        raise ValueError("adapt_mass applies to method='hmc' only")
    thin = check_positive_int(thin, "thin")
    keep = check_choice(keep, ("all", "last"), "keep")
    dtype = check_float_dtype(dtype)
    threads = check_n_threads(n_threads)
    key = key_from_rng(rng)
    dim = _dim_of(target, init)

    n_kept = n_steps // thin if keep == "all" else 0
    if dim >= 1:  # the kept draws, and the chains' state: 8 arrays (n, dim), 2 of float64
        nbytes = n_chains * (n_kept * (dim + 1) * dtype.itemsize + dim * (6 * dtype.itemsize + 16) + 112)
        check_allocation(nbytes, "the chains", 'keep="last", a larger thin or fewer chains')
    if init is None:
        x0 = np.empty((n_chains, dim), dtype)
        _core.random.fill_normal(_core.random.subkey(key, 1), x0, threads, 0)
    else:
        x0 = real_array(init, "init")
        if x0.shape != (n_chains, dim) or dim < 1:
            raise ValueError(f"init must have shape (n_chains, dim) = ({n_chains}, {dim}), got {x0.shape}")
        if not np.isfinite(x0).all():
            raise ValueError("init must be finite (no NaN or inf)")
    state = _state(x0, step_size, dtype)
    flags, da_iter = warmup_schedule(warmup, method != "ula", adapt_mass)
    settings = {
        "method": _core.mcmc.Method.__members__[method],
        "n_leapfrog": n_leapfrog if method == "hmc" else 1,
        "warmup": warmup,
        "thin": thin,
        "n_kept": n_kept,
        "target_accept": target_accept,
        "adapt": flags,
        "da_iter": da_iter,
    }
    draws: dict[str, np.ndarray | None] = {"x": None, "logp": None}
    if keep == "all":
        draws = {"x": np.empty((n_chains, n_kept, dim), dtype), "logp": np.empty((n_chains, n_kept), dtype)}
    step_key = int(_core.random.subkey(key, 0))
    total = warmup + n_steps
    evals = n_chains * (n_leapfrog if method == "hmc" else 1)
    show = progress if progress is not None else evals * total > 10**8
    with Progress(total, bool(show), f"mcmc.{method}", unit="steps") as bar:
        if kind == "gmm":
            engine = target._engine(dtype)
            # Segments of about 10^7 gradient evaluations: progress and Ctrl-C between them.
            per = max(1, 10**7 // max(evals, 1))
            for s0 in range(0, total, per) if total else [0]:
                s1 = min(total, s0 + per)
                _core.mcmc.run_gmm(settings, state, draws, engine, step_key, s0, s1, threads)
                bar.update(s1 - s0)
        else:
            evaluate = _evaluator(target, threads)
            logp, grad = _checked_values(evaluate(state["x"]), n_chains, dim, dtype, None)
            if not np.isfinite(logp).all():
                chain = int(np.flatnonzero(~np.isfinite(logp))[0])
                raise ValueError(f"init: chain {chain} starts outside the target's support (log p = -inf)")
            state["logp"][:], state["grad"][:] = logp, grad
            _run_python(settings, state, draws, evaluate, step_key, total, threads, bar)
    kept_x, kept_logp = (draws["x"], draws["logp"]) if keep == "all" else (state["x"], state["logp"])
    assert kept_x is not None and kept_logp is not None
    return Run(
        draws=kept_x,
        logp=kept_logp,
        acceptance=state["accept_sum"] / max(n_steps, 1),
        step_size=state["step"],
        inv_mass=state["inv_mass"],
        divergences=state["divergent"],
        method=method,
    )


def _run_python(settings, state, draws, evaluate, key: int, total: int, threads: int, bar) -> None:
    """Every step's phases in C++ over all chains, the target evaluated here in between."""
    n, dim = state["x"].shape
    dtype = state["x"].dtype
    leapfrogs = settings["n_leapfrog"] if settings["method"].name == "hmc" else 1
    for step in range(total):
        _core.mcmc.begin(settings, state, key, step, threads)
        for leap in range(leapfrogs):
            if leap:
                _core.mcmc.leapfrog(settings, state, threads)
            logp, grad = _checked_values(evaluate(state["x_new"]), n, dim, dtype, step)
            state["logp_new"][:], state["grad_new"][:] = logp, grad
        _core.mcmc.finish(settings, state, draws, step, threads)
        bar.update(1)


# ---- diagnostics ---------------------------------------------------------------------------


def diagnostics(draws: ArrayLike) -> dict[str, np.ndarray]:
    """Split-R-hat and bulk and tail effective sample sizes per coordinate.

    ``draws``: ``(n_chains, n_draws)`` or ``(n_chains, n_draws, dim)``. Rank-normalised
    split-R-hat (the larger of the bulk and the folded value) and the bulk and tail ESS
    (the smaller of the 5 % and 95 % quantiles' ESS) of Vehtari, Gelman, Simpson, Carpenter
    and Bürkner (2021), with ArviZ's estimator (Geyer's initial monotone sequence on FFT
    autocovariances). Returns ``{"rhat", "ess_bulk", "ess_tail"}``, arrays of ``(dim,)``.

    >>> import numpy as np
    >>> d = diagnostics(np.random.default_rng(0).normal(size=(4, 1000, 2)))
    >>> bool(abs(d["rhat"] - 1).max() < 0.01), bool((d["ess_bulk"] > 3000).all())
    (True, True)
    """
    arr = real_array(draws, "draws")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"draws must have shape (n_chains, n_draws) or (n_chains, n_draws, dim), got {arr.shape}")
    if arr.shape[1] < 4:
        raise ValueError(f"draws: diagnostics need at least 4 draws per chain, got {arr.shape[1]}")
    arr = np.asarray(arr, dtype=np.float64)
    out = {name: np.empty(arr.shape[2]) for name in ("rhat", "ess_bulk", "ess_tail")}
    for i in range(arr.shape[2]):
        x = arr[:, :, i]
        if not np.isfinite(x).all():
            for v in out.values():
                v[i] = np.nan
            continue
        split = _split(x)
        out["rhat"][i] = (
            max(_rhat(_z_scale(split)), _rhat(_z_scale(np.abs(split - np.median(split)))))
            if x.shape[0] >= 2
            else np.nan
        )
        out["ess_bulk"][i] = _ess(_z_scale(split))
        lo, hi = np.quantile(x, [0.05, 0.95])
        out["ess_tail"][i] = min(_ess(_split((x <= lo).astype(float))), _ess(_split((x <= hi).astype(float))))
    return out


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as two chains (the middle draw of an odd count out)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]])


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the average ranks over all chains (Blom's offset 3/8)."""
    flat = x.ravel()
    order = np.argsort(flat, kind="stable")
    ranks = np.empty(flat.size)
    sorted_ = flat[order]
    # average ranks of ties: each run of equal values gets the mean of its positions
    starts = np.r_[0, np.flatnonzero(sorted_[1:] != sorted_[:-1]) + 1]
    ends = np.r_[starts[1:], flat.size]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    p = (ranks - 3 / 8) / (flat.size - 2 * (3 / 8) + 1)
    return _core.mcmc.normal_quantile(p).reshape(x.shape)


def _rhat(x: np.ndarray) -> float:
    n = x.shape[1]
    between = n * np.var(x.mean(axis=1), ddof=1)
    within = np.mean(np.var(x, axis=1, ddof=1))
    return float(np.sqrt((between / within + n - 1) / n))


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance of each row at every lag (biased, over n), by FFT."""
    n = x.shape[1]
    m = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x - x.mean(axis=1, keepdims=True), n=m, axis=1)
    return np.fft.irfft(f * np.conjugate(f), n=m, axis=1)[:, :n] / n


def _ess(x: np.ndarray) -> float:
    """Effective sample size of the chains x (rows), Geyer's initial monotone sequence."""
    n_chains, n = x.shape
    if np.max(x) - np.min(x) < np.finfo(float).resolution:
        return float(x.size)
    acov = _autocov(x)
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if n_chains > 1:
        var_plus += np.var(x.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho[0] = even = 1.0
    rho[1] = odd = 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    t = 1  # initial positive sequence: pairs while their sum stays positive
    while t < n - 3 and even + odd > 0.0:
        even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    last = t - 2
    if even > 0:
        rho[last + 1] = even
    t = 1  # initial monotone sequence: pair sums never increase
    while t <= last - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    size = n_chains * n
    tau = -1.0 + 2.0 * np.sum(rho[: last + 1]) + np.sum(rho[last + 1 : last + 2])
    tau = max(tau, 1 / np.log10(size))
    return float(np.nan if np.isnan(rho).any() else size / tau)
