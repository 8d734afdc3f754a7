"""gs.Conditional: per-label models against scikit-learn's QDA and GaussianNB (the same
posterior probabilities from the same parameters), samples per label checked statistically,
rows pure functions of (seed, row) with their labels, model files, and bad input."""

import os
import pickle

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.naive_bayes import GaussianNB

import gensample as gs
from gensample import _core
from gensample.conditional import BLOCK


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _gaussians(means, covariances, covariance):
    return [gs.GMM.from_parameters([1.0], [m], [c], covariance=covariance) for m, c in zip(means, covariances)]


def test_per_class_gaussians_give_qdas_probabilities(iris):
    X, y = iris
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, y)
    models = _gaussians(qda.means_, qda.covariance_, "full")
    cond = gs.Conditional.from_models(dict(zip(qda.classes_, models)), priors=qda.priors_)
    np.testing.assert_allclose(cond.predict_proba(X), qda.predict_proba(X), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(cond.predict_log_proba(X[:20]), qda.predict_log_proba(X[:20]), rtol=1e-10)
    assert (cond.predict(X) == qda.predict(X)).all()


def test_fitted_gaussians_are_qdas(iris):
    """gs.GMM(1) and scikit-learn's QDA both fit each covariance by maximum likelihood."""
    X, y = iris
    cond = gs.Conditional(gs.GMM(1, reg_covar=0.0)).fit(X, y)
    qda = QuadraticDiscriminantAnalysis(store_covariance=True).fit(X, y)
    for k, m in enumerate(cond.models_):
        np.testing.assert_allclose(m.covariances_[0], qda.covariance_[k], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(m.means_[0], qda.means_[k], rtol=1e-13)
    np.testing.assert_allclose(cond.class_prior_, qda.priors_, rtol=1e-15)
    np.testing.assert_allclose(cond.predict_proba(X), qda.predict_proba(X), rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(cond.class_count_, [50, 50, 50])


def test_diagonal_gaussians_give_gaussian_nbs_probabilities(iris):
    X, y = iris
    nb = GaussianNB().fit(X, y)
    models = _gaussians(nb.theta_, nb.var_, "diag")
    cond = gs.Conditional.from_models(dict(zip(nb.classes_, models)), priors=nb.class_prior_)
    np.testing.assert_allclose(cond.predict_proba(X), nb.predict_proba(X), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(cond.joint_log_likelihood(X), nb.predict_joint_log_proba(X), rtol=1e-12)


def test_marginal_logpdf_is_the_prior_weighted_mixture(iris):
    X, y = iris
    cond = gs.Conditional(gs.KDE()).fit(X, y)
    by_hand = np.log(sum(p * np.exp(m.logpdf(X)) for p, m in zip(cond.class_prior_, cond.models_)))
    np.testing.assert_allclose(cond.logpdf(X), by_hand, rtol=1e-12)
    np.testing.assert_allclose(cond.logpdf(X, y=y), [cond.models_[k].logpdf(x[None])[0] for x, k in zip(X, y)])
    np.testing.assert_allclose(cond.logpdf(X[:5], y=1), cond.given(1).logpdf(X[:5]))


def test_labels_are_drawn_from_the_prior():
    """Counts of 3e5 drawn labels against the prior: chi-square at significance 1e-4 (the
    seed is fixed, so this either always passes or always fails)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    cond = gs.Conditional(gs.Box, priors=[0.5, 0.3, 0.2]).fit(X, np.repeat([0, 1, 2], 20))
    n = 300_000
    _, labels = cond.sample(n, rng=7)
    counts = np.bincount(labels, minlength=3)
    assert stats.chisquare(counts, n * cond.class_prior_).pvalue > 1e-4


def test_each_labels_rows_follow_its_model():
    """Rows labelled k are draws of p(x | k): a two-sample KS test per coordinate against
    the label's own model (significance 1e-4), and the model's mean within 5 standard errors."""
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(-3, 1, (400, 2)), rng.normal(3, 0.5, (200, 2))])
    cond = gs.Conditional(gs.GMM(2)).fit(X, np.repeat(["a", "b"], [400, 200]))
    x, labels = cond.sample(60_000, rng=3)
    for k, label in enumerate(cond.classes_):
        rows = x[labels == label]
        ref = cond.models_[k].sample(len(rows), rng=99)
        for j in range(2):
            assert stats.ks_2samp(rows[:, j], ref[:, j]).pvalue > 1e-4
        sd = np.sqrt(np.diag(np.cov(ref.T)) / len(rows))
        assert (np.abs(rows.mean(0) - ref.mean(0)) < 5 * np.sqrt(2) * sd).all()


def test_one_label_is_that_models_own_stream():
    X, y = load_iris(return_X_y=True)
    cond = gs.Conditional(gs.GMM(1)).fit(X, y)
    key = gs.random.key_from_rng(5)
    expected = np.empty((1000, 4))
    cond.given(2)._sample_rows(_core.random.subkey(key, 3), 0, expected, 1)
    np.testing.assert_array_equal(cond.sample(1000, y=2, rng=5), expected)


def test_rows_and_labels_are_pure_functions_of_seed_and_row(iris):
    """Across BLOCK boundaries, thread counts, chunkings, Dask blocks and given labels."""
    X, y = iris
    cond = gs.Conditional(gs.GMM(2)).fit(X, y)
    n = 2 * BLOCK + 1234
    x, labels = cond.sample(n, rng=11, n_threads=1)
    x2, labels2 = cond.sample(n, rng=11, n_threads=2)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(labels, labels2)
    np.testing.assert_array_equal(cond.sample(n, rng=11, y=labels), x)  # the labels given, the same rows
    key = gs.random.key_from_rng(11)
    for r0, r1 in ((0, 10), (BLOCK - 7, BLOCK + 9), (BLOCK + 5, 2 * BLOCK + 1000)):
        part, codes = np.empty((r1 - r0, 4)), np.empty(r1 - r0, dtype=np.int64)
        cond._sample_rows(key, r0, part, 2, codes)
        np.testing.assert_array_equal(part, x[r0:r1])
        np.testing.assert_array_equal(cond.classes_[codes], labels[r0:r1])
    x32, _ = cond.sample(1000, rng=11, dtype=np.float32)
    np.testing.assert_array_equal(x32, x[:1000].astype(np.float32))


def test_model_files_and_pickles_keep_labels_and_streams(tmp_path, iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    cond = gs.Conditional(gs.PPCA(2), priors={"setosa": 0.2, "versicolor": 0.3, "virginica": 0.5}).fit(X, names)
    loaded = gs.load(cond.save(tmp_path / "iris.npz"))
    again = pickle.loads(pickle.dumps(cond))
    for other in (loaded, again):
        assert other.classes_.tolist() == ["setosa", "versicolor", "virginica"]
        np.testing.assert_array_equal(other.class_prior_, cond.class_prior_)
        np.testing.assert_array_equal(other.class_count_, cond.class_count_)
        a, la = other.sample(500, rng=4)
        b, lb = cond.sample(500, rng=4)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(other.predict(X), cond.predict(X))


def test_weights_reach_each_fit_and_the_priors():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    y = np.repeat([0, 1], 20)
    w = np.where(y == 0, 3.0, 1.0)
    cond = gs.Conditional(gs.GMM(1)).fit(X, y, weights=w)
    np.testing.assert_allclose(cond.class_prior_, [0.75, 0.25])
    np.testing.assert_allclose(cond.models_[0].means_[0], X[:20].mean(0), rtol=1e-12)


def test_guided_field_moves_toward_the_label():
    rng = np.random.default_rng(6)
    X = np.concatenate([rng.normal(-2, 0.3, (200, 2)), rng.normal(2, 0.3, (200, 2))])
    cond = gs.Conditional(gs.GMM(1)).fit(X, np.repeat([0, 1], 200))
    exact = gs.Flow(cond.field(1), steps=64).sample(4000, rng=0)
    assert np.abs(exact.mean(0) - cond.given(1).means_[0]).max() < 0.05
    field = cond.field(1, guidance=1.0)  # w = 1: the conditional field itself
    pts = rng.normal(size=(50, 2))
    np.testing.assert_allclose(field.velocity(0.4, pts), cond.field(1).velocity(0.4, pts), atol=1e-12)
    unguided = cond.field(1, guidance=0.0).velocity(0.4, pts)  # w = 0: the marginal's field
    mixture = gs.GMM.from_parameters(
        [0.5, 0.5], [m.means_[0] for m in cond.models_], [m.covariances_[0] for m in cond.models_]
    )
    np.testing.assert_allclose(unguided, gs.fields.GaussianMixture(mixture).velocity(0.4, pts), rtol=1e-12)


def test_zero_density_under_every_label_is_an_error():
    boxes = {0: gs.Box([0, 0], [1, 1]), 1: gs.Box([2, 2], [3, 3])}
    cond = gs.Conditional.from_models(boxes)
    with pytest.raises(ValueError, match=r"x\[0\] has zero density under every label.*undefined"):
        cond.predict_proba([[5.0, 5.0]])
    assert cond.predict([[0.5, 0.5], [2.5, 2.5]]).tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"x\[1\] has zero density under every label"):
        cond.predict([[0.5, 0.5], [9.0, 9.0]])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c, X, y: c.fit(X, y[:-1]), ValueError, "one label per row of X"),
        (lambda c, X, y: c.fit(X, y.reshape(-1, 1)), ValueError, "one label per row of X"),
        (lambda c, X, y: c.fit(X, np.where(y == 0, np.nan, y)), ValueError, "NaN"),
        (lambda c, X, y: c.fit(X, np.array([{}] * len(y))), TypeError, "labels must be"),
        (lambda c, X, y: gs.Conditional(gs.KDE()).fit(X[:51], y[:51]), ValueError, "label 1 .1 rows."),
        (lambda c, X, y: gs.Conditional(gs.GMM(1), priors=[0.5, 0.5]).fit(X, y), ValueError, "one prior per label"),
        (lambda c, X, y: gs.Conditional(gs.GMM(1), priors=[0.5, 0.5, 0.5]).fit(X, y), ValueError, "add up to 1"),
        (lambda c, X, y: gs.Conditional(gs.GMM(1), priors={0: 1.0}).fit(X, y), ValueError, "missing"),
        (lambda c, X, y: gs.Conditional().fit(X, y), TypeError, "pass the estimator"),
        (lambda c, X, y: gs.Conditional(gs.GMM(1).fit(X)).fit(X, y[:, None] * 0 + y[:, None]), ValueError, "label"),
        (lambda c, X, y: gs.Conditional(3).fit(X, y), TypeError, "estimator with fit"),
        (lambda c, X, y: gs.Conditional().sample(3), RuntimeError, "not fitted"),
        (lambda c, X, y: c.fit(X, y).sample(3, y=7), ValueError, "unknown label 7"),
        (lambda c, X, y: c.fit(X, y).sample(3, y=[0, 1, 9]), ValueError, "unknown label 9 at row 2"),
        (lambda c, X, y: c.fit(X, y).sample(3, y=[0, 1]), ValueError, "one label or n = 3 labels"),
        (lambda c, X, y: c.fit(X, y).logpdf(X, y=[0]), ValueError, r"one label or len\(x\) = 150 labels"),
        (lambda c, X, y: c.fit(X, y).given("x"), ValueError, "unknown label"),
        (lambda c, X, y: c.fit(X, y).predict(X[:, :2]), ValueError, "x"),
        (
            lambda c, X, y: gs.Conditional.from_models({0: gs.Box([0], [1]), 1: gs.Box([0, 0], [1, 1])}),
            ValueError,
            "differ in dimension",
        ),
        (lambda c, X, y: gs.Conditional.from_models({0: X}), TypeError, "gensample model"),
        (lambda c, X, y: gs.Conditional.from_models([gs.Box([0], [1])]), TypeError, "dict"),
    ],
)
def test_bad_input_is_named(iris, call, error, match):
    X, y = iris
    with pytest.raises(error, match=match):
        call(gs.Conditional(gs.GMM(1)), X, y)


# ---- labels beside the samples: generate, Dask, the command line ---------------------------


@pytest.fixture(scope="module")
def species(iris):
    X, y = iris
    return gs.Conditional(gs.GMM(1)).fit(X, np.array(["setosa", "versicolor", "virginica"])[y])


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
@pytest.mark.parametrize("numbers", [False, True])
def test_generate_writes_the_labels_beside_the_rows(tmp_path, iris, species, suffix, numbers):
    model = gs.Conditional(gs.GMM(1)).fit(*iris) if numbers else species
    n = BLOCK + 999
    x, labels = model.sample(n, rng=3)
    mx, mlabels = gs.generate(model, n, rng=3, chunk=20_001, progress=False)
    np.testing.assert_array_equal(mx, x)
    np.testing.assert_array_equal(mlabels, labels)
    path = gs.generate(model, n, rng=3, out=tmp_path / f"s{suffix}", chunk=30_000, progress=False, n_threads=2)
    np.testing.assert_array_equal(gs.scale.read(path), x)
    read = gs.scale.read_labels(path)
    assert read.dtype == labels.dtype
    np.testing.assert_array_equal(read, labels)
    assert gs.scale.inspect(path)["labels"] and gs.scale.inspect(path)["dim"] == 4
    np.testing.assert_array_equal(gs.scale.read_labels(path, max_rows=10), labels[:10])
    expected = {f"s{suffix}"} | ({f"s.labels{suffix}"} if suffix != ".parquet" else set())
    assert set(os.listdir(tmp_path)) == expected


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_an_interrupted_labelled_run_resumes_to_the_same_labels(tmp_path, species, suffix, monkeypatch):
    out = tmp_path / f"s{suffix}"
    calls = []

    def stopping(key, r0, rows, n_threads, labels=None):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(r0)
        gs.Conditional._sample_rows(species, key, r0, rows, n_threads, labels)

    monkeypatch.setattr(species, "_sample_rows", stopping)
    with pytest.raises(KeyboardInterrupt):
        gs.generate(species, 5000, rng=8, out=out, chunk=1000, progress=False)
    monkeypatch.undo()
    gs.generate(species, 5000, rng=8, out=out, chunk=1000, progress=False, resume=True)
    x, labels = species.sample(5000, rng=8)
    np.testing.assert_array_equal(gs.scale.read(out), x)
    np.testing.assert_array_equal(gs.scale.read_labels(out), labels)


def test_existing_labels_file_needs_overwrite(tmp_path, species):
    (tmp_path / "s.labels.npy").write_bytes(b"")
    with pytest.raises(FileExistsError, match="s.labels.npy exists"):
        gs.generate(species, 10, rng=0, out=tmp_path / "s.npy", progress=False)
    gs.generate(species, 10, rng=0, out=tmp_path / "s.npy", progress=False, overwrite=True)
    np.testing.assert_array_equal(gs.scale.read_labels(tmp_path / "s.npy"), species.sample(10, rng=0)[1])


def test_unlabelled_files_have_no_labels(tmp_path):
    path = gs.generate(gs.Box([0], [1]), 10, rng=0, out=tmp_path / "b.npy", progress=False)
    with pytest.raises(ValueError, match="has no labels"):
        gs.scale.read_labels(path)


def test_dask_gives_rows_and_labels_from_one_draw_per_block(species, monkeypatch):
    dask = pytest.importorskip("dask")
    x, labels = species.sample(10_000, rng=2)
    calls = []

    def counted(key, r0, rows, n_threads, codes=None):
        calls.append(r0)
        gs.Conditional._sample_rows(species, key, r0, rows, n_threads, codes)

    monkeypatch.setattr(species, "_sample_rows", counted)
    dx, dlabels = gs.dask.sample(species, 10_000, chunks=(2_500, 7_000, 500), rng=2)
    assert dx.chunks[0] == dlabels.chunks[0] == (2_500, 7_000, 500)
    a, b = dask.compute(dx, dlabels, scheduler="threads")
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, labels)
    assert sorted(calls) == [0, 2_500, 9_500]  # one draw per block, shared by both arrays


def test_cli_fits_per_label_and_writes_labels(tmp_path, iris, capsys):
    from gensample.__main__ import main

    X, y = iris
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.array(["setosa", "versicolor", "virginica"])[y])
    model = tmp_path / "iris.npz"
    assert (
        main(
            [
                "fit",
                "gmm",
                str(tmp_path / "X.npy"),
                "--labels",
                str(tmp_path / "y.npy"),
                "--components",
                "1",
                "-o",
                str(model),
            ]
        )
        == 0
    )
    assert "per label, 3 labels" in capsys.readouterr().out
    loaded = gs.load(model)
    assert loaded.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert (
        main(["sample", str(model), "-n", "1000", "-o", str(tmp_path / "s.npy"), "--seed", "4", "--no-progress"]) == 0
    )
    assert "s.labels.npy" in capsys.readouterr().out
    x, labels = loaded.sample(1000, rng=4)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), x)
    np.testing.assert_array_equal(np.load(tmp_path / "s.labels.npy"), labels)
    assert main(["info", str(tmp_path / "s.npy")]) == 0
    assert "with labels" in capsys.readouterr().out
    np.save(tmp_path / "short.npy", y[:-1])
    assert (
        main(
            [
                "fit",
                "kde",
                str(tmp_path / "X.npy"),
                "--labels",
                str(tmp_path / "short.npy"),
                "-o",
                str(tmp_path / "k.npz"),
            ]
        )
        == 2
    )
    assert "--labels must hold one label per row of DATA (150)" in capsys.readouterr().err


def test_plots_take_a_labelled_model(species):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    two = gs.Conditional.from_models({0: gs.Box([0, 0], [1, 1]), 1: gs.Box([2, 2], [3, 3])})
    ax = gs.plot.density(two)
    gs.plot.scatter(two, n=500, ax=ax)
    assert len(ax.collections) == 1
