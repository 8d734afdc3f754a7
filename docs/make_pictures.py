"""Makes the README's pictures (needs matplotlib: pip install matplotlib).

    python docs/make_pictures.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import gensample as gs

HERE = Path(__file__).parent


def hello_world_box():
    # p_data: a finite dataset; p_model: the box fitted around it, sampled uniformly.
    X = gs.random.normal(300, 2, rng=1) @ np.array([[1.0, 0.4], [0.0, 0.6]]) + [2.0, 1.0]
    box = gs.Box.fit(X, margin=0.05)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    gs.plot.region(box, ax=ax, color="0.9", alpha=1.0)
    gs.plot.scatter(box, n=3000, ax=ax, rng=2, s=2, alpha=0.35, color="tab:orange", label="samples of p_model (Box.fit)")
    gs.plot.scatter(X, ax=ax, s=8, alpha=1.0, color="tab:blue", label="dataset (draws of p_data)")
    ax.set_title("The hello-world generative model: a box fitted around the data")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "box.png")


def world_land():
    # Uniform by area on the sphere: no excess of points near the poles.
    land = gs.datasets.world_land()
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    gs.plot.world(land.sample(400_000, rng=0), ax=ax, s=0.05, alpha=0.4, rasterized=True)
    ax.set_title(f"400,000 points uniform by area on the world's land "
                 f"(index: {land.n_runs:,} runs of 30-arc-second cells)", fontsize=10)
    fig.tight_layout()
    fig.savefig(HERE / "world_land.png")


def hostage_scene_and_toys():
    scene = gs.datasets.hostage_scene()
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), dpi=110)
    gs.plot.scatter(scene, n=60_000, ax=axes[0], s=0.1, alpha=0.5, color="tab:purple", rasterized=True)
    axes[0].set_title("hostage scene: picture - figures", fontsize=9)
    for ax, name in zip(axes[1:], ("moons", "pinwheel", "checkerboard")):
        gs.plot.scatter(getattr(gs.datasets, name)(), n=30_000, ax=ax, rng=1, s=0.1, alpha=0.5, rasterized=True)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(HERE / "regions.png")


def flow_paths():
    # Particles carried from N(0, I) at t = 0 to an 8-component mixture at t = 1 along the
    # mixture's exact marginal velocity (gs.fields.GaussianMixture), RK4.
    k = 8
    angles = 2 * np.pi * np.arange(k) / k
    means = 4 * np.c_[np.cos(angles), np.sin(angles)]
    gmm = gs.GMM.from_parameters(np.full(k, 1 / k), means, np.stack([0.08 * np.eye(2)] * k))
    flow = gs.Flow(gs.fields.GaussianMixture(gmm), "rk4", steps=40)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), dpi=110)
    gs.plot.flow_paths(flow, n=300, steps=40, ax=axes[0])
    axes[0].set_title("Paths of 300 particles from N(0, I) (grey) to the mixture (RK4, 40 steps)", fontsize=8)
    gs.plot.density(flow, extent=(-6.5, 6.5, -6.5, 6.5), resolution=200, ax=axes[1])
    axes[1].set_title("The flow's density at t = 1 (logpdf by the change of variables)", fontsize=8)
    for ax in axes:
        ax.set_xlim(-6.5, 6.5)
        ax.set_ylim(-6.5, 6.5)
    fig.tight_layout()
    fig.savefig(HERE / "flow.png")


def judge():
    # A model judged against data: the density and samples of a fitted GMM beside the data,
    # and the numbers of gs.metrics.
    data = gs.datasets.pinwheel().sample(5000, rng=0)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), dpi=110)
    for ax, k in zip(axes, (2, 6, 24)):
        gmm = gs.GMM(k, rng=0).fit(data)
        fake = gmm.sample(5000, rng=1)
        p, r = gs.metrics.precision_recall(data, fake)
        gs.plot.density(gmm, extent=(-3.5, 3.5, -3.5, 3.5), resolution=200, ax=ax, cmap="Greys")
        gs.plot.scatter(data, n=2000, ax=ax, s=1, alpha=0.5, color="tab:orange")
        ax.set_title(f"GMM, {k} components: MMD² {gs.metrics.mmd(data, fake):.4f}\n"
                     f"precision {p:.2f}, recall {r:.2f}, mean log p {gs.metrics.mean_logpdf(gmm, data):.2f}",
                     fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(HERE / "judge.png")


if __name__ == "__main__":
    hello_world_box()
    world_land()
    hostage_scene_and_toys()
    flow_paths()
    judge()
    print(f"wrote {HERE / 'box.png'}, world_land.png, regions.png, flow.png, judge.png")
