"""
Flowers by species: p(x | y), sampling on request, and a generative classifier
================================================================================

One Gaussian per species of scikit-learn's iris (``gs.Conditional(gs.GMM(1))``, the model
of quadratic discriminant analysis) is three things at once: a sampler of a species on
request, the marginal ``p(x)`` whose samples carry their labels, and a classifier by
Bayes, ``p(y | x) ∝ p(y) p(x | y)``. Here it classifies held-out flowers beside a
discriminative classifier, and samples 1,000 of one species.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import gensample as gs

iris = load_iris()
names = iris.target_names[iris.target]
X_train, X_test, y_train, y_test = train_test_split(iris.data, names, test_size=0.4, random_state=0, stratify=names)

species = gs.Conditional(gs.GMM(1)).fit(X_train, y_train)
generative = species.score(X_test, y_test)
discriminative = LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test)
print(
    f"held-out accuracy: generative (one Gaussian per species) {generative:.3f}, "
    f"logistic regression {discriminative:.3f}"
)

virginica = species.sample(1000, y="virginica", rng=0)  # 1,000 flowers of one species
flowers, labels = species.sample(3000, rng=1)  # species drawn from p(y), beside the rows

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharex=True, sharey=True)
colors = dict(zip(iris.target_names, ("tab:blue", "tab:orange", "tab:green")))
for name in iris.target_names:
    rows = names == name
    axes[0].scatter(iris.data[rows, 2], iris.data[rows, 3], s=8, color=colors[name], label=name)
    rows = labels == name
    axes[1].scatter(flowers[rows, 2], flowers[rows, 3], s=2, alpha=0.4, color=colors[name], label=name)
axes[0].set_title("iris: petal length and width by species", fontsize=9)
axes[1].set_title(
    f"3,000 draws of p(x) with their labels\nheld-out accuracy {generative:.2f} (logistic regression "
    f"{discriminative:.2f})",
    fontsize=9,
)
for ax in axes:
    ax.set_xlabel("petal length (cm)")
axes[0].set_ylabel("petal width (cm)")
axes[0].legend(fontsize=8, markerscale=2)
fig.tight_layout()

# %%
# The posterior of a flower between two species, and a label for it:
between = [[6.0, 2.8, 4.9, 1.6]]
print(
    dict(zip(species.classes_.tolist(), species.predict_proba(between)[0].round(3).tolist())), species.predict(between)
)
