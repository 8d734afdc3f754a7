"""Twin of cpp/src/mcmc.cpp in plain NumPy: ULA, MALA and HMC steps over all chains, the
same Philox counters (chain, step, j), dual averaging and the windowed mass matrix; and
the normal quantile by the standard library's (Wichura's AS241)."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np

from .philox import counters, philox4x32_10, words64
from .random import box_muller, u53

GAMMA, T0, KAPPA, DIVERGENCE = 0.05, 10.0, 0.75, 1000.0
ADAPT_STEP, COLLECT_MASS, UPDATE_MASS, FINAL_STEP = 1, 2, 4, 8


def step_draws(key: int, step: int, chains: np.ndarray, dim: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The step's normals (n, dim) and uniforms (n,) of the given chains."""
    slots = (dim + 1) // 2
    rows = np.repeat(np.asarray(chains, np.uint64), slots + 1)
    j = np.tile(np.arange(slots + 1, dtype=np.uint64), len(chains))
    w0, w1 = words64(philox4x32_10(counters(rows, step, j), key).reshape(len(chains), slots + 1, 4))
    z0, z1 = box_muller(w0[:, :slots], w1[:, :slots])
    z = np.stack([z0, z1], axis=-1).reshape(len(chains), 2 * slots)[:, :dim].astype(dtype)
    return z, u53(w0[:, slots])


def run(
    target: Callable,
    x0: np.ndarray,
    key: int,
    method: str,
    step_size: float,
    warmup: int,
    n_steps: int,
    adapt: np.ndarray,
    da_iter: np.ndarray,
    target_accept: float = 0.574,
    n_leapfrog: int = 1,
    chains: np.ndarray | None = None,
) -> dict:
    """Chains from x0 (n, dim): target(x) -> (logp, grad) in x's dtype. Returns the kept
    draws (thin 1), their log-densities and the final step sizes, acceptances, inverse
    masses and divergence counts. ``chains``: the chains' indices (default 0 .. n - 1)."""
    x = np.array(x0)
    n, d = x.shape
    T = x.dtype.type
    chains = np.arange(n) if chains is None else np.asarray(chains)
    logp, grad = target(x)
    eps = np.full(n, step_size, x.dtype)
    log_step, log_bar, h_bar = np.full(n, np.log(step_size)), np.zeros(n), np.zeros(n)
    mu = np.full(n, np.log(10 * step_size))
    inv_mass = np.ones((n, d), x.dtype)
    mean, m2, count = np.zeros((n, d)), np.zeros((n, d)), 0
    draws, draw_logp = np.empty((n, n_steps, d), x.dtype), np.empty((n, n_steps), x.dtype)
    accept_sum, divergent = np.zeros(n), np.zeros(n, np.int64)
    for step in range(warmup + n_steps):
        z, u = step_draws(key, step, chains, d, x.dtype)
        e = eps[:, None]
        if method == "hmc":
            p = z / np.sqrt(inv_mass)
            energy = (p.astype(float) ** 2 * inv_mass).sum(axis=1) / 2 - logp.astype(float)
            p = p + (e / T(2)) * grad
            x_new = x + e * (inv_mass * p)
            logp_new, grad_new = target(x_new)
            for _ in range(n_leapfrog - 1):
                p = p + e * grad_new
                x_new = x_new + e * (inv_mass * p)
                logp_new, grad_new = target(x_new)
            p = p + (e / T(2)) * grad_new
            kinetic = (p.astype(float) ** 2 * inv_mass).sum(axis=1) / 2
            log_alpha = energy - (kinetic - logp_new.astype(float))
        else:
            x_new = (x + e * grad) + np.sqrt(T(2) * e) * z
            logp_new, grad_new = target(x_new)
            if method == "mala":
                forward = (z.astype(float) ** 2).sum(axis=1) / 2
                r = ((x - x_new) - e * grad_new).astype(float)
                reverse = (r * r).sum(axis=1) / (4 * eps.astype(float))
                log_alpha = (logp_new.astype(float) - logp.astype(float)) + (forward - reverse)
            else:
                log_alpha = np.zeros(n)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            accept = np.log(u) < log_alpha
            alpha = np.where(log_alpha >= 0, 1.0, np.where(log_alpha < 0, np.exp(np.minimum(log_alpha, 0)), 0.0))
        x, grad, logp = (
            np.where(accept[:, None], x_new, x),
            np.where(accept[:, None], grad_new, grad),
            np.where(accept, logp_new, logp),
        )
        if step < warmup:
            flags = int(adapt[step])
            if flags & ADAPT_STEP:
                t = float(da_iter[step])
                eta = 1 / (t + T0)
                h_bar = (1 - eta) * h_bar + eta * (target_accept - alpha)
                log_step = mu - np.sqrt(t) / GAMMA * h_bar
                w = t**-KAPPA
                log_bar = w * log_step + (1 - w) * log_bar
                eps = np.exp(log_step).astype(x.dtype)
            if flags & COLLECT_MASS:
                count += 1
                delta = x.astype(float) - mean
                mean = mean + delta / count
                m2 = m2 + delta * (x.astype(float) - mean)
            if flags & UPDATE_MASS:
                var = m2 / (count - 1) if count > 1 else np.ones_like(m2)
                inv_mass = ((count / (count + 5)) * var + 1e-3 * (5 / (count + 5))).astype(x.dtype)
                mean, m2, count = np.zeros((n, d)), np.zeros((n, d)), 0
                mu = np.log(10 * eps.astype(float))
                h_bar, log_bar = np.zeros(n), np.zeros(n)
            if flags & FINAL_STEP:
                eps = np.exp(log_bar).astype(x.dtype)
        else:
            k = step - warmup
            accept_sum += alpha
            if method == "ula":
                divergent += ~np.isfinite(logp)
            else:
                divergent += ~(log_alpha > -DIVERGENCE)
            draws[:, k], draw_logp[:, k] = x, logp
    return {
        "draws": draws,
        "logp": draw_logp,
        "step_size": eps,
        "acceptance": accept_sum / max(n_steps, 1),
        "inv_mass": inv_mass,
        "divergences": divergent,
    }


def normal_quantile(p) -> np.ndarray:
    """Phi^-1(p) of each p, by statistics.NormalDist (Wichura's AS241)."""
    nd = statistics.NormalDist()
    out = []
    for v in np.asarray(p, float).ravel():
        out.append(-np.inf if v == 0 else np.inf if v == 1 else nd.inv_cdf(v) if 0 < v < 1 else np.nan)
    return np.array(out).reshape(np.shape(p))
