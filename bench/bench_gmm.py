"""Gaussian mixtures against the peers a user would reach for, in one process.

- log-density (``score_samples``) of N points under K = 64 full-covariance components,
  d = 2 and d = 16: gensample float64 and float32 against scikit-learn
  ``GaussianMixture.score_samples``, torch ``MixtureSameFamily.log_prob`` (float64, in
  chunks so that its (n, K, d) temporaries fit) and a one-GEMM NumPy version (all K
  whitening factors stacked in one matrix, chunked); throughput in point x component
  pairs per second, and each side's maximum error against the plain NumPy reference,
  |err| / max(1, |log p|); ``predict_proba`` beside scikit-learn's on a tenth of the points;
- EM: K = 16 on 2e5 points, d = 2 and d = 16, both started from the same parameters
  (scikit-learn's after 2 iterations) and run a fixed number of iterations (tol = 0): time
  per iteration, and the mean log-likelihood each reaches;
- sampling 10^6 points, K = 16, d = 16, against scikit-learn ``sample`` and torch
  ``MixtureSameFamily.sample`` (on a tenth: it draws from every component, then picks).

gensample runs on all cores unless --threads; scikit-learn's E-step is NumPy (single
core, with BLAS on all cores for its products); torch gets the same thread count as
gensample. The slow peers evaluate a tenth of the points; ratios are per item. Usage:

    python bench/bench_gmm.py [--n 1000000] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import numpy as np
from harness import Case, collect, optional, run

import gensample as gs
from gensample.reference import gmm as ref

CHECK = 2000  # points whose log-density is compared with the reference


def random_mixture(k, d, rng):
    means = rng.normal(size=(k, d)) * 3
    A = rng.normal(size=(k, d, d)) * 0.3
    cov = A @ np.swapaxes(A, 1, 2) + np.eye(d)
    w = rng.uniform(0.5, 1, k)
    return w / w.sum(), means, cov


def error(values, exact) -> float:
    v = np.asarray(values, np.float64)[: len(exact)]
    return float(np.max(np.abs(v - exact) / np.maximum(1.0, np.abs(exact))))


def gemm_logpdf(g: gs.GMM, x, chunk=4096):
    """log p(x) with one GEMM per chunk: y = x W^T - b for all K whitening factors at once."""
    k, d = g.means_.shape
    W = g._factors.reshape(k * d, d)  # rows: A_k
    b = np.einsum("kij,kj->ki", g._factors, g.means_).reshape(k * d)
    out = np.empty(len(x))
    for a in range(0, len(x), chunk):
        y = (x[a : a + chunk] @ W.T - b).reshape(-1, k, d)
        logp = g._log_coef - 0.5 * np.einsum("nki,nki->nk", y, y)
        m = logp.max(axis=1)
        out[a : a + chunk] = m + np.log(np.exp(logp - m[:, None]).sum(axis=1))
    return out


def torch_mixture(g: gs.GMM):
    import torch
    from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

    return MixtureSameFamily(
        Categorical(probs=torch.from_numpy(g.weights_)),
        MultivariateNormal(torch.from_numpy(g.means_), scale_tril=torch.from_numpy(g._chol)),
    )


def torch_logpdf(mix, x, chunk=16384):
    import torch

    with torch.no_grad():
        return torch.cat([mix.log_prob(torch.from_numpy(x[a : a + chunk])) for a in range(0, len(x), chunk)]).numpy()


def sklearn_mixture(g: gs.GMM):
    from sklearn.mixture import GaussianMixture

    sk = GaussianMixture(g.n_components, covariance_type="full")
    sk.weights_, sk.means_, sk.covariances_ = g.weights_, g.means_, g.covariances_
    sk.precisions_cholesky_ = g.precisions_cholesky_
    sk.precisions_ = g.precisions_
    return sk


def density_cases(d, n, threads):
    rng = np.random.default_rng(d)
    k = 64
    g = gs.GMM.from_parameters(*random_mixture(k, d, rng))
    x = g.sample(n, rng=1) + rng.normal(size=(n, d))  # around the components, and some tails
    x32 = x.astype(np.float32)
    small = x[: max(CHECK, n // 10)]
    exact = ref.log_density(*(g._log_coef, g.means_, g._factors), x[:CHECK])
    exact_resp = np.exp(ref.log_responsibilities(*(g._log_coef, g.means_, g._factors), x[:CHECK]))
    sk, mix = sklearn_mixture(g), torch_mixture(g)
    pairs, small_pairs = float(n) * k, float(len(small)) * k
    gs64 = lambda: g.logpdf(x, n_threads=threads)  # noqa: E731
    gs32 = lambda: g.logpdf(x32, n_threads=threads)  # noqa: E731

    def errors(peer):
        return lambda: (
            f"err: gs {error(g.logpdf(x[:CHECK]), exact):.1e}, "
            f"gs32 {error(g.logpdf(x32[:CHECK]), exact):.1e}, peer {error(peer(x[:CHECK]), exact):.1e}"
        )

    tag = f"d={d} K={k}"
    return [
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: sk.score_samples(small),
            "sklearn score_samples",
            pairs,
            small_pairs,
            errors(sk.score_samples),
        ),
        Case(f"logpdf f32 {tag}", gs32, lambda: sk.score_samples(small), "sklearn score_samples", pairs, small_pairs),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: torch_logpdf(mix, small),
            "torch MixtureSameFamily",
            pairs,
            small_pairs,
            errors(lambda q: torch_logpdf(mix, q)),
        ),
        Case(
            f"logpdf f64 {tag}",
            gs64,
            lambda: gemm_logpdf(g, small),
            "NumPy one-GEMM",
            pairs,
            small_pairs,
            errors(lambda q: gemm_logpdf(g, q)),
        ),
        Case(f"logpdf f32 {tag}", gs32, lambda: gemm_logpdf(g, small), "NumPy one-GEMM", pairs, small_pairs),
        # both sides on the tenth: the (n, K) output of 10^6 points would be 512 MB
        Case(
            f"predict_proba f64 {tag}",
            lambda: g.predict_proba(small, n_threads=threads),
            lambda: sk.predict_proba(small),
            "sklearn predict_proba",
            small_pairs,
            small_pairs,
            lambda: (
                f"max |p - exact|: gs {np.abs(g.predict_proba(x[:CHECK]) - exact_resp).max():.1e}, "
                f"peer {np.abs(sk.predict_proba(x[:CHECK]) - exact_resp).max():.1e}"
            ),
        ),
    ]


def em_cases(d, n, iterations):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    from gensample.compat.sklearn import GaussianMixture as GsGaussianMixture

    rng = np.random.default_rng(100 + d)
    truth = gs.GMM.from_parameters(*random_mixture(16, d, rng))
    X = truth.sample(n, rng=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = GaussianMixture(16, max_iter=2, random_state=0).fit(X)
    kw = dict(
        weights_init=start.weights_,
        means_init=start.means_,
        precisions_init=start.precisions_,
        init_params="random_from_data",
        tol=0.0,
        max_iter=iterations,
    )  # the init is overridden
    fitted = {}

    def fit(cls, name):
        def go():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted[name] = cls(16, **kw).fit(X)
            return fitted[name]

        return go

    return [
        Case(
            f"EM iteration d={d} K=16 n={n:.0e}",
            fit(GsGaussianMixture, "gs"),
            fit(GaussianMixture, "sk"),
            "sklearn GaussianMixture",
            iterations,
            note=lambda: (
                f"{iterations} its; mean log-lik gs {fitted['gs'].lower_bound_:.12f}, "
                f"peer {fitted['sk'].lower_bound_:.12f}"
            ),
        )
    ]


def sample_cases(n_samples, threads):
    import torch

    g = gs.GMM.from_parameters(*random_mixture(16, 16, np.random.default_rng(7)))
    sk, mix = sklearn_mixture(g), torch_mixture(g)
    sk.random_state = 0

    few = max(1, n_samples // 10)  # torch draws from all K components, then picks: (n, K, d) in memory

    def torch_sample():
        with torch.no_grad():
            return mix.sample((few,)).numpy()

    gs_sample = lambda: g.sample(n_samples, rng=0, n_threads=threads)  # noqa: E731
    return [
        Case("sample d=16 K=16", gs_sample, lambda: sk.sample(n_samples), "sklearn GaussianMixture.sample", n_samples),
        Case("sample d=16 K=16", gs_sample, torch_sample, "torch MixtureSameFamily.sample", n_samples, few),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10**6, help="points to evaluate")
    ap.add_argument("--fit-n", type=int, default=200_000, help="points to fit")
    ap.add_argument("--iterations", type=int, default=10, help="EM iterations per fit")
    ap.add_argument("--samples", type=int, default=10**6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    gs.set_num_threads(args.threads)  # the compat fit uses the default
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(gs.get_num_threads())
    cases = collect(
        partial(density_cases, 2, args.n, args.threads),
        partial(density_cases, 16, args.n, args.threads),
        partial(em_cases, 2, args.fit_n, args.iterations),
        partial(em_cases, 16, args.fit_n, args.iterations),
        partial(sample_cases, args.samples, args.threads),
    )
    run("gmm", cases, repeats=args.repeats)


if __name__ == "__main__":
    main()
