"""Twins of cpp/src/flow.cpp in plain NumPy: the probability paths, the Gaussian mixture's
and the dataset's marginal velocity with their divergences (full matrices, explicit
inverses), the network field, the fixed-step solvers and dopri5 (one particle at a time)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SOLVERS = ("euler", "midpoint", "heun", "rk4")


def coefficients(path, t: float):
    """(alpha, alpha', sigma^2, sigma sigma') of the path at t (flow.hpp)."""
    kind, beta_min, beta_max = path if isinstance(path, tuple) else (path, 0.1, 20.0)
    if kind == "linear":
        return t, 1.0, (1 - t) ** 2, -(1 - t)
    if kind == "cosine":
        a, s = np.sin(np.pi * t / 2), np.sin(np.pi * (1 - t) / 2)
        return a, np.pi / 2 * s, s * s, -np.pi / 2 * a * s
    r = 1 - t
    T = beta_min * r + 0.5 * (beta_max - beta_min) * r * r
    a = np.exp(-0.5 * T)
    da = 0.5 * a * (beta_min + (beta_max - beta_min) * r)
    return a, da, -np.expm1(-T), -a * da


def score_from_velocity(path, t: float, x, u):
    """grad log p_t(x) from the velocity u_t(x) on an affine path."""
    a, da, s2, sds = coefficients(path, t)
    return (a * u - da * x) / (da * s2 - a * sds)


def mixture_velocity(weights, means, covariances, t: float, x, with_div: bool = False, path="linear"):
    """u_t(x) (n, d), and div u_t(x) (n,) when with_div (flow.hpp gives the formulas)."""
    x, means, cov = (np.asarray(a, np.float64) for a in (x, means, covariances))
    k, d = means.shape
    a, da, s2, sds = coefficients(path, t)
    S = a * a * cov + s2 * np.eye(d)
    Sinv = np.linalg.inv(S)
    B = (a * da * cov + sds * np.eye(d)) @ Sinv
    r = x[:, None, :] - a * means[None]  # (n, k, d)
    maha = np.einsum("nki,kij,nkj->nk", r, Sinv, r)
    logw = (
        np.log(np.asarray(weights, np.float64))
        - 0.5 * np.linalg.slogdet(S)[1]
        - 0.5 * d * np.log(2 * np.pi)
        - 0.5 * maha
    )
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    uk = da * means[None] + np.einsum("kij,nkj->nki", B, r)
    u = np.einsum("nk,nki->ni", w, uk)
    if not with_div:
        return u
    gk = -np.einsum("kij,nkj->nki", Sinv, r)
    g = np.einsum("nk,nki->ni", w, gk)
    tr = np.trace(B, axis1=1, axis2=2)
    div = np.einsum("nk,nk->n", w, tr[None] + np.einsum("nki,nki->nk", uk - u[:, None], gk - g[:, None]))
    return u, div


def empirical_velocity(weights, points, bandwidth: float, t: float, x, with_div: bool = False, path="linear"):
    """The mixture with covariance bandwidth^2 I at every point; at t = 1 with bandwidth 0 the limit u = x."""
    x, points = np.asarray(x, np.float64), np.asarray(points, np.float64)
    a, da, s2, sds = coefficients(path, t)
    if a * a * bandwidth**2 + s2 <= 0:
        return (x.copy(), np.zeros(len(x))) if with_div else x.copy()
    d = points.shape[1]
    cov = np.broadcast_to(bandwidth**2 * np.eye(d), (len(points), d, d))
    return mixture_velocity(weights, points, cov, t, x, with_div, path)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "gelu": lambda z: 0.5 * z * (1 + _erf(z / np.sqrt(2))),
    "gelu_tanh": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
}


def _erf(z):
    from math import erf

    return np.vectorize(erf, otypes=[np.float64])(z)


def _apply(step, h):
    """One step after a Linear map: an activation by name, or a dict (_network.py's form)."""
    if isinstance(step, str):
        return ACTIVATIONS[step](h)
    op = step["op"]
    if op == "layer_norm":
        mean = h.mean(axis=1, keepdims=True)
        var = ((h - mean) ** 2).mean(axis=1, keepdims=True)
        return (h - mean) / np.sqrt(var + step["eps"]) * step["gamma"] + step["beta"]
    if op == "leaky_relu":
        return np.where(h > 0, h, step["param"] * h)
    if op == "softplus":
        beta, threshold = step["param"], step["param2"]
        with np.errstate(over="ignore"):
            return np.where(h * beta > threshold, h, np.log1p(np.exp(h * beta)) / beta)
    if op == "elu":
        return np.where(h > 0, h, step["param"] * np.expm1(np.minimum(h, 0.0)))
    if op == "sigmoid":
        return 1 / (1 + np.exp(-h))
    return ACTIVATIONS[op](h)


def network_forward(layers, z):
    """A network of (weight, bias, steps) layers at z, in float64: steps one activation name
    or a list of steps."""
    h = np.asarray(z, np.float64)
    for w, b, steps in layers:
        h = h @ np.asarray(w, np.float64).T + np.asarray(b, np.float64)
        for step in [steps] if isinstance(steps, (str, dict)) else steps:
            h = _apply(step, h)
    return h


def network_velocity(layers, t: float, x):
    """A network of (weight, bias, steps) layers at [x, t], in float64."""
    return network_forward(layers, np.concatenate([np.asarray(x, np.float64), np.full((len(x), 1), float(t))], axis=1))


def network_divergence(layers, t: float, x, eps: float = 1e-6):
    """div u_t(x) by central differences (the engine's is exact, by forward mode)."""
    x = np.asarray(x, np.float64)
    div = np.zeros(len(x))
    for j in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[j] = eps
        div += (network_velocity(layers, t, x + e)[:, j] - network_velocity(layers, t, x - e)[:, j]) / (2 * eps)
    return div


def integrate(velocity, solver: str, grid, x, with_div: bool = False):
    """Fixed steps over `grid` for velocity(t, x) -> (u, div); returns (x, integral of div)."""
    x = np.array(x, np.float64)
    log_det = np.zeros(len(x))
    for t, t_next in zip(grid[:-1], grid[1:]):
        h = t_next - t
        if solver == "euler":
            k1, d1 = velocity(t, x)
            x, ld = x + h * k1, d1
        elif solver == "midpoint":
            k1, _ = velocity(t, x)
            k2, d2 = velocity(t + 0.5 * h, x + 0.5 * h * k1)
            x, ld = x + h * k2, d2
        elif solver == "heun":
            k1, d1 = velocity(t, x)
            k2, d2 = velocity(t + h, x + h * k1)
            x, ld = x + 0.5 * h * (k1 + k2), 0.5 * (d1 + d2)
        else:
            k1, d1 = velocity(t, x)
            k2, d2 = velocity(t + 0.5 * h, x + 0.5 * h * k1)
            k3, d3 = velocity(t + 0.5 * h, x + 0.5 * h * k2)
            k4, d4 = velocity(t + h, x + h * k3)
            x, ld = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), (d1 + 2 * d2 + 2 * d3 + d4) / 6
        log_det += h * ld
    return x, log_det


# Dormand-Prince 5(4), as scipy's RK45.
C = np.array([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1])
A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
]
B = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
E = np.array([-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40])


def dopri5(f, stops, y, rtol: float, atol: float, max_steps: int = 10**6, div=None):
    """One particle y (d,) from stops[0] through stops[1:] with dopri5 for f(t, y) -> (d,);
    returns (states at the stops, evaluations, accepted, rejected, status) with status
    'finished', 'max_steps' or 'step_underflow' (flow.hpp's rules, scipy's RK45 control).

    With ``div(t, y) -> float``, the log-density l (from 0, dl/dt = div) is integrated beside
    y and each state ends with l; the error norm is the larger of y's RMS and l's own ratio
    (not diluted among d coordinates). The first step is chosen from y alone, as in the core."""
    rms = lambda v: np.sqrt(np.mean(v * v))  # noqa: E731
    y = np.array(y, np.float64)
    t0, t_end = float(stops[0]), float(stops[-1])
    direction, interval = (1.0 if t_end >= t0 else -1.0), abs(t_end - t0)
    out: list = []
    if div is not None:
        y0, f0 = y, f
        y = np.append(y, 0.0)
        f = lambda t, ya: np.append(f0(t, ya[:-1]), div(t, ya[:-1]))  # noqa: E731
    if interval == 0:
        return [y.copy() for _ in stops[1:]], 0, 0, 0, "finished"
    k1 = f(t0, y)
    yx, kx = (y0, k1[:-1]) if div is not None else (y, k1)  # the first step from y alone
    scale = atol + np.abs(yx) * rtol
    d0, d1 = rms(yx / scale), rms(kx / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, interval)
    probe = f(t0 + h0 * direction, y + h0 * direction * k1)
    d2 = rms(((probe[:-1] if div is not None else probe) - kx) / scale) / h0
    h1 = max(1e-6, h0 * 1e-3) if d1 <= 1e-15 and d2 <= 1e-15 else (0.01 / max(d1, d2)) ** 0.2
    h_abs = min(100 * h0, h1, interval)
    t, stop, evaluations, accepted, rejected, attempts, was_rejected = t0, 1, 2, 0, 0, 0, False
    while stop < len(stops):
        min_step = 10 * abs(np.nextafter(t, direction * np.inf) - t)
        if was_rejected and h_abs < min_step:
            return out, evaluations, accepted, rejected, "step_underflow"
        if attempts >= max_steps:
            return out, evaluations, accepted, rejected, "max_steps"
        if not was_rejected:
            h_abs = max(h_abs, min_step)
        t_new = t + h_abs * direction
        if direction * (t_new - stops[stop]) > 0:
            t_new = float(stops[stop])
        h = t_new - t
        h_abs = abs(h)
        attempts += 1
        K = [k1]
        for s in range(1, 6):
            K.append(f(t_new if s == 5 else t + C[s] * h, y + sum(a * k for a, k in zip(A[s], K)) * h))
        y_new = y + h * sum(b * k for b, k in zip(B, K))
        K.append(f(t_new, y_new))
        evaluations += 6
        err = sum(e * k for e, k in zip(E, K)) * h
        ratio = err / (atol + np.maximum(np.abs(y), np.abs(y_new)) * rtol)
        norm = rms(ratio) if div is None else max(rms(ratio[:-1]), abs(ratio[-1]))
        if norm < 1:
            factor = 10.0 if norm == 0 else min(10.0, 0.9 * norm**-0.2)
            h_abs *= min(1.0, factor) if was_rejected else factor
            t, y, k1, was_rejected = t_new, y_new, K[6], False
            accepted += 1
            while stop < len(stops) and t == stops[stop]:
                out.append(y.copy())
                stop += 1
        else:
            h_abs *= max(0.2, 0.9 * norm**-0.2)
            was_rejected = True
            rejected += 1
    return out, evaluations, accepted, rejected, "finished"
