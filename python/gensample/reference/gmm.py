"""Twins of cpp/src/gmm.cpp, gmm_init.cpp and gmm_sample.cpp: mixture densities, EM sums,
k-means and samples, in plain NumPy on full (k, d, d) matrices.

A component is (log coefficient c_k, mean mu_k, whitening factor A_k = L_k^-1), with
log w_k N(x; mu_k, L_k L_k^T) = c_k - |A_k (x - mu_k)|^2 / 2 (gmm.hpp).
"""

from __future__ import annotations

import numpy as np

from .draws import alias_pick, draws
from .philox import subkey
from .random import normal, uniform


def log_joint(log_coef, means, factors, x) -> np.ndarray:
    """log w_k N(x_j; mu_k, S_k) as an (m, k) matrix."""
    x, means, factors = (np.asarray(a, np.float64) for a in (x, means, factors))
    y = np.einsum("kij,mkj->mki", factors, x[:, None, :] - means[None])
    return np.asarray(log_coef, np.float64)[None, :] - 0.5 * (y**2).sum(-1)


def _logsumexp(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


def log_density(log_coef, means, factors, x) -> np.ndarray:
    return _logsumexp(log_joint(log_coef, means, factors, x))


def log_responsibilities(log_coef, means, factors, x) -> np.ndarray:
    a = log_joint(log_coef, means, factors, x)
    return a - _logsumexp(a)[:, None]


def score(log_coef, means, factors, x) -> np.ndarray:
    """grad log p(x) = -sum_k r_k A_k^T A_k (x - mu_k), (m, d)."""
    x, means, factors = (np.asarray(a, np.float64) for a in (x, means, factors))
    r = np.exp(log_responsibilities(log_coef, means, factors, x))
    precision = np.einsum("kji,kjl->kil", factors, factors)
    return -np.einsum("mk,kil,mkl->mi", r, precision, x[:, None, :] - means[None])


def em_moments(log_coef, means, factors, x, v, full: bool = True):
    """The E-step sums of gmm.hpp: (weight (k,), first (k, d), second (k, d, d) or (k, d), log-likelihood)."""
    x, means, v = np.asarray(x, np.float64), np.asarray(means, np.float64), np.asarray(v, np.float64)
    a = log_joint(log_coef, means, factors, x)
    lse = _logsumexp(a)
    r = v[:, None] * np.exp(a - lse[:, None])
    diff = x[:, None, :] - means[None]  # (n, k, d)
    first = np.einsum("nk,nki->ki", r, diff)
    if full:
        second = np.einsum("nk,nki,nkj->kij", r, diff, diff)
    else:
        second = np.einsum("nk,nki->ki", r, diff**2)
    return r.sum(axis=0), first, second, float(v @ lse)


def _distance2(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    s = np.zeros(x.shape[0])
    for j in range(x.shape[1]):  # coordinates in order, as the C++
        t = x[:, j] - c[j]
        s = s + t * t
    return s


def _pick(mass: np.ndarray, u: float) -> int:
    running = np.cumsum(mass)  # left to right
    if not running[-1] > 0:
        raise ValueError("k-means++: fewer distinct points than components")
    i = int(np.searchsorted(running, u * running[-1], side="right"))
    return i if i < mass.size else int(np.flatnonzero(mass > 0)[-1])


def kmeans_plusplus(x, v, k: int, trials: int, key: int) -> np.ndarray:
    """Greedy k-means++ seed indices, the same picks as the C++ (gmm.hpp gives the stream)."""
    x, v = np.asarray(x, np.float64), np.asarray(v, np.float64)
    u = uniform(key, k, trials)
    seeds = [_pick(v, u[0, 0])]
    nearest = _distance2(x, x[seeds[0]])
    for s in range(1, k):
        mass = v * nearest
        best, best_potential, best_d2 = -1, np.inf, nearest
        for t in range(trials):
            c = _pick(mass, u[s, t])
            candidate = np.minimum(nearest, _distance2(x, x[c]))
            potential = np.cumsum(v * candidate)[-1]
            if potential < best_potential:
                best, best_potential, best_d2 = c, potential, candidate
        seeds.append(best)
        nearest = best_d2
    return np.array(seeds, dtype=np.int64)


def lloyd_step(x, v, centres):
    """(labels, weight (k,), weighted sums (k, d), inertia) of one Lloyd step."""
    x, v, centres = np.asarray(x, np.float64), np.asarray(v, np.float64), np.asarray(centres, np.float64)
    d2 = np.stack([_distance2(x, c) for c in centres], axis=1)
    labels = d2.argmin(axis=1)  # the first on ties
    k = centres.shape[0]
    weight = np.bincount(labels, weights=v, minlength=k)
    sums = np.stack([np.bincount(labels, weights=v * x[:, j], minlength=k) for j in range(x.shape[1])], axis=1)
    return labels, weight, sums, float(v @ d2[np.arange(x.shape[0]), labels])


def sample(key: int, means, chols, prob, alias, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows 0 .. n-1 of gs.GMM.sample with stream ``key``: (mu_c + L_c z, c)."""
    means, chols = np.asarray(means, np.float64), np.asarray(chols, np.float64)
    rows = np.arange(n)
    c = alias_pick(key, rows, draws(key, rows, 1), np.asarray(prob), np.asarray(alias))
    z = normal(subkey(key, 1), n, means.shape[1])
    out = np.empty((n, means.shape[1]))
    d = means.shape[1]
    for i in range(d):  # terms in order, as the C++
        s = np.zeros(n)
        for j in range(i + 1):
            s = s + chols[c, i, j] * z[:, j]
        out[:, i] = means[c, i] + s
    return out, c
