"""
Judging a model against data
============================

Three Gaussian mixtures fitted to the pinwheel, judged by their samples (MMD², k-NN
precision and recall) and by their density at the data (mean log-likelihood): too few
components miss the arms, enough of them cover the data without spilling outside it.
"""

import matplotlib.pyplot as plt

import gensample as gs

data = gs.datasets.pinwheel().sample(5000, rng=0)
fig, axes = plt.subplots(1, 3, figsize=(12, 4), dpi=110)
for ax, k in zip(axes, (2, 6, 24)):
    gmm = gs.GMM(k, rng=0).fit(data)
    fake = gmm.sample(5000, rng=1)
    precision, recall = gs.metrics.precision_recall(data, fake)
    gs.plot.density(gmm, extent=(-3.5, 3.5, -3.5, 3.5), resolution=200, ax=ax, cmap="Greys")
    gs.plot.scatter(data, n=2000, ax=ax, s=1, alpha=0.5, color="tab:orange")
    ax.set_title(
        f"GMM, {k} components: MMD² {gs.metrics.mmd(data, fake):.4f}\n"
        f"precision {precision:.2f}, recall {recall:.2f}, mean log p {gs.metrics.mean_logpdf(gmm, data):.2f}",
        fontsize=8,
    )
    ax.set_xticks([]), ax.set_yticks([])
fig.tight_layout()
