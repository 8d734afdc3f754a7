"""Flow sampling against the integrators a user would reach for, in one process.

10^5 particles in 2-D carried from N(0, I) to an 8-component Gaussian mixture along its
exact marginal velocity (linear path): gensample's C++ field and solvers against
torchdiffeq ``odeint`` and Meta's flow_matching ``ODESolver`` (which calls torchdiffeq)
with the same field written in torch (float64 and float32), and a NumPy RK4 with the
field written in NumPy (gensample's reference twin). RK4 with 25 steps and Euler with 100,
so every side makes the same number of field evaluations (100 per particle). Throughput is
in particle-evaluations per second; "ns/eval/core" is gensample's time per evaluation
times its thread count. Error: max |x1 - x1_ref| over the particles against gensample
RK4 with 2,000 float64 steps (its twin in reference/flow.py is tested to 1e-11).

dopri5 at rtol = atol = 1e-5: gensample steps each particle on its own (scipy's RK45
rule), torchdiffeq steps the batch with one size; throughput in particles per second, with
the field evaluations per particle and the error of each side.

The MLP field (input [x, t], 3 hidden layers of 256, SiLU, float32): gensample's C++
network against the same torch module on the same weights, RK4 with 25 steps through
torchdiffeq, on n / 10 particles; error against gensample RK4 with 200 float64 steps.

torch runs with the same thread count as gensample. Usage:

    python bench/bench_flows.py [--n 100000] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
from functools import partial

import numpy as np
from harness import Case, collect, optional, run

import gensample as gs
from gensample.reference import flow as ref


def mixture(rng):
    k, d = 8, 2
    angles = 2 * np.pi * np.arange(k) / k
    means = 4 * np.c_[np.cos(angles), np.sin(angles)]
    A = rng.normal(size=(k, d, d)) * 0.3
    cov = A @ np.swapaxes(A, 1, 2) + 0.05 * np.eye(d)
    w = rng.uniform(0.5, 1, k)
    return gs.GMM.from_parameters(w / w.sum(), means, cov)


def torch_field(field: gs.fields.GaussianMixture, dtype):
    """u_t(x) of the mixture in torch: the same formula as flow.hpp, batched over particles."""
    import torch

    w, mu, sigma = (torch.as_tensor(a, dtype=dtype) for a in field._args())
    eye = torch.eye(field.dim, dtype=dtype)
    log_w = torch.log(w)

    def velocity(t, x):
        t = torch.as_tensor(t, dtype=dtype)
        S = t * t * sigma + (1 - t) ** 2 * eye
        S_inv = torch.linalg.inv(S)
        B = (t * sigma - (1 - t) * eye) @ S_inv
        r = x[:, None, :] - t * mu[None]
        maha = torch.einsum("nki,kij,nkj->nk", r, S_inv, r)
        logits = log_w - 0.5 * torch.logdet(S) - 0.5 * maha
        post = torch.softmax(logits, dim=1)
        uk = mu[None] + torch.einsum("kij,nkj->nki", B, r)
        return torch.einsum("nk,nki->ni", post, uk)

    return velocity


def cases(n, threads):
    import torch
    from flow_matching.solver import ODESolver
    from flow_matching.utils import ModelWrapper
    from torchdiffeq import odeint

    g = mixture(np.random.default_rng(0))
    field = gs.fields.GaussianMixture(g)
    x0 = gs.random.normal(n, 2, rng=1)
    x0_32 = x0.astype(np.float32)
    exact = gs.Flow(field, "rk4", 2000).integrate(x0)
    err = lambda x: f"{np.abs(np.asarray(x, np.float64) - exact).max():.1e}"  # noqa: E731
    out = {}

    def gensample(solver, steps, x):
        flow = gs.Flow(field, solver, steps)

        def go():
            out["gs"] = flow.integrate(x, n_threads=threads)
            return out["gs"]

        return go

    def tdq(method, steps, dtype):
        u = torch_field(field, dtype)
        start = torch.as_tensor(x0, dtype=dtype)

        def go():
            with torch.no_grad():
                out["peer"] = odeint(
                    u, start, torch.tensor([0.0, 1.0], dtype=dtype), method=method, options={"step_size": 1.0 / steps}
                )[-1].numpy()
            return out["peer"]

        return go

    def fm(method, steps, dtype):
        u = torch_field(field, dtype)

        class Velocity(ModelWrapper):
            def forward(self, x, t, **extras):
                return u(t, x)

        solver = ODESolver(velocity_model=Velocity(torch.nn.Identity()))
        start = torch.as_tensor(x0, dtype=dtype)

        def go():
            with torch.no_grad():
                out["peer"] = solver.sample(
                    start, step_size=1.0 / steps, method=method, time_grid=torch.tensor([0.0, 1.0], dtype=dtype)
                ).numpy()
            return out["peer"]

        return go

    def numpy_rk4(steps):
        grid = np.linspace(0, 1, steps + 1)
        small = x0[: max(1, n // 10)]

        def go():
            out["peer"], _ = ref.integrate(
                lambda t, x: (ref.mixture_velocity(*field._args(), t, x), 0.0), "rk4", grid, small
            )
            return out["peer"]

        return go, len(small)

    def note():
        def f():
            peer = out["peer"]
            rows = slice(0, len(peer))
            return f"err: gs {err(out['gs'])}, peer {np.abs(peer - exact[rows]).max():.1e}"

        return f

    def counted(u):
        calls = [0]

        def f(t, x):
            calls[0] += 1
            return u(t, x)

        return f, calls

    def gs_dopri5():
        flow = gs.Flow(field, "dopri5", rtol=1e-5, atol=1e-5)

        def go():
            out["gs"] = flow.integrate(x0, n_threads=threads)
            out["gs_evals"] = flow.stats_.evaluations / n
            return out["gs"]

        return go

    def tdq_dopri5():
        u, calls = counted(torch_field(field, torch.float64))
        start = torch.as_tensor(x0, dtype=torch.float64)

        def go():
            calls[0] = 0
            with torch.no_grad():
                out["peer"] = odeint(
                    u, start, torch.tensor([0.0, 1.0], dtype=torch.float64), method="dopri5", rtol=1e-5, atol=1e-5
                )[-1].numpy()
            out["peer_evals"] = calls[0]
            return out["peer"]

        return go

    def dopri5_note():
        return (
            f"evals/particle: gs {out['gs_evals']:.1f}, peer {out['peer_evals']}; "
            f"err: gs {err(out['gs'])}, peer {err(out['peer'])}"
        )

    # The MLP: one torch module, its weights copied into gs.fields.MLP.
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 256),
        torch.nn.SiLU(),
        torch.nn.Linear(256, 256),
        torch.nn.SiLU(),
        torch.nn.Linear(256, 256),
        torch.nn.SiLU(),
        torch.nn.Linear(256, 2),
    )
    mlp = gs.fields.MLP.from_torch(net)
    n_mlp = max(1, n // 10)
    m0 = x0[:n_mlp]
    mlp_exact = gs.Flow(mlp, "rk4", 200).integrate(m0)

    def gs_mlp():
        flow = gs.Flow(mlp, "rk4", 25)
        small = m0.astype(np.float32)

        def go():
            out["gs"] = flow.integrate(small, n_threads=threads)
            return out["gs"]

        return go

    def torch_mlp():
        start = torch.as_tensor(m0, dtype=torch.float32)

        def u(t, x):
            return net(torch.cat([x, t.expand(len(x), 1)], dim=1))

        def go():
            with torch.no_grad():
                out["peer"] = odeint(u, start, torch.tensor([0.0, 1.0]), method="rk4", options={"step_size": 1.0 / 25})[
                    -1
                ].numpy()
            return out["peer"]

        return go

    def mlp_note():
        e = lambda x: f"{np.abs(np.asarray(x, np.float64) - mlp_exact).max():.1e}"  # noqa: E731
        return f"err: gs {e(out['gs'])}, peer {e(out['peer'])}"

    evals = float(n) * 100
    np_go, np_n = numpy_rk4(25)
    return [
        Case(
            "dopri5 1e-5 f64 (particles)",
            gs_dopri5(),
            tdq_dopri5(),
            "torchdiffeq dopri5 f64",
            float(n),
            note=dopri5_note,
        ),
        Case(
            "MLP 3x256 rk4 25 f32",
            gs_mlp(),
            torch_mlp(),
            "torch + torchdiffeq rk4 f32",
            float(n_mlp) * 100,
            note=mlp_note,
        ),
        Case(
            "rk4 25 steps f64",
            gensample("rk4", 25, x0),
            tdq("rk4", 25, torch.float64),
            "torchdiffeq odeint f64",
            evals,
            note=note(),
        ),
        Case(
            "rk4 25 steps f32",
            gensample("rk4", 25, x0_32),
            tdq("rk4", 25, torch.float32),
            "torchdiffeq odeint f32",
            evals,
            note=note(),
        ),
        Case(
            "rk4 25 steps f64",
            gensample("rk4", 25, x0),
            fm("rk4", 25, torch.float64),
            "flow_matching ODESolver f64",
            evals,
            note=note(),
        ),
        Case(
            "euler 100 steps f64",
            gensample("euler", 100, x0),
            tdq("euler", 100, torch.float64),
            "torchdiffeq odeint f64",
            evals,
            note=note(),
        ),
        Case(
            "euler 100 steps f32",
            gensample("euler", 100, x0_32),
            fm("euler", 100, torch.float32),
            "flow_matching ODESolver f32",
            evals,
            note=note(),
        ),
        Case(
            "rk4 25 steps f64",
            gensample("rk4", 25, x0),
            np_go,
            "NumPy RK4 (reference twin)",
            evals,
            float(np_n) * 100,
            note=note(),
        ),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="particles")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    gs.set_num_threads(args.threads)
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(gs.get_num_threads())
    result = run("flows", collect(partial(cases, args.n, args.threads)), repeats=args.repeats)
    threads = result["machine"]["gensample_threads"]
    for row in result["results"]:
        if "particles" in row["case"]:
            continue
        print(
            f"{row['case']:<22} vs {row['peer']:<30} gensample {1e9 * threads / row['gensample_items_per_s']:.1f} "
            f"ns/eval/core, peer {1e9 * threads / row['peer_items_per_s']:.1f}"
        )


if __name__ == "__main__":
    main()
