"""Checked by mypy in CI, never run: the public API's annotations accept the calls users
write and reject wrong ones. Each expected rejection carries a ``type: ignore`` with its
code, and the check runs with ``--warn-unused-ignores``, so a rejection that stops being
one fails it.

    mypy --warn-unused-ignores tests/typing/public_api.py
"""

import numpy as np

import gensample as gs

X = np.random.default_rng(0).normal(size=(100, 2))
kde = gs.KDE(bandwidth="scott").fit(X)
draws: np.ndarray = kde.sample(10, rng=0, dtype=np.float32)
kde.sample(np.int64(10), rng=np.random.default_rng(1))
kde.logpdf([[0.0, 0.0]])
gmm = gs.GMM(2, rng=0).fit(X, weights=np.ones(100))
gmm.sample(5, rng=[1, 2])
gs.Box([0, 0], [1, 1]).sample(5, rng=np.random.SeedSequence(3))
gs.random.normal(5, 2, rng=0)

kde.sample("ten")  # type: ignore[arg-type]
kde.sample(10, rng="seed")  # type: ignore[arg-type]
gmm.logpdf(X, n_threads="all")  # type: ignore[arg-type]
gs.Box([0, 0], [1, 1]).sample(2.5)  # type: ignore[arg-type]
