"""Pictures of samples and models (matplotlib, the ``plot`` extra).

>>> import matplotlib; matplotlib.use("Agg")
>>> import gensample as gs
>>> ax = gs.plot.scatter(gs.datasets.moons(), n=2000, rng=0)
>>> len(ax.collections)
1
"""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_int

__all__ = ["scatter"]


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(5, 5)).add_subplot()


def scatter(data, n=20_000, ax=None, rng=0, **kwargs):
    """A scatter plot of the first two columns of samples, or of ``n`` samples of a model.

    Point size and opacity fall with the number of points, so dense regions read as
    density rather than as a solid blot. ``kwargs`` go to ``Axes.scatter``. Returns the Axes.
    """
    from .distribution import Distribution

    n = check_positive_int(n, "n")
    x = data.sample(n, rng=rng) if isinstance(data, Distribution) else np.asarray(data)[:n]
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"samples must have shape (n, d), got {x.shape}")
    ax = _axes(ax)
    m = max(len(x), 1)
    kwargs.setdefault("s", float(np.clip(2e4 / m, 0.2, 12.0)))
    kwargs.setdefault("alpha", float(np.clip(3e3 / m, 0.05, 0.9)))
    kwargs.setdefault("linewidths", 0)
    y = x[:, 1] if x.shape[1] > 1 else np.zeros(len(x))
    ax.scatter(x[:, 0], y, **kwargs)
    ax.set_aspect("equal", adjustable="datalim")
    return ax
