"""Twins of cpp/src/flow.cpp: the Gaussian mixture's marginal velocity on the linear path,
its divergence, and the fixed-step solvers, in plain NumPy (full matrices, explicit inverses)."""

from __future__ import annotations

import numpy as np

SOLVERS = ("euler", "midpoint", "heun", "rk4")


def mixture_velocity(weights, means, covariances, t: float, x, with_div: bool = False):
    """u_t(x) (n, d), and div u_t(x) (n,) when with_div (flow.hpp gives the formulas)."""
    x, means, cov = (np.asarray(a, np.float64) for a in (x, means, covariances))
    k, d = means.shape
    S = t * t * cov + (1 - t) ** 2 * np.eye(d)
    Sinv = np.linalg.inv(S)
    B = (t * cov - (1 - t) * np.eye(d)) @ Sinv
    r = x[:, None, :] - t * means[None]  # (n, k, d)
    maha = np.einsum("nki,kij,nkj->nk", r, Sinv, r)
    logw = np.log(np.asarray(weights, np.float64)) - 0.5 * np.linalg.slogdet(S)[1] - 0.5 * d * np.log(2 * np.pi) - 0.5 * maha
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    uk = means[None] + np.einsum("kij,nkj->nki", B, r)
    u = np.einsum("nk,nki->ni", w, uk)
    if not with_div:
        return u
    gk = -np.einsum("kij,nkj->nki", Sinv, r)
    g = np.einsum("nk,nki->ni", w, gk)
    tr = np.trace(B, axis1=1, axis2=2)
    div = np.einsum("nk,nk->n", w, tr[None] + np.einsum("nki,nki->nk", uk - u[:, None], gk - g[:, None]))
    return u, div


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
