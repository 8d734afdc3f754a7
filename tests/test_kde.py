"""gs.KDE against its NumPy twin, scipy and scikit-learn; statistics of its samples; bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample.kde import KERNELS, kernel_variance, log_kernel_norm
from gensample.reference import kde as ref

ALPHA = 1e-4  # significance of every statistical test here


def _ref_logpdf(kde, x):
    keep = kde.weights_ > 0
    y = np.asarray(x, np.float64) @ kde._linv.T
    return ref.log_kernel_sum(kde.kernel, kde._z, np.log(kde.weights_[keep]), y) + kde._offset


def _ref_sample(kde, key, n):
    prob, alias = gs._core.random.alias_table(kde.weights_)
    return ref.sample(key, kde.kernel, kde.data_, kde.cholesky_, prob, alias, n)


def _close(a, b, rel):
    """|a - b| <= rel * max(1, |b|) elementwise, -inf matching -inf."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert np.array_equal(np.isneginf(a), np.isneginf(b))
    f = np.isfinite(b)
    err = np.abs(a[f] - b[f]) / np.maximum(1.0, np.abs(b[f]))
    assert err.max(initial=0) <= rel, err.max()


# ---- against the reference ------------------------------------------------------------

BANDWIDTHS = ["scott", "silverman", "scalar", "vector", "matrix", "callable"]


def _bandwidth(form, d, rng):
    if form == "scalar":
        return 0.7
    if form == "vector":
        return rng.uniform(0.3, 1.5, d)
    if form == "matrix":
        A = rng.normal(size=(d, d))
        return A @ A.T + 0.5 * np.eye(d)
    if form == "callable":
        return lambda X, w: 0.5 * X.std(axis=0) + 0.1
    return form


@given(
    kernel=st.sampled_from(KERNELS),
    form=st.sampled_from(BANDWIDTHS),
    d=st.integers(1, 5),
    n=st.integers(1, 150),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_logpdf_matches_reference(kernel, form, d, n, weighted, seed):
    rng = np.random.default_rng(seed)
    if form in ("scott", "silverman"):
        n = max(n, d + 2)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, d)
    w = rng.uniform(0, 2, n) if weighted else None
    if w is not None:
        w[0] += 0.1  # a positive sum
    kde = gs.KDE(bandwidth=_bandwidth(form, d, rng), kernel=kernel).fit(X, weights=w)
    q = np.concatenate([X[: min(n, 20)] + 0.3 * rng.normal(size=(min(n, 20), d)), rng.normal(size=(30, d)) * 4])
    _close(kde.logpdf(q), _ref_logpdf(kde, q), 1e-12)
    q32 = q.astype(np.float32)
    lp32, exact = kde.logpdf(q32), _ref_logpdf(kde, q32)
    assert lp32.dtype == np.float32
    if kernel in ("gaussian", "exponential"):
        _close(lp32, exact, 2e-5)
    else:  # 1 - r^2 near the support's edge cancels: compare densities to the kernel's peak
        p32, p = np.exp(lp32.astype(np.float64)), np.exp(exact)
        assert np.abs(p32 - p).max() <= 1e-5 * np.exp(kde._offset)


@pytest.mark.parametrize("kernel", KERNELS)
def test_grad_matches_reference_and_finite_differences(kernel):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    kde = gs.KDE(bandwidth=[0.9, 1.3, 1.1], kernel=kernel).fit(X, weights=rng.uniform(0.5, 1, 300))
    q = X[:40] + 0.2 * rng.normal(size=(40, 3))
    g = kde.grad_logpdf(q)
    keep = kde.weights_ > 0
    gy = ref.grad_log_kernel_sum(kernel, kde._z, np.log(kde.weights_[keep]), q @ kde._linv.T)
    np.testing.assert_allclose(g, gy @ kde._linv, rtol=1e-10, atol=1e-10)
    if kernel != "tophat":  # piecewise constant: its score is 0 where defined
        h = 1e-6
        fd = np.stack([(kde.logpdf(q + h * e) - kde.logpdf(q - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
        np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-4)
    else:
        assert (g == 0).all()
    g32 = kde.grad_logpdf(q.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g, rtol=1e-3, atol=1e-3)


def test_grad_far_away_and_outside_support():
    X = np.array([[0.0], [1.0]])
    far = gs.KDE(bandwidth=0.1).fit(X).grad_logpdf([[50.0]])
    np.testing.assert_allclose(far, [[-(50.0 - 1.0) / 0.01]], rtol=1e-12)  # pulled to the nearest point
    assert np.isnan(gs.KDE(bandwidth=0.1, kernel="epanechnikov").fit(X).grad_logpdf([[50.0]])).all()


def test_tails_are_exact():
    """30 bandwidths from every data point: no floor, no underflow, same as the exact sum."""
    rng = np.random.default_rng(1)
    for d in (2, 8):
        X = rng.normal(size=(2000, d))
        kde = gs.KDE(bandwidth=0.25).fit(X)
        direction = rng.normal(size=(50, d))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        q = direction * (np.linalg.norm(X, axis=1).max() + 30 * 0.25)  # >= 30 bandwidths from all
        exact = _ref_logpdf(kde, q)
        assert exact.max() < -400
        _close(kde.logpdf(q), exact, 1e-13)
        _close(kde.logpdf(q.astype(np.float32)), _ref_logpdf(kde, q.astype(np.float32)), 1e-5)


# ---- against scipy and scikit-learn ---------------------------------------------------


@pytest.mark.parametrize("rule", ["scott", "silverman"])
@pytest.mark.parametrize("d", [1, 2, 5])
def test_gaussian_matches_scipy(rule, d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(400, d)) @ rng.normal(size=(d, d)) + 3
    w = rng.uniform(0, 1, 400)
    ours = gs.KDE(bandwidth=rule).fit(X, weights=w)
    theirs = stats.gaussian_kde(X.T, bw_method=rule, weights=w)
    np.testing.assert_allclose(ours.bandwidth_, theirs.covariance, rtol=1e-12)
    q = np.concatenate([X[:100], rng.normal(size=(100, d)) * 3])
    _close(ours.logpdf(q), theirs.logpdf(q.T), 1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_kernels_match_sklearn(kernel, d):
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(d)
    X = rng.normal(size=(300, d))
    q = X[:80] + 0.1 * rng.normal(size=(80, d))  # near the data: sklearn's tree is exact there
    ours = gs.KDE(bandwidth=0.8, kernel=kernel).fit(X).logpdf(q)
    theirs = KernelDensity(bandwidth=0.8, kernel=kernel).fit(X).score_samples(q)
    if kernel == "cosine" and d % 2 == 0:
        # scikit-learn's cosine normalisation is off in even dimensions (its series misses
        # terms); ours is checked by integration in test_kernels_are_normalised.
        offset = theirs - ours
        np.testing.assert_allclose(offset, offset[0], atol=1e-10)
        assert abs(offset[0]) > 0.1
    else:
        _close(ours, theirs, 1e-10)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernels_are_normalised(kernel):
    # 1-D: the whole density on a fine grid
    kde = gs.KDE(bandwidth=0.5, kernel=kernel).fit([[0.0], [1.0], [3.0]], weights=[1, 2, 3])
    x = np.linspace(-15, 18, 400_001)
    jump = 5e-5 if kernel == "tophat" else 1e-6  # the trapezoid rule across a jump errs by O(step)
    assert abs(np.trapezoid(kde.pdf(x[:, None]), x) - 1) < jump
    # 2-D and 3-D: the kernel's radial integral, S_(d-1) int f(r) r^(d-1) dr
    for d in (2, 3):
        r = np.linspace(0, 40, 2_000_001)
        f = np.exp(ref._log_profile(kernel, r))
        sphere = 2 * math.pi ** (d / 2) / math.gamma(d / 2)
        integral = sphere * np.trapezoid(f * r ** (d - 1), r)
        assert abs(integral / math.exp(log_kernel_norm(kernel, d)) - 1) < (5e-5 if kernel == "tophat" else 1e-6)
    # 2-D: the density on a grid
    kde = gs.KDE(bandwidth=[0.6, 0.4], kernel=kernel).fit([[0.0, 0.0], [1.0, -1.0]])
    g = np.linspace(-12, 13, 1001)
    xx, yy = np.meshgrid(g, g)
    p = kde.pdf(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    assert abs(np.trapezoid(np.trapezoid(p, g, axis=1), g) - 1) < (2e-2 if kernel == "tophat" else 2e-3)


def test_thread_invariance():
    rng = np.random.default_rng(0)
    X, q = rng.normal(size=(5000, 3)), rng.normal(size=(3000, 3))
    for kernel in ("gaussian", "epanechnikov"):
        kde = gs.KDE(bandwidth=0.3, kernel=kernel).fit(X)
        np.testing.assert_array_equal(kde.logpdf(q, n_threads=1), kde.logpdf(q, n_threads=2))
        np.testing.assert_array_equal(kde.logpdf(q, n_threads=1), kde.logpdf(q, n_threads=7))
        np.testing.assert_array_equal(kde.grad_logpdf(q, n_threads=1), kde.grad_logpdf(q, n_threads=3))
        np.testing.assert_array_equal(kde.sample(5000, rng=3, n_threads=1), kde.sample(5000, rng=3, n_threads=2))


# ---- sampling -------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("d", [1, 3])
def test_sample_matches_reference(kernel, d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(50, d))
    kde = gs.KDE(bandwidth=rng.uniform(0.2, 1, d), kernel=kernel).fit(X, weights=rng.uniform(0, 1, 50))
    key = gs.random.key_from_rng(11)
    x = kde.sample(2000, rng=11)
    np.testing.assert_allclose(x, _ref_sample(kde, key, 2000), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(kde.sample(2000, rng=11, dtype=np.float32), x.astype(np.float32))
    part = np.empty((300, d))
    kde._sample_rows(key, 1700, part, 0)  # rows 1700.. of the same stream
    np.testing.assert_array_equal(part, x[1700:])


def test_cosine_retries_match_reference():
    """In 6-D about a third of the cosine kernel's radii are redrawn at least once."""
    X = np.zeros((1, 6))
    kde = gs.KDE(bandwidth=1.0, kernel="cosine").fit(X)
    key = gs.random.key_from_rng(2)
    np.testing.assert_allclose(kde.sample(3000, rng=2), _ref_sample(kde, key, 3000), rtol=1e-13, atol=1e-13)


def _kde_cdf(kde, x):
    """CDF of a 1-D KDE on a fine grid (cumulative trapezoid of its pdf)."""
    lo, hi = kde.data_.min() - 60 * kde.cholesky_[0, 0], kde.data_.max() + 60 * kde.cholesky_[0, 0]
    g = np.linspace(lo, hi, 400_001)
    p = kde.pdf(g[:, None])
    c = np.concatenate([[0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(g))])
    return np.interp(x, g, c / c[-1])


@pytest.mark.slow
@pytest.mark.parametrize("kernel", KERNELS)
def test_samples_follow_the_density_1d(kernel):
    kde = gs.KDE(bandwidth=0.7, kernel=kernel).fit([[-2.0], [0.0], [0.5], [3.0]], weights=[1, 3, 1, 2])
    x = kde.sample(50_000, rng=8)[:, 0]
    assert stats.kstest(x, lambda v: _kde_cdf(kde, v)).pvalue > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("kernel", KERNELS)
def test_sample_moments_3d(kernel):
    """Mean sum_i w_i x_i; covariance = weighted data scatter + kernel_variance * H."""
    rng = np.random.default_rng(5)
    X, w = rng.normal(size=(20, 3)) * [1, 2, 3], rng.uniform(0.2, 1, 20)
    H = np.array([[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 0.8]])
    kde = gs.KDE(bandwidth=H, kernel=kernel).fit(X, weights=w)
    n = 200_000
    x = kde.sample(n, rng=6)
    wn = w / w.sum()
    mean = wn @ X
    cov = (X - mean).T @ ((X - mean) * wn[:, None]) + kernel_variance(kernel, 3) * H
    z = (x.mean(axis=0) - mean) / np.sqrt(np.diag(cov) / n)
    assert np.abs(z).max() < stats.norm.isf(ALPHA / 6)
    # second moments: each entry's standard error from the sample itself
    c = x - mean
    prods = np.stack([c[:, i] * c[:, j] for i in range(3) for j in range(3)], axis=1)
    z2 = (prods.mean(axis=0) - cov.ravel()) / (prods.std(axis=0) / np.sqrt(n))
    assert np.abs(z2).max() < stats.norm.isf(ALPHA / 18)


# ---- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, kwargs, fit_kwargs, err, match",
    [
        (np.zeros((0, 2)), {}, {}, ValueError, "at least one sample"),
        ([[np.nan, 0.0], [1, 2]], {}, {}, ValueError, "finite"),
        ([["a", "b"]], {}, {}, TypeError, "numbers"),
        (np.ones((5, 2)), {}, {}, ValueError, "not positive definite"),  # singular covariance, "scott"
        ([[0.0, 1.0]], {}, {}, ValueError, "one effective data point"),
        ([[0.0], [1.0]], {"bandwidth": 0.0}, {}, ValueError, "positive"),
        ([[0.0], [1.0]], {"bandwidth": -1.0}, {}, ValueError, "positive"),
        ([[0.0], [1.0]], {"bandwidth": np.inf}, {}, ValueError, "finite"),
        ([[0.0, 0], [1, 1]], {"bandwidth": [1.0, 2.0, 3.0]}, {}, ValueError, "one value per dimension"),
        ([[0.0, 0], [1, 1]], {"bandwidth": [[1.0, 2.0], [0.0, 1.0]]}, {}, ValueError, "symmetric"),
        ([[0.0, 0], [1, 1]], {"bandwidth": [[1.0, 2.0], [2.0, 1.0]]}, {}, ValueError, "not positive definite"),
        ([[0.0], [1.0]], {"bandwidth": "wide"}, {}, ValueError, "scott"),
        ([[0.0], [1.0]], {}, {"weights": [1.0]}, ValueError, "one value per row of X"),
        ([[0.0], [1.0]], {}, {"weights": [1.0, -1.0]}, ValueError, "non-negative"),
        ([[0.0], [1.0]], {}, {"weights": [0.0, 0.0]}, ValueError, "positive sum"),
        ([[0.0], [1.0]], {}, {"weights": [1.0, np.nan]}, ValueError, "finite"),
    ],
)
def test_bad_fit(X, kwargs, fit_kwargs, err, match):
    with pytest.raises(err, match=match):
        gs.KDE(**kwargs).fit(X, **fit_kwargs)


def test_rounding_asymmetry_in_bandwidth_is_accepted():
    H = np.array([[0.5, 2.7e-17], [2.9e-17, 0.25]])  # symmetric to rounding, relatively not
    kde = gs.KDE(bandwidth=H).fit([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(kde.bandwidth_, 0.5 * (H + H.T))


def test_bad_use():
    with pytest.raises(ValueError, match="kernel must be one of"):
        gs.KDE(kernel="box")
    with pytest.raises(RuntimeError, match="not fitted"):
        gs.KDE().logpdf([[0.0]])
    kde = gs.KDE(bandwidth=1.0).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        kde.logpdf(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="finite"):
        kde.logpdf([[np.inf, 0.0]])
    with pytest.raises(ValueError, match="non-negative"):
        kde.sample(-1)
    with pytest.raises(TypeError, match="float64 or float32"):
        kde.sample(3, dtype=np.int32)
    assert kde.sample(0).shape == (0, 2)
    assert kde.logpdf(np.zeros((0, 2))).shape == (0,)


def test_zero_weight_points_are_ignored_and_huge_coordinates_stay_finite():
    kde = gs.KDE(bandwidth=1.0).fit([[0.0], [100.0]], weights=[1.0, 0.0])
    ref1 = gs.KDE(bandwidth=1.0).fit([[0.0]])
    np.testing.assert_allclose(kde.logpdf([[0.5], [100.0]]), ref1.logpdf([[0.5], [100.0]]), rtol=1e-14)
    assert (kde.sample(1000, rng=0)[:, 0] < 10).all()
    big = gs.KDE(bandwidth=1.0).fit([[1e150]])
    np.testing.assert_allclose(big.logpdf([[-1e150]]), [-2e300], rtol=1e-15)
    big = gs.KDE(bandwidth=1.0).fit([[1e200]])
    assert big.logpdf([[-1e200]])[0] == -np.inf  # the squared distance overflows: density 0
