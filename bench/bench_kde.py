"""Kernel density estimation against the peers a user would reach for, in one process.

Gaussian kernel, N data points, M queries (90 % drawn like the data, 10 % at least 30
bandwidths from every data point), d = 2 and d = 8:

- log-density: gensample float64 and float32 against scipy ``gaussian_kde.logpdf`` and
  ``evaluate``, scikit-learn ``KernelDensity`` (rtol=0 and rtol=1e-4), KDEpy ``NaiveKDE``
  and ``TreeKDE``, and a chunked NumPy log-sum-exp (which is also the exact float64
  reference); throughput in pairs (query x data point) per second, and the maximum error of
  each side's log-density, |err| / max(1, |log p|), on the first queries;
- sampling 10^6 points at d = 8 against scipy ``resample`` and scikit-learn ``sample``.

gensample runs on all cores unless --threads; the peers are single-threaded (scikit-learn
and KDEpy), or use what NumPy's BLAS gives them. The slow peers evaluate fewer queries;
ratios are per pair. Usage:

    python bench/bench_kde.py [--n 20000] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import numpy as np
from harness import Case, collect, run

import gensample as gs

CHECK = 400  # queries whose log-density is compared with the exact reference


def exact_logpdf(X, q, L):
    """float64 log-sum-exp with kernel covariance L L^T, chunked so that memory stays small:
    the reference. L may be a scalar h (L = h I)."""
    n, d = X.shape
    L = np.eye(d) * L if np.ndim(L) == 0 else np.asarray(L)
    Linv = np.linalg.inv(L)
    Z, Y = X @ Linv.T, np.asarray(q, np.float64) @ Linv.T
    out = np.empty(len(q))
    for a in range(0, len(q), 256):
        d2 = ((Y[a : a + 256, None, :] - Z[None, :, :]) ** 2).sum(-1)
        m = (-0.5 * d2).max(axis=1)
        out[a : a + 256] = m + np.log(np.exp(-0.5 * d2 - m[:, None]).sum(axis=1))
    return out - np.log(n) - 0.5 * d * np.log(2 * np.pi) - np.sum(np.log(np.diag(L)))


def error(values, exact) -> float:
    v = np.asarray(values, np.float64)[: len(exact)]
    with np.errstate(invalid="ignore"):
        return float(np.max(np.abs(v - exact) / np.maximum(1.0, np.abs(exact))))


def queries(X, m, h, rng):
    d = X.shape[1]
    near = X[rng.integers(0, len(X), m)] + h * rng.normal(size=(m, d))
    far_n = m // 10
    direction = rng.normal(size=(far_n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    far = direction * (np.linalg.norm(X, axis=1).max() + 30 * h)
    q = np.concatenate([near[: m - far_n], far])
    return q[rng.permutation(m)]


def density_cases(d, n, m, threads):
    from KDEpy import NaiveKDE, TreeKDE
    from scipy import stats
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(d)
    X = rng.normal(size=(n, d))
    scipy_kde = stats.gaussian_kde(X.T)  # Scott's rule, full covariance
    ours_scott = gs.KDE(bandwidth="scott").fit(X)  # the same H
    h = float(np.sqrt(scipy_kde.covariance[0, 0]))  # a scalar h of that size for the other peers
    q = queries(X, m, h, rng)
    q32 = q.astype(np.float32)
    exact = exact_logpdf(X, q[:CHECK], h)
    exact32 = exact_logpdf(X, q32[:CHECK], h)  # float32 inputs, float64 math
    exact_scott = exact_logpdf(X, q[:CHECK], scipy_kde.cho_cov)
    ours = gs.KDE(bandwidth=h).fit(X)
    small = max(CHECK, m // 10)  # slow peers evaluate these
    qs = q[:small]
    sk0 = KernelDensity(bandwidth=h, rtol=0).fit(X)
    sk4 = KernelDensity(bandwidth=h, rtol=1e-4).fit(X)
    naive, tree = NaiveKDE(bw=h).fit(X), TreeKDE(bw=h).fit(X)
    pairs, small_pairs = float(n) * m, float(n) * small
    gs64 = lambda: ours.logpdf(q, n_threads=threads)  # noqa: E731
    gs32 = lambda: ours.logpdf(q32, n_threads=threads)  # noqa: E731
    err64 = lambda: error(ours.logpdf(q[:CHECK]), exact)  # noqa: E731
    err32 = lambda: error(ours.logpdf(q32[:CHECK]), exact32)  # noqa: E731

    def with_errors(peer_err):
        return lambda: f"err: gs {err64():.1e}, gs32 {err32():.1e}, peer {peer_err():.1e}"

    def scott_errors(peer_err):
        return lambda: f"err: gs {error(ours_scott.logpdf(q[:CHECK]), exact_scott):.1e}, peer {peer_err():.1e}"

    def kdepy(model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.log(model.evaluate(qs))

    tag = f"d={d}"
    return [
        Case(
            f"logpdf f64 {tag} Scott H",
            lambda: ours_scott.logpdf(q, n_threads=threads),
            lambda: scipy_kde.logpdf(qs.T),
            "scipy gaussian_kde.logpdf",
            pairs,
            small_pairs,
            scott_errors(lambda: error(scipy_kde.logpdf(q[:CHECK].T), exact_scott)),
        ),
        Case(
            f"logpdf f32 {tag} Scott H",
            lambda: ours_scott.logpdf(q32, n_threads=threads),
            lambda: scipy_kde.logpdf(qs.T),
            "scipy gaussian_kde.logpdf",
            pairs,
            small_pairs,
        ),
        Case(
            f"logpdf f64 {tag} Scott H",
            lambda: ours_scott.logpdf(q, n_threads=threads),
            lambda: scipy_kde.evaluate(qs.T),
            "scipy gaussian_kde.evaluate",
            pairs,
            small_pairs,
            scott_errors(lambda: error(np.log(scipy_kde.evaluate(q[:CHECK].T)), exact_scott)),
        ),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: sk0.score_samples(qs),
            "sklearn KernelDensity rtol=0",
            pairs,
            small_pairs,
            with_errors(lambda: error(sk0.score_samples(q[:CHECK]), exact)),
        ),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: sk4.score_samples(qs),
            "sklearn KernelDensity rtol=1e-4",
            pairs,
            small_pairs,
            with_errors(lambda: error(sk4.score_samples(q[:CHECK]), exact)),
        ),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: kdepy(naive),
            "KDEpy NaiveKDE",
            pairs,
            small_pairs,
            with_errors(lambda: error(np.log(naive.evaluate(q[:CHECK])), exact)),
        ),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: kdepy(tree),
            "KDEpy TreeKDE",
            pairs,
            small_pairs,
            with_errors(lambda: error(np.log(tree.evaluate(q[:CHECK])), exact)),
        ),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: exact_logpdf(X, qs, h),
            "NumPy chunked logsumexp",
            pairs,
            small_pairs,
            with_errors(lambda: 0.0),
        ),
        Case(f"logpdf f32 {tag}", gs32, lambda: exact_logpdf(X, qs, h), "NumPy chunked logsumexp", pairs, small_pairs),
    ]


def sample_cases(n_samples, threads):
    from scipy import stats
    from sklearn.neighbors import KernelDensity

    X = np.random.default_rng(0).normal(size=(20000, 8))
    ours = gs.KDE().fit(X)
    scipy_kde = stats.gaussian_kde(X.T)
    sk = KernelDensity(bandwidth=0.5).fit(X)
    ours_iso = gs.KDE(bandwidth=0.5).fit(X)
    return [
        Case(
            "sample d=8 (Scott, full H)",
            lambda: ours.sample(n_samples, rng=0, n_threads=threads),
            lambda: scipy_kde.resample(n_samples, seed=0),
            "scipy gaussian_kde.resample",
            n_samples,
        ),
        Case(
            "sample d=8 (h = 0.5)",
            lambda: ours_iso.sample(n_samples, rng=0, n_threads=threads),
            lambda: sk.sample(n_samples, random_state=0),
            "sklearn KernelDensity.sample",
            n_samples,
        ),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="data points and queries")
    ap.add_argument("--samples", type=int, default=10**6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    cases = collect(
        partial(density_cases, 2, args.n, args.n, args.threads),
        partial(density_cases, 8, args.n, args.n, args.threads),
        partial(sample_cases, args.samples, args.threads),
    )
    run("kde", cases, repeats=args.repeats)


if __name__ == "__main__":
    main()
