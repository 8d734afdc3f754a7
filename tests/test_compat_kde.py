"""gensample.compat.scipy.gaussian_kde and compat.sklearn.KernelDensity against the originals."""

import math

import numpy as np
import pytest
from scipy import stats

import gensample as gs
from gensample.compat.scipy import gaussian_kde
from gensample.kde import KERNELS

sklearn = pytest.importorskip("sklearn")  # the test extra installs it: this only guards a bare run
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neighbors import KernelDensity as SkKernelDensity  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from gensample.compat.sklearn import KernelDensity  # noqa: E402


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(1, np.abs(b)))


@pytest.mark.parametrize("bw", [None, "silverman", 0.3, lambda k: 0.5 * k.scotts_factor()])
@pytest.mark.parametrize("weighted", [False, True])
def test_gaussian_kde_matches_scipy(bw, weighted):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3, 500)) * [[1], [2], [0.5]]
    w = rng.uniform(0, 1, 500) if weighted else None
    ours, theirs = gaussian_kde(data, bw_method=bw, weights=w), stats.gaussian_kde(data, bw_method=bw, weights=w)
    pts = np.concatenate([data[:, :100], rng.normal(size=(3, 100)) * 6], axis=1)
    assert _rel(ours.logpdf(pts), theirs.logpdf(pts)) < 1e-12
    assert _rel(ours.evaluate(pts), theirs.evaluate(pts)) < 1e-12
    assert _rel(ours(pts), theirs.pdf(pts)) < 1e-12
    for name in ("factor", "neff", "log_det"):
        assert _rel(getattr(ours, name), getattr(theirs, name)) < 1e-12
    for name in ("covariance", "inv_cov", "cho_cov", "weights", "dataset"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    assert (ours.d, ours.n) == (theirs.d, theirs.n)
    assert ours.resample(seed=1).shape == theirs.resample(seed=1).shape == (3, int(theirs.neff))
    np.testing.assert_array_equal(ours.resample(7, seed=2), ours.resample(7, seed=2))
    np.testing.assert_array_equal(
        ours.resample(7, seed=np.random.RandomState(3)), ours.resample(7, seed=np.random.RandomState(3))
    )
    m_ours, m_theirs = ours.marginal([0, 2]), theirs.marginal([0, 2])
    assert _rel(m_ours.logpdf(pts[[0, 2]]), m_theirs.logpdf(pts[[0, 2]])) < 1e-12


def test_gaussian_kde_1d_api():
    x = np.random.default_rng(1).normal(size=200)
    ours, theirs = gaussian_kde(x), stats.gaussian_kde(x)
    assert abs(ours.integrate_box_1d(-0.5, 1.2) - theirs.integrate_box_1d(-0.5, 1.2)) < 1e-12
    assert _rel(ours.logpdf(0.3), theirs.logpdf(0.3)) < 1e-12  # a scalar point
    ours.set_bandwidth("silverman"), theirs.set_bandwidth("silverman")
    assert _rel(ours.logpdf(x), theirs.logpdf(x)) < 1e-12
    ours.set_bandwidth(ours.factor / 3), theirs.set_bandwidth(theirs.factor / 3)
    assert _rel(ours.logpdf(x), theirs.logpdf(x)) < 1e-12


def test_gaussian_kde_errors():
    with pytest.raises(ValueError, match="multiple elements"):
        gaussian_kde([1.0])
    with pytest.raises(ValueError, match="transposing"):
        gaussian_kde(np.zeros((5, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="lower-dimensional subspace"):
        gaussian_kde(np.ones((2, 10)))
    kde = gaussian_kde(np.random.default_rng(0).normal(size=(2, 50)))
    with pytest.raises(ValueError, match="dimension 3"):
        kde.logpdf(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="bw_method"):
        kde.set_bandwidth("wide")


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("bandwidth", [0.6, "scott", "silverman"])
def test_kernel_density_matches_sklearn(kernel, bandwidth):
    rng = np.random.default_rng(2)
    X, w = rng.normal(size=(400, 3)), rng.uniform(0.1, 1, 400)
    q = X[:100] + 0.05 * rng.normal(size=(100, 3))
    ours = KernelDensity(bandwidth=bandwidth, kernel=kernel).fit(X, sample_weight=w)
    theirs = SkKernelDensity(bandwidth=bandwidth, kernel=kernel).fit(X, sample_weight=w)
    assert ours.bandwidth_ == theirs.bandwidth_
    assert _rel(ours.score_samples(q), theirs.score_samples(q)) < 1e-10  # d = 3: cosine is right in both
    assert abs(ours.score(q) - theirs.score(q)) < 1e-8 * abs(theirs.score(q))
    x = ours.sample(50, random_state=0)
    assert x.shape == (50, 3)
    np.testing.assert_array_equal(x, ours.sample(50, random_state=0))


def test_kernel_density_grid_search_agrees_with_sklearn():
    X = np.random.default_rng(3).normal(size=(300, 2))
    grid = {"bandwidth": [0.1, 0.2, 0.4, 0.8]}
    ours = GridSearchCV(KernelDensity(), grid, cv=3).fit(X)
    theirs = GridSearchCV(SkKernelDensity(), grid, cv=3).fit(X)
    assert ours.best_params_ == theirs.best_params_
    # exact held-out scores (scikit-learn's tree is off far from the data at h = 0.1)
    from scipy.special import logsumexp
    from sklearn.model_selection import KFold

    exact = []
    for h in grid["bandwidth"]:
        folds = []
        for train, test in KFold(3).split(X):
            d2 = ((X[test][:, None] - X[train][None]) ** 2).sum(-1)
            lp = logsumexp(-0.5 * d2 / h**2, axis=1) - np.log(len(train)) - np.log(2 * np.pi * h**2)
            folds.append(lp.sum())
        exact.append(np.mean(folds))
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], exact, rtol=1e-12)


def test_kernel_density_passes_check_estimator():
    check_estimator(KernelDensity(), on_skip=None)  # skips: array-API checks need SCIPY_ARRAY_API


def test_kernel_density_errors():
    with pytest.raises(ValueError, match="'metric' parameter of KernelDensity must be one of"):
        KernelDensity(metric="cosine").fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="invalid metric for KDTree: 'haversine'"):
        KernelDensity(metric="haversine", algorithm="kd_tree").fit(np.zeros((3, 2)))
    with pytest.raises(NotImplementedError, match="'manhattan' metric"):
        KernelDensity(metric="manhattan").fit(np.zeros((3, 2))).sample(2)
    with pytest.raises(ValueError, match="bandwidth"):
        KernelDensity(bandwidth=-1.0).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError):
        KernelDensity().fit(np.zeros((3, 2)), sample_weight=[1.0, -1.0, 1.0])


def test_singular_data_raises_linalg_error():
    """scipy raises numpy.linalg.LinAlgError, and user code is written as
    ``except np.linalg.LinAlgError`` (scipy's test_singular_data_covariance_gh10205)."""
    data = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]])  # a constant row: singular covariance
    with pytest.raises(np.linalg.LinAlgError, match="The data appears to lie in a lower-dimensional subspace"):
        gaussian_kde(data)
    with pytest.raises(ValueError):  # still a ValueError, as before
        gs.KDE().fit(data.T)


@pytest.mark.parametrize(
    "metric, params",
    [("manhattan", None), ("chebyshev", None), ("minkowski", {"p": 3}), ("minkowski", {"p": 2}), ("haversine", None)],
)
@pytest.mark.parametrize("kernel", ["gaussian", "tophat", "epanechnikov", "exponential", "linear"])
def test_kernel_density_metrics_give_sklearns_numbers(metric, params, kernel):
    """Every metric scikit-learn's KDE takes, with its normalisation (the Euclidean kernel's);
    cosine is left out: scikit-learn's cosine normalisation is wrong in 2-D (compat docstring)."""
    from sklearn.neighbors import KernelDensity as SklearnKernelDensity

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 2)), 1.5 * rng.normal(size=(30, 2))
    kwargs = {"metric": metric, "metric_params": params, "kernel": kernel, "bandwidth": 0.7}
    ours = KernelDensity(**kwargs).fit(X).score_samples(Y)
    theirs = SklearnKernelDensity(**kwargs).fit(X).score_samples(Y)
    inside = np.isfinite(ours)  # scikit-learn gives about -36 where a compact kernel's density is 0
    assert np.allclose(ours[inside], theirs[inside], rtol=0, atol=1e-10)
    assert (theirs[~inside] < -30).all()


def test_gaussian_kde_integrals_match_scipy():
    """integrate_gaussian, integrate_kde (on the engine), integrate_box_1d and integrate_box."""
    from scipy import stats

    rng = np.random.default_rng(1)
    x, y, w = rng.normal(size=(2, 300)), rng.normal(size=(2, 120)) + 0.7, rng.random(300)
    ours, theirs = gaussian_kde(x, weights=w), stats.gaussian_kde(x, weights=w)
    other, other_theirs = gaussian_kde(y, bw_method="silverman"), stats.gaussian_kde(y, bw_method="silverman")
    assert math.isclose(ours.integrate_kde(other), theirs.integrate_kde(other_theirs), rel_tol=1e-12)
    assert math.isclose(other.integrate_kde(ours), theirs.integrate_kde(other_theirs), rel_tol=1e-12)
    mean, cov = [0.2, -0.1], [[1.0, 0.3], [0.3, 0.5]]
    assert math.isclose(ours.integrate_gaussian(mean, cov), theirs.integrate_gaussian(mean, cov), rel_tol=1e-12)
    box = ours.integrate_box([-1, -0.5], [0.5, 2], rng=np.random.default_rng(2))
    assert math.isclose(box, theirs.integrate_box([-1, -0.5], [0.5, 2], rng=np.random.default_rng(2)), rel_tol=1e-12)
    one = gaussian_kde(x[0], weights=w)
    assert math.isclose(one.integrate_box(-0.3, np.inf), one.integrate_box_1d(-0.3, np.inf), rel_tol=1e-14)
    assert math.isclose(one.integrate_box_1d(-np.inf, np.inf), 1.0, rel_tol=1e-14)
    with pytest.raises(ValueError, match="same dimensionality"):
        ours.integrate_kde(one)
    with pytest.raises(ValueError, match="mean does not have dimension 2"):
        ours.integrate_gaussian([0.0], cov)
    with pytest.raises(np.linalg.LinAlgError):
        ours.integrate_gaussian(mean, [[-5.0, 0.0], [0.0, -5.0]])  # not a covariance


def test_gaussian_kde_long_double_and_subclassing():
    x = np.random.default_rng(3).normal(size=(2, 200))
    points = np.random.default_rng(4).normal(size=(2, 20)) * 3
    kde = gaussian_kde(x)
    wide = kde.logpdf(points.astype(np.longdouble))
    assert wide.dtype == np.longdouble  # scipy's rule: the common type of data, points, float64
    assert np.allclose(wide.astype(np.float64), kde.logpdf(points), rtol=0, atol=1e-12)

    class Subclass(gaussian_kde):  # scipy keeps this pattern working: no __init__ of the base
        def __init__(self, dataset):
            self.dataset = np.atleast_2d(dataset)
            self.d, self.n = self.dataset.shape
            self.covariance_factor = self.scotts_factor
            self._compute_covariance()

    assert np.array_equal(Subclass(x).logpdf(points), kde.logpdf(points))
