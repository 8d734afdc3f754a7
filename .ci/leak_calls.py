"""Every kernel, 20 times over, including their error paths: run by .ci/sanitize under
LeakSanitizer, which must find no leak allocated inside gensample (CPython and NumPy keep
some memory to the end by design; .ci/leaks.py tells those apart). Its last act writes the
file named by its argument, which .ci/sanitize checks: the leaks make the exit status
non-zero, so a failure of this script must show some other way."""

import sys
from pathlib import Path

import numpy as np

import gensample as gs

X = np.random.default_rng(0).normal(size=(300, 3))
g = gs.GMM.from_parameters([0.4, 0.6], [[0, 0, 0], [2, 1, 0]], np.stack([np.eye(3)] * 2))
steps = [[{"op": "layer_norm"}, {"op": "softplus"}], ["elu", "sigmoid"], []]
net = ([np.ones((8, 4)), np.ones((8, 8)), np.ones((3, 8))], [np.zeros(8), np.zeros(8), np.zeros(3)], steps)
for _ in range(20):
    gs.random.uniform(100, 3, rng=1)
    gs.random.normal(100, 2, rng=1)
    gs.random.integers(100, 7, rng=1)
    b = gs.Box([0, 0], [1, 1])
    b.sample(100, rng=0)
    b.contains(X[:, :2])
    s = gs.datasets.hostage_scene(64, 48)
    s.sample(100, rng=0)
    s.contains(X[:, :2] * 10)
    p = gs.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]])
    p.sample(100, rng=0)
    p.contains(X[:, :2])
    k = gs.KDE(0.3).fit(X)
    k.logpdf(X)
    k.sample(100, rng=0)
    k.grad_logpdf(X)
    g.logpdf(X)
    g.sample(100, rng=0)
    g.grad_logpdf(X)
    g.predict(X)
    gs.GMM(2, rng=0).fit(X)
    gs.Flow(gs.fields.GaussianMixture(g), steps=4).sample(100, rng=0)
    gs.Flow(gs.fields.GaussianMixture(g), solver="dopri5").logpdf(X[:20])
    gs.Flow(gs.fields.MLP(*net), steps=2).logpdf(X[:20])
    gs.Decoder(net, 4, noise=0.5).sample(100, rng=0)
    gs.Conditional(gs.GMM(1)).fit(X, np.arange(len(X)) % 2).sample(100, rng=0)
    try:
        gs._core.flow.forward({"layers": []}, np.ones((2, 2)), 1)
    except ValueError:
        pass
    gs.metrics.mmd(X, X + 1)
    gs.metrics.precision_recall(X, X + 1)
    gs.metrics.energy_distance(X, X)
    try:
        gs.random.uniform(-1)
    except ValueError:
        pass
    try:
        gs._core.random.fill_uniform(1, np.empty((4, 4))[:, ::2], 1)  # a binding's own error path
    except ValueError:
        pass
Path(sys.argv[1]).write_text("done\n")
