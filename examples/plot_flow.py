"""
A flow from N(0, I) to a mixture
================================

Particles start from ``N(0, I)`` at ``t = 0`` and follow the mixture's exact marginal
velocity on the linear path (``gs.fields.GaussianMixture``) to ``t = 1``, with RK4. The
flow's density at ``t = 1`` comes from the change of variables: integrate back with the
exact divergence.
"""

import matplotlib.pyplot as plt
import numpy as np

import gensample as gs

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
