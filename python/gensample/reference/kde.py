"""Twins of cpp/src/kde.cpp and cpp/src/kde_sample.cpp: kernel sums, scores and samples.

Plain NumPy over whitened coordinates (z = L^-1 x): every kernel is radial, f(|y - z_i|).
"""

from __future__ import annotations

import numpy as np

from .draws import alias_pick, draws
from .philox import subkey
from .random import normal, uniform

KERNELS = ("gaussian", "tophat", "epanechnikov", "exponential", "linear", "cosine")


def _profile(kernel: str, r: np.ndarray) -> np.ndarray:
    """f(r): the kernel's radial profile."""
    inside = r < 1
    if kernel == "gaussian":
        return np.exp(-0.5 * r**2)
    if kernel == "exponential":
        return np.exp(-r)
    if kernel == "tophat":
        return inside.astype(float)
    if kernel == "epanechnikov":
        return np.where(inside, 1 - r**2, 0.0)
    if kernel == "linear":
        return np.where(inside, 1 - r, 0.0)
    if kernel == "cosine":
        return np.where(inside, np.cos(np.pi / 2 * np.minimum(r, 1)), 0.0)
    raise ValueError(kernel)


def _log_profile(kernel: str, r: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        if kernel == "gaussian":
            return -0.5 * r**2
        if kernel == "exponential":
            return -r
        return np.log(_profile(kernel, r))


def _distances(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|y_j - z_i| as an (m, n) matrix (the reference may hold it; the engine never does)."""
    return np.sqrt(((y[:, None, :] - z[None, :, :]) ** 2).sum(axis=-1))


def log_kernel_sum(kernel: str, z, log_w, y) -> np.ndarray:
    """log sum_i w_i f(|y_j - z_i|), float64, by a max-shifted log-sum-exp."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    a = np.asarray(log_w, np.float64)[None, :] + _log_profile(kernel, _distances(z, y))
    m = a.max(axis=1)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(a - safe[:, None]).sum(axis=1))


def grad_log_kernel_sum(kernel: str, z, log_w, y) -> np.ndarray:
    """The gradient of log_kernel_sum with respect to y, (m, d); NaN where the sum is 0."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    r = _distances(z, y)
    w = np.exp(np.asarray(log_w, np.float64))[None, :]
    inside = r < 1
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_r = np.where(r > 0, r, 1.0)
        if kernel == "gaussian":  # softmax weights, stable far away
            a = np.log(w) - 0.5 * r**2
            lam = np.exp(a - a.max(axis=1, keepdims=True))
            return (lam[:, :, None] * (z[None] - y[:, None])).sum(1) / lam.sum(1)[:, None]
        if kernel == "exponential":
            a = np.log(w) - r
            lam = np.exp(a - a.max(axis=1, keepdims=True))
            coef = lam * np.where(r > 0, 1 / safe_r, 0.0)
            return (coef[:, :, None] * (z[None] - y[:, None])).sum(1) / lam.sum(1)[:, None]
        f = w * _profile(kernel, r)
        if kernel == "tophat":
            coef = np.zeros_like(r)
        elif kernel == "epanechnikov":
            coef = np.where(inside, 2.0, 0.0)
        elif kernel == "linear":
            coef = np.where(inside & (r > 0), 1 / safe_r, 0.0)
        else:  # cosine
            coef = np.where(inside & (r > 0), np.pi / 2 * np.sin(np.pi / 2 * np.minimum(r, 1)) / safe_r, 0.0)
        coef = w * coef
        return (coef[:, :, None] * (z[None] - y[:, None])).sum(1) / f.sum(1)[:, None]


def radius_uniforms(kernel: str, dim: int) -> int:
    return {"gaussian": 0, "tophat": 1, "epanechnikov": 2, "linear": 2, "exponential": dim, "cosine": 3}[kernel]


def _radius(kernel: str, d: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radii from one attempt's uniforms (rows of u) and whether each is accepted."""
    ok = np.ones(u.shape[0], dtype=bool)
    if kernel == "tophat":
        return u[:, 0] ** (1.0 / d), ok
    if kernel == "epanechnikov":
        return u[:, 0] ** (1.0 / d) * u[:, 1] ** (1.0 / (d + 2.0)), ok
    if kernel == "exponential":
        s = np.zeros(u.shape[0])
        for k in range(d):  # left to right, as the C++ sums
            s = s - np.log(1.0 - u[:, k])
        return s, ok
    r = u[:, 0] ** (1.0 / d) * u[:, 1] ** (1.0 / (d + 1.0))  # linear, and the cosine's proposal
    if kernel == "cosine":
        ok = u[:, 2] * (np.pi / 2 * (1.0 - r)) < np.sin(np.pi / 2 * (1.0 - r))
    return r, ok


def sample(key: int, kernel: str, points, chol, prob, alias, n: int) -> np.ndarray:
    """Rows 0 .. n-1 of gs.KDE.sample with stream ``key`` (kde.hpp gives the recipe)."""
    points, chol = np.asarray(points, np.float64), np.asarray(chol, np.float64)
    d = points.shape[1]
    rows = np.arange(n)
    pick = alias_pick(key, rows, draws(key, rows, 1), np.asarray(prob), np.asarray(alias))
    v = normal(subkey(key, 1), n, d)
    if kernel != "gaussian":
        ku = radius_uniforms(kernel, d)
        radius, ok = _radius(kernel, d, uniform(subkey(key, 2), n, ku))
        attempt = 0
        while not ok.all():
            attempt += 1
            todo = np.flatnonzero(~ok)
            u = uniform(subkey(key, 2 + attempt), int(todo.max()) + 1, ku)[todo]
            r_new, ok_new = _radius(kernel, d, u)
            radius[todo] = np.where(ok_new, r_new, radius[todo])
            ok[todo] = ok_new
        norm2 = np.zeros(n)
        for k in range(d):
            norm2 = norm2 + v[:, k] * v[:, k]
        zero = norm2 == 0
        v = np.where(zero[:, None], 0.0, v * (radius / np.sqrt(np.where(zero, 1.0, norm2)))[:, None])
        v[zero, 0] = radius[zero]
    return points[pick] + v @ chol.T
