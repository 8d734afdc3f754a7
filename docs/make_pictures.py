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
    samples = box.sample(3000, rng=2)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    ax.scatter(*samples.T, s=2, alpha=0.35, color="tab:orange", label="samples of p_model (Box.fit)")
    ax.scatter(*X.T, s=8, color="tab:blue", label="dataset (draws of p_data)")
    lo, hi = box.low, box.high
    ax.add_patch(plt.Rectangle(lo, *(hi - lo), fill=False, lw=1.5, color="black"))
    ax.set_title("The hello-world generative model: a box fitted around the data")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(HERE / "box.png")


def world_land():
    # Uniform by area on the sphere: no excess of points near the poles.
    land = gs.datasets.world_land()
    lonlat = land.sample(400_000, rng=0)
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    ax.scatter(*lonlat.T, s=0.05, alpha=0.4, color="tab:green", rasterized=True)
    ax.set(xlim=(-180, 180), ylim=(-90, 90), xlabel="longitude", ylabel="latitude")
    ax.set_title(f"400,000 points uniform by area on the world's land "
                 f"(index: {land.n_runs:,} runs of 30-arc-second cells)", fontsize=10)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(HERE / "world_land.png")


def hostage_scene_and_toys():
    scene = gs.datasets.hostage_scene()
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), dpi=110)
    x = scene.sample(60_000, rng=0)
    axes[0].scatter(*x.T, s=0.1, alpha=0.5, color="tab:purple", rasterized=True)
    axes[0].set_title("hostage scene: picture - figures", fontsize=9)
    for ax, name in zip(axes[1:], ("moons", "pinwheel", "checkerboard")):
        d = getattr(gs.datasets, name)()
        y = d.sample(30_000, rng=1)
        ax.scatter(*y.T, s=0.1, alpha=0.5, color="tab:blue", rasterized=True)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_aspect("equal")
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
    x0 = gs.random.normal(4000, 2, rng=0)
    times = np.linspace(0, 1, 41)
    states = flow.integrate(x0, times=times)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), dpi=110)
    ax = axes[0]
    for i in range(300):  # a few whole paths
        ax.plot(states[:, i, 0], states[:, i, 1], lw=0.4, alpha=0.5, color=plt.cm.viridis(i / 300))
    ax.scatter(*states[0, :300].T, s=3, color="black", label="t = 0: N(0, I)")
    ax.scatter(*states[-1, :300].T, s=3, color="tab:red", label="t = 1: the mixture")
    ax.set_title("Paths of 300 particles (RK4, 40 steps)")
    ax.legend(loc="upper right", fontsize=7)
    ax = axes[1]
    for t, color in zip((0.0, 0.5, 0.8, 1.0), ("black", "tab:blue", "tab:green", "tab:red")):
        ax.scatter(*states[int(round(t * 40))].T, s=1, alpha=0.4, color=color, label=f"t = {t:g}")
    ax.set_title("4,000 particles at four times")
    ax.legend(loc="upper right", fontsize=7, markerscale=6)
    for ax in axes:
        ax.set_aspect("equal")
        ax.set_xlim(-6.5, 6.5)
        ax.set_ylim(-6.5, 6.5)
    fig.tight_layout()
    fig.savefig(HERE / "flow.png")


if __name__ == "__main__":
    hello_world_box()
    world_land()
    hostage_scene_and_toys()
    flow_paths()
    print(f"wrote {HERE / 'box.png'}, world_land.png, regions.png")
