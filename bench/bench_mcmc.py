"""Markov chains: gensample's MALA and HMC beside BlackJAX (jax.vmap on CPU) and emcee.

Targets: a 2-D ring of 8 Gaussians (radius 4, sd 0.5) and a 16-D mixture of 4 Gaussians
with full covariances. Both sides run the same algorithm at the same fixed step size (no
warm-up), float32, keeping only the last states; the figure is gradient evaluations per
second (HMC: 10 leapfrog steps per chain step). JAX's compile time is excluded (the
harness's warm-up call compiles) and reported in the note. emcee needs no gradients: its
row counts log-density evaluations. The notes give bulk ESS per second of coordinate 0
from a kept run of 1,000 chains (ArviZ's estimator, gensample.mcmc.diagnostics).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from harness import Case, collect, run

import gensample as gs


def ring() -> gs.GMM:
    ang = np.arange(8) * 2 * np.pi / 8
    return gs.GMM.from_parameters(np.full(8, 1 / 8), np.c_[4 * np.cos(ang), 4 * np.sin(ang)], [0.25 * np.eye(2)] * 8)


def mixture16() -> gs.GMM:
    rng = np.random.default_rng(3)
    covs = []
    for _ in range(4):
        a = rng.normal(size=(16, 16)) / 4
        covs.append(a @ a.T + 0.3 * np.eye(16))
    return gs.GMM.from_parameters([0.1, 0.2, 0.3, 0.4], rng.normal(scale=3.0, size=(4, 16)), covs)


def jax_logdensity(g: gs.GMM):
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    prec = np.linalg.inv(g.covariances_)
    logc = np.log(g.weights_) - 0.5 * np.linalg.slogdet(2 * np.pi * g.covariances_)[1]
    means, prec, logc = (jnp.asarray(a, jnp.float32) for a in (g.means_, prec, logc))

    def logdensity(x):
        r = x[None, :] - means
        return logsumexp(logc - 0.5 * jnp.einsum("ki,kij,kj->k", r, prec, r))

    return logdensity


def blackjax_runner(g: gs.GMM, method: str, n_chains: int, n_steps: int, step: float, keep: bool = False):
    import blackjax
    import jax
    import jax.numpy as jnp

    logdensity = jax_logdensity(g)
    if method == "mala":
        kernel = blackjax.mala(logdensity, step)
    else:
        kernel = blackjax.hmc(logdensity, step, jnp.ones(g.dim), num_integration_steps=10)
    x0 = jnp.asarray(np.random.default_rng(0).normal(size=(n_chains, g.dim)), jnp.float32)

    @jax.jit
    def go(key):
        states = jax.vmap(kernel.init)(x0)

        def body(states, key):
            states, info = jax.vmap(kernel.step)(jax.random.split(key, n_chains), states)
            return states, (states.position[:, 0] if keep else info.acceptance_rate.mean())

        states, out = jax.lax.scan(body, states, jax.random.split(key, n_steps))
        return states.position, out

    def call():
        pos, out = go(jax.random.key(0))
        pos.block_until_ready()
        return np.asarray(pos), np.asarray(out)

    return call


def chain_cases(name: str, g: gs.GMM, method: str, step: float, n_steps: int, chains: list[int]) -> list:
    import jax

    jax.config.update("jax_platforms", "cpu")
    evals_per_step = 10 if method == "hmc" else 1
    cases = []
    for n in chains:
        work = n * n_steps * evals_per_step

        def ours(n=n):
            return gs.mcmc.sample(g, n, n_steps, method=method, step_size=step, warmup=0, n_leapfrog=10,
                                  keep="last", rng=0, dtype=np.float32)  # fmt: skip

        peer = blackjax_runner(g, method, n, n_steps, step)
        t0 = time.perf_counter()
        peer()
        compile_s = time.perf_counter() - t0

        def note(n=n, compile_s=compile_s, peer=peer):
            a = float(ours().acceptance.mean())
            b = float(np.asarray(peer()[1]).mean())
            text = f"acceptance {a:.3f} (BlackJAX {b:.3f}); JAX compile + first run {compile_s:.1f} s"
            if n == chains[0]:
                text += "; " + ess_note(g, method, step, n_steps)
            return text

        cases.append(Case(f"{method} {name} {n} chains", ours, peer, f"BlackJAX {method} vmap", work, note=note))
    return cases


def ess_note(g: gs.GMM, method: str, step: float, n_steps: int) -> str:
    """Bulk ESS per second of coordinate 0 over 1,000 kept chains, each side timed once."""
    t0 = time.perf_counter()
    ours = gs.mcmc.sample(g, 1000, n_steps, method=method, step_size=step, warmup=0, n_leapfrog=10, rng=1,
                          dtype=np.float32)  # fmt: skip
    t_ours = time.perf_counter() - t0
    peer = blackjax_runner(g, method, 1000, n_steps, step, keep=True)
    peer()  # compile
    t0 = time.perf_counter()
    _, path = peer()
    t_peer = time.perf_counter() - t0
    evals = 1000 * n_steps * (10 if method == "hmc" else 1)
    ess_ours = gs.mcmc.diagnostics(ours.draws[:, :, :1])["ess_bulk"][0]
    ess_peer = gs.mcmc.diagnostics(np.asarray(path).T)["ess_bulk"][0]
    return (
        f"bulk ESS/s of x0 over 1,000 chains: {ess_ours / t_ours:.3g} (BlackJAX {ess_peer / t_peer:.3g}); "
        f"ESS per 1,000 gradient evaluations {1000 * ess_ours / evals:.3g} (BlackJAX {1000 * ess_peer / evals:.3g})"
    )


def emcee_cases(name: str, g: gs.GMM, n_steps: int, walkers: list[int]) -> list:
    import emcee

    cases = []
    for n in walkers:
        x0 = np.random.default_rng(0).normal(size=(n, g.dim))

        def peer(n=n, x0=x0):
            sampler = emcee.EnsembleSampler(n, g.dim, lambda x: g.logpdf(x, n_threads=1), vectorize=True)
            sampler.run_mcmc(x0, n_steps, progress=False, store=False)
            return sampler

        def ours(n=n):
            return gs.mcmc.sample(g, n, n_steps, method="mala", step_size=0.1, warmup=0, keep="last", rng=0)

        cases.append(
            Case(
                f"mala vs ensemble {name} {n} walkers",
                ours,
                peer,
                "emcee (log p evals, gensample's logpdf)",
                n * n_steps,
            )
        )
    return cases


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--steps", type=int, default=1000)
    args = p.parse_args()
    r, m16 = ring(), mixture16()
    cases = collect(
        lambda: chain_cases("ring 2-D", r, "mala", 0.15, args.steps, [1000, 10_000]),
        lambda: chain_cases("ring 2-D", r, "hmc", 0.15, args.steps // 10, [1000, 10_000]),
        lambda: chain_cases("mixture 16-D", m16, "mala", 0.05, args.steps, [1000, 10_000]),
        lambda: chain_cases("mixture 16-D", m16, "hmc", 0.1, args.steps // 10, [1000, 10_000]),
        lambda: emcee_cases("ring 2-D", r, args.steps // 10, [1000, 10_000]),
    )
    run("mcmc", cases, repeats=args.repeats)


if __name__ == "__main__":
    main()
