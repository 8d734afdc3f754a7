"""
The hostage scene and the toy sets
==================================

Regions combine by set algebra: the hostage scene is a picture minus the figures in it,
sampled uniformly by rejection from its parts. The toy sets of the generative-modelling
literature (moons, pinwheel, checkerboard) come with exact densities.
"""

import matplotlib.pyplot as plt

import gensample as gs

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
