"""
KDE beside its peers
====================

The same Gaussian KDE in gensample, scipy and scikit-learn gives the same numbers (to
rounding, where scikit-learn's tree approximation holds); gensample's sums run on every
core, exactly, into the far tails, and its drop-in fronts take the peers' own arguments.
Timings here are this build machine's, in one run, for scale only (``bench/`` has the
measured tables).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import gaussian_kde as ScipyKDE
from sklearn.neighbors import KernelDensity as SklearnKDE

import gensample as gs
from gensample.compat.scipy import gaussian_kde

rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(-1.5, 0.4, (5_000, 2)), rng.normal([1.0, 0.5], 0.7, (5_000, 2))])
grid = np.stack(np.meshgrid(np.linspace(-3.5, 3.5, 80), np.linspace(-3, 3.5, 80)), axis=-1).reshape(-1, 2)

timings = {}
start = time.perf_counter()
ours = gaussian_kde(X.T).logpdf(grid.T)
timings["gensample.compat.scipy"] = time.perf_counter() - start
start = time.perf_counter()
theirs = ScipyKDE(X.T).logpdf(grid.T)
timings["scipy.stats.gaussian_kde"] = time.perf_counter() - start
start = time.perf_counter()
sk = SklearnKDE(bandwidth=0.3).fit(X).score_samples(grid)
timings["sklearn KernelDensity (h = 0.3)"] = time.perf_counter() - start
gsk = gs.KDE(bandwidth=0.3).fit(X).logpdf(grid)

print(f"gensample vs scipy: largest |log p difference| = {np.max(np.abs(ours - theirs)):.2e}")
bulk = sk > sk.max() - np.log(1e8)  # where the density is above 1e-8 of its peak
print(f"gs.KDE vs scikit-learn (h = 0.3), bulk: largest |log p difference| = {np.max(np.abs(gsk - sk)[bulk]):.2e}")
worst = int(np.argmax(np.abs(gsk - sk)))  # in the far tails, where the tree's bounds give way
d2 = ((grid[worst] - X) ** 2).sum(axis=1) / 0.3**2
exact = np.logaddexp.reduce(-0.5 * d2) - np.log(len(X)) - np.log(2 * np.pi * 0.3**2)  # plain NumPy sum
print(
    f"at the worst point (log p = {exact:.1f}): gs.KDE off by {abs(gsk[worst] - exact):.1e}, "
    f"scikit-learn by {abs(sk[worst] - exact):.1e}"
)
for name, seconds in timings.items():
    print(f"{name:34s} {seconds * 1e3:8.1f} ms")

fig, axes = plt.subplots(1, 2, figsize=(9, 4), dpi=110)
for ax, values, title in ((axes[0], ours, "gensample (scipy's interface)"), (axes[1], theirs, "scipy")):
    ax.imshow(np.exp(values).reshape(80, 80), origin="lower", extent=(-3.5, 3.5, -3, 3.5), cmap="Greys")
    ax.set_title(title, fontsize=9)
fig.tight_layout()
