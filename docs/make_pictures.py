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


if __name__ == "__main__":
    hello_world_box()
    print(f"wrote {HERE / 'box.png'}")
