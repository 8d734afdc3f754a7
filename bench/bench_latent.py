"""Linear latent models against scikit-learn, in one process.

gs.PPCA against sklearn.decomposition.PCA and gs.FactorAnalysis against
sklearn.decomposition.FactorAnalysis on the same data (n rows of a rank-q signal plus
noise in d dimensions): the fit, and the log-density of every row (``logpdf`` against
``score_samples``). PPCA is the same estimator (scikit-learn's variances divide by n - 1:
the note compares densities from PCA's own parameters). FactorAnalysis takes the same EM
steps as scikit-learn's with ``svd_method="lapack"``; its default, ``"randomized"``, is
timed too (what a user runs), and the notes give each one's largest log-density
difference from gensample's fit.

Usage:  python bench/bench_latent.py [--n 200000] [--threads T]
"""

from __future__ import annotations

import argparse

import numpy as np
from harness import Case, run
from sklearn.decomposition import PCA
from sklearn.decomposition import FactorAnalysis as SklearnFactorAnalysis

import gensample as gs


def data(n: int, d: int, q: int) -> np.ndarray:
    rng = np.random.default_rng(d)
    return rng.normal(size=(n, q)) @ rng.normal(size=(q, d)) + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.2, d)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    threads = args.threads or gs.get_num_threads()
    gs.set_num_threads(threads)
    n = args.n
    cases = []
    for d, q in ((16, 4), (64, 8)):
        X = data(n, d, q)
        tag = f"n={n:.0e} d={d} q={q}"
        ppca, pca = gs.PPCA(q).fit(X), PCA(q).fit(X)
        fa = gs.FactorAnalysis(q).fit(X)
        skfa = SklearnFactorAnalysis(q, svd_method="lapack").fit(X)
        skfa_default = SklearnFactorAnalysis(q).fit(X)
        W = pca.components_ * np.sqrt(pca.explained_variance_ - pca.noise_variance_)[:, None]
        same = gs.PPCA.from_parameters(pca.mean_, W, pca.noise_variance_)
        ppca_err = float(np.max(np.abs(same.logpdf(X[:10_000]) - pca.score_samples(X[:10_000]))))
        fa_err = float(np.max(np.abs(fa.logpdf(X[:10_000]) - skfa.score_samples(X[:10_000]))))
        default_err = float(np.max(np.abs(fa.logpdf(X[:10_000]) - skfa_default.score_samples(X[:10_000]))))
        iters = f"EM iterations: gensample {fa.n_iter_}, scikit-learn {skfa.n_iter_}; "
        iters += f"max |log p difference| {fa_err:.1e}"
        default_note = f"EM iterations {skfa_default.n_iter_}; max |log p difference| {default_err:.1e}"
        cases += [
            Case(f"PPCA fit {tag}", lambda X=X, q=q: gs.PPCA(q).fit(X), lambda X=X, q=q: PCA(q).fit(X), "PCA.fit", n),
            Case(
                f"PPCA logpdf {tag}",
                lambda X=X, m=ppca: m.logpdf(X),
                lambda X=X, m=pca: m.score_samples(X),
                "PCA.score_samples",
                n,
                note=lambda e=ppca_err: f"max |log p difference| from PCA's own parameters {e:.1e}",
            ),
            Case(
                f"FA fit {tag}",
                lambda X=X, q=q: gs.FactorAnalysis(q).fit(X),
                lambda X=X, q=q: SklearnFactorAnalysis(q, svd_method="lapack").fit(X),
                "FactorAnalysis.fit lapack",
                n,
                note=lambda s=iters: s,
            ),
            Case(
                f"FA fit {tag}",
                lambda X=X, q=q: gs.FactorAnalysis(q).fit(X),
                lambda X=X, q=q: SklearnFactorAnalysis(q).fit(X),
                "FactorAnalysis.fit randomized",
                n,
                note=lambda s=default_note: s,
            ),
            Case(
                f"FA logpdf {tag}",
                lambda X=X, m=fa: m.logpdf(X),
                lambda X=X, m=skfa: m.score_samples(X),
                "FactorAnalysis.score_samples",
                n,
            ),
        ]
    run("latent", cases, repeats=args.repeats)


if __name__ == "__main__":
    main()
