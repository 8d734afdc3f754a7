"""
The hello-world generative model: a box around the data
=======================================================

``p_data`` is known only through a finite dataset; the simplest ``p_model`` is the uniform
distribution over the smallest box that holds it (with a margin). Sampling it is one call,
and row ``i`` of the sample is the same whatever else is drawn.
"""

import matplotlib.pyplot as plt
import numpy as np

import gensample as gs

X = gs.random.normal(300, 2, rng=1) @ np.array([[1.0, 0.4], [0.0, 0.6]]) + [2.0, 1.0]
box = gs.Box.fit(X, margin=0.05)
print(box, "area", box.volume)

fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
gs.plot.region(box, ax=ax, color="0.9", alpha=1.0)
gs.plot.scatter(box, n=3000, ax=ax, rng=2, s=2, alpha=0.35, color="tab:orange", label="samples of p_model (Box.fit)")
gs.plot.scatter(X, ax=ax, s=8, alpha=1.0, color="tab:blue", label="dataset (draws of p_data)")
ax.set_title("The hello-world generative model: a box fitted around the data")
ax.legend(loc="upper left", fontsize=8)
fig.tight_layout()
