"""Latent models, decoders, networks and labels against scikit-learn and torch, in one process.

gs.PPCA against sklearn.decomposition.PCA and gs.FactorAnalysis against
sklearn.decomposition.FactorAnalysis on the same data (n rows of a rank-q signal plus
noise in d dimensions): the fit, and the log-density of every row (``logpdf`` against
``score_samples``). PPCA is the same estimator (scikit-learn's variances divide by n - 1:
the note compares densities from PCA's own parameters). FactorAnalysis takes the same EM
steps as scikit-learn's with ``svd_method="lapack"``; its default, ``"randomized"``, is
timed too (what a user runs), and the notes give each one's largest log-density
difference from gensample's fit.

The network engine (float32, the same threads as torch): the MLP velocity field (input
[x, t], hidden layers of SiLU) against the same torch module, and a decoder (latent 16 to
784 through 3 x 256, SiLU) against torch's forward; the notes give each side's GFLOP/s and
the machine's limit, torch's own 4096 x 4096 float32 product in the same process.
gs.Conditional with one full Gaussian per label against QuadraticDiscriminantAnalysis:
fit and predict_proba (the same probabilities from the same data).

Usage:  python bench/bench_latent.py [--n 200000] [--threads T]
"""

from __future__ import annotations

import argparse

import numpy as np
from harness import Case, collect, run
from sklearn.decomposition import PCA
from sklearn.decomposition import FactorAnalysis as SklearnFactorAnalysis

import gensample as gs


def data(n: int, d: int, q: int) -> np.ndarray:
    rng = np.random.default_rng(d)
    return rng.normal(size=(n, q)) @ rng.normal(size=(q, d)) + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.2, d)


def _gflops(flops: float, seconds: float) -> float:
    return flops / seconds / 1e9


def gemm_limit(torch) -> float:
    """GFLOP/s of torch's own large float32 product: the machine's practical limit."""
    import time

    a = torch.randn(4096, 4096)
    a @ a
    best = min(_timed(lambda: a @ a, time) for _ in range(3))
    return _gflops(2 * 4096**3, best)


def _timed(fn, time) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _sequential(torch, sizes, act, norm=False):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += ([torch.nn.LayerNorm(b)] if norm else []) + [act()]
    return torch.nn.Sequential(*layers).float().eval()


def network_cases(n: int, threads: int) -> list:
    import time

    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    limit = gemm_limit(torch)
    cases = []
    for width, depth, d in ((256, 3, 2), (512, 4, 16)):
        net = _sequential(torch, [d + 1] + [width] * depth + [d], torch.nn.SiLU)
        mlp = gs.fields.MLP.from_torch(net)
        flops_per_row = 2 * sum(m.in_features * m.out_features for m in net if isinstance(m, torch.nn.Linear))
        for rows in sorted({min(n, 10_000), min(n, 100_000)}):
            x = np.random.default_rng(0).normal(size=(rows, d)).astype(np.float32)
            xt = torch.from_numpy(np.concatenate([x, np.full((rows, 1), 0.5, np.float32)], axis=1))

            def peer(net=net, xt=xt):
                with torch.inference_mode():
                    return net(xt)

            def note(mlp=mlp, x=x, peer=peer, f=flops_per_row * rows):
                gs_s = min(_timed(lambda: mlp.velocity(0.5, x), time) for _ in range(3))
                torch_s = min(_timed(peer, time) for _ in range(3))
                err = float(np.abs(mlp.velocity(0.5, x) - peer().numpy()).max())
                return (
                    f"GFLOP/s: gensample {_gflops(f, gs_s):.0f}, torch {_gflops(f, torch_s):.0f}, "
                    f"limit (torch's 4096^2 product) {limit:.0f}; max |difference| {err:.1e}"
                )

            cases.append(
                Case(
                    f"MLP {depth}x{width} velocity n={rows:.0e} f32",
                    lambda mlp=mlp, x=x: mlp.velocity(0.5, x),
                    peer,
                    "torch nn.Sequential",
                    rows,
                    note=note,
                )
            )
    q, out = 16, 784
    for norm in (False, True):
        net = _sequential(torch, [q, 256, 256, 256, out], torch.nn.SiLU, norm=norm)
        dec = gs.Decoder(net, q)
        tag = "+LayerNorm" if norm else ""
        rows = min(n, 100_000)
        z = gs.random.normal(rows, q, rng=0, dtype=np.float32)
        zt = torch.from_numpy(z)

        def peer(net=net, zt=zt):
            with torch.inference_mode():
                return net(zt)

        def sample_peer(net=net, rows=rows):
            with torch.inference_mode():
                return net(torch.randn(rows, q))

        f = rows * 2 * (q * 256 + 2 * 256 * 256 + 256 * out)
        err = float(np.abs(dec.decode(z) - peer().numpy()).max())
        cases += [
            Case(
                f"Decoder{tag} decode n={rows:.0e} f32",
                lambda dec=dec, z=z: dec.decode(z),
                peer,
                "torch nn.Sequential",
                rows,
                note=lambda f=f, err=err: (
                    f"{f / 1e9:.1f} GFLOP a call; limit {limit:.0f} GFLOP/s; max |difference| {err:.1e}"
                ),
            ),
            Case(
                f"Decoder{tag} sample n={rows:.0e} f32",
                lambda dec=dec, rows=rows: dec.sample(rows, rng=0, dtype=np.float32),
                sample_peer,
                "torch randn + forward",
                rows,
            ),
        ]
    return cases


def conditional_cases(n: int) -> list:
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    rng = np.random.default_rng(5)
    k, d = 10, 16
    means = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(k, size=n)
    mixing = np.linalg.qr(rng.normal(size=(d, d)))[0] * rng.uniform(0.3, 1.0, d)  # well conditioned
    X = means[y] + rng.normal(size=(n, d)) @ mixing
    cond = gs.Conditional(gs.GMM(1, reg_covar=0.0)).fit(X, y)
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, y)
    err = float(np.abs(cond.predict_proba(X[:10_000]) - qda.predict_proba(X[:10_000])).max())
    tag = f"n={n:.0e} d={d} K={k}"
    return [
        Case(
            f"Conditional fit {tag}",
            lambda: gs.Conditional(gs.GMM(1, reg_covar=0.0)).fit(X, y),
            lambda: QuadraticDiscriminantAnalysis().fit(X, y),
            "QuadraticDiscriminantAnalysis",
            n,
        ),
        Case(
            f"Conditional predict_proba {tag}",
            lambda: cond.predict_proba(X),
            lambda: qda.predict_proba(X),
            "QuadraticDiscriminantAnalysis",
            n,
            note=lambda: f"max |probability difference| {err:.1e} (the same fit)",
        ),
    ]


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
    cases += collect(lambda: conditional_cases(n), lambda: network_cases(n, threads))
    run("latent", cases, repeats=args.repeats)


if __name__ == "__main__":
    main()
