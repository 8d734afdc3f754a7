"""gs.GMM against its NumPy twin and scikit-learn; conditioning against brute force;
statistics of its samples; thread invariance; bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample.gmm import COVARIANCE_TYPES, INITS, ConvergenceWarning
from gensample.reference import gmm as ref

ALPHA = 1e-4  # significance of every statistical test here


def _random_covariances(covariance, k, d, rng, condition=1.0):
    """Valid covariances of the type's shape; `condition` stretches the eigenvalues (up to 10**condition)."""

    def spd():
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        return (Q * np.logspace(0, condition, d)[rng.permutation(d)]) @ Q.T * rng.uniform(0.2, 2)

    if covariance == "full":
        return np.stack([spd() for _ in range(k)])
    if covariance == "tied":
        return spd()
    if covariance == "diag":
        return 10 ** rng.uniform(0, condition, (k, d)) * rng.uniform(0.2, 2)
    return 10 ** rng.uniform(0, condition, k) * 0.5


def _random_gmm(covariance, k, d, rng, condition=1.0, zero_weight=False):
    w = rng.uniform(0.1, 1, k)
    if zero_weight and k > 1:
        w[0] = 0.0
    w /= w.sum()
    return gs.GMM.from_parameters(
        w, rng.normal(size=(k, d)) * 3, _random_covariances(covariance, k, d, rng, condition), covariance=covariance
    )


def _ref(g):
    """The twin's arguments: (log_coef, means, full factors A_k)."""
    return g._log_coef, g.means_, g._factors


def _close(a, b, rel):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = np.abs(a - b) / np.maximum(1.0, np.abs(b))
    assert err.max(initial=0) <= rel, err.max()


# ---- against the reference ------------------------------------------------------------


@given(
    covariance=st.sampled_from(COVARIANCE_TYPES),
    k=st.integers(1, 8),
    d=st.integers(1, 16),
    m=st.integers(0, 70),
    condition=st.sampled_from([0.0, 2.0, 6.0]),
    seed=st.integers(0, 2**31),
)
def test_evaluation_matches_reference(covariance, k, d, m, condition, seed):
    rng = np.random.default_rng(seed)
    g = _random_gmm(covariance, k, d, rng, condition, zero_weight=seed % 3 == 0)
    x = rng.normal(size=(m, d)) * 4
    _close(g.logpdf(x), ref.log_density(*_ref(g), x), 1e-12)
    resp = g.predict_proba(x)
    _close(resp, np.exp(ref.log_responsibilities(*_ref(g), x)), 1e-12)
    # the score is a difference of terms of size |A^T A (x - mu)|: compare at that scale
    want = ref.score(*_ref(g), x)
    scale = 1 + np.abs(want).max(initial=0) + 10**condition
    assert np.abs(g.grad_logpdf(x) - want).max(initial=0) <= 1e-11 * scale
    # float32 evaluates in float32
    y32 = g.logpdf(x.astype(np.float32))
    assert y32.dtype == np.float32
    _close(y32, ref.log_density(*_ref(g), x.astype(np.float32)), 3e-4 * max(1, 10**condition / 100))


def test_score_matches_finite_differences():
    rng = np.random.default_rng(1)
    g = _random_gmm("full", 4, 3, rng)
    x = rng.normal(size=(20, 3))
    h = 1e-6
    fd = np.stack([(g.logpdf(x + h * e) - g.logpdf(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(g.grad_logpdf(x), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [5, 6, 7, 8, 11, 12, 13, 16, 21])
def test_log_density_kernels_agree_bit_for_bit(d, dtype):
    """On AVX-512 and AVX2 the log-density takes several vectors of points per block (three,
    two) and, on AVX2, half a block of rows at a time; the other passes take one vector and
    whole blocks of rows: the same operations per point, so the same bits, for every count
    of points (full and partial blocks) and every dimension (whole and partial blocks of
    rows, split or not)."""
    rng = np.random.default_rng(d)
    g = _random_gmm("full", 7, d, rng, condition=2.0)
    x = (rng.normal(size=(101, d)) * 3).astype(dtype)
    engine = g._engine(x.dtype)
    for m in [1, 7, 8, 9, 23, 24, 25, 47, 101]:
        for log in (True, False):
            _, log_norm = gs._core.gmm.responsibilities(engine, x[:m], log, 0)
            np.testing.assert_array_equal(g.logpdf(x[:m]), log_norm)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
@pytest.mark.parametrize("d", [1, 2, 4, 5, 16])
def test_probabilities_are_the_exp_of_the_log_responsibilities(covariance, d, dtype):
    """predict_proba divides the log-sum's own exps by their sum instead of taking exp of
    log p(k | x): the two agree to rounding in every pass (one vector at a time for d <= 4
    and diagonal factors, blocks of vectors above), and the log p(x) beside it is logpdf's."""
    rng = np.random.default_rng(d)
    g = _random_gmm(covariance, 9, d, rng, condition=2.0)
    x = (rng.normal(size=(101, d)) * 3).astype(dtype)
    eps = np.finfo(dtype).eps
    p = g.predict_proba(x)
    assert p.dtype == dtype
    np.testing.assert_allclose(p, np.exp(g.log_responsibilities(x).astype(np.float64)), rtol=0, atol=4 * eps)
    np.testing.assert_allclose(p.sum(axis=1, dtype=np.float64), 1, rtol=0, atol=16 * eps)
    _, log_norm = gs._core.gmm.responsibilities(g._engine(x.dtype), x, False, 0)
    np.testing.assert_array_equal(log_norm, g.logpdf(x))


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
@pytest.mark.parametrize("d", [1, 2, 5, 11, 16])
def test_em_moments_match_reference(covariance, d):
    rng = np.random.default_rng(d)
    g = _random_gmm(covariance, 5, d, rng)
    x = rng.normal(size=(3001, d)) * 3  # not a multiple of the lane width
    v = rng.uniform(0, 2, 3001)
    full = covariance in ("full", "tied")
    weight, first, second, ll = gs._core.gmm.em_moments(g._engine(np.float64), x, v, full, 0)
    w_ref, f_ref, s_ref, ll_ref = ref.em_moments(*_ref(g), x, v, full)
    if full:
        rows, cols = np.tril_indices(d)
        s_ref = s_ref[:, rows, cols]
    np.testing.assert_allclose(weight, w_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(first, f_ref, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(second, s_ref, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(ll, ll_ref, rtol=1e-12)


@pytest.mark.parametrize("k, trials", [(1, 2), (4, 3), (9, 4)])
def test_kmeans_plusplus_matches_reference_exactly(k, trials):
    rng = np.random.default_rng(k)
    x = rng.normal(size=(700, 3))
    v = rng.uniform(0, 1, 700)
    v[::7] = 0  # points without weight are never seeds
    for key in (1, 2**63 + 5):
        seeds = gs._core.gmm.kmeans_plusplus(x, v, k, trials, key, 0)
        np.testing.assert_array_equal(seeds, ref.kmeans_plusplus(x, v, k, trials, key))
        assert (v[seeds] > 0).all() and np.unique(seeds).size == k


def test_lloyd_step_matches_reference():
    rng = np.random.default_rng(2)
    x, v = rng.normal(size=(5000, 4)), rng.uniform(0, 1, 5000)
    centres = x[:6].copy()
    labels, weight, sums, inertia = gs._core.gmm.lloyd_step(x, v, centres, 0)
    l_ref, w_ref, s_ref, i_ref = ref.lloyd_step(x, v, centres)
    np.testing.assert_array_equal(labels, l_ref)
    np.testing.assert_allclose(weight, w_ref, rtol=1e-12)
    np.testing.assert_allclose(sums, s_ref, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(inertia, i_ref, rtol=1e-12)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_sample_matches_reference(covariance):
    rng = np.random.default_rng(3)
    g = _random_gmm(covariance, 5, 3, rng, zero_weight=True)
    key = gs.random.key_from_rng(11)
    x, labels = g.sample_with_labels(3000, rng=11)
    prob, alias = gs._core.random.alias_table(g.weights_)
    x_ref, c_ref = ref.sample(key, g.means_, g._chol, prob, alias, 3000)
    np.testing.assert_array_equal(labels, c_ref)
    np.testing.assert_allclose(x, x_ref, rtol=1e-13, atol=1e-13)
    assert not (labels == 0).any()  # the zero-weight component
    np.testing.assert_array_equal(g.sample(3000, rng=11), x)
    np.testing.assert_array_equal(g.sample(3000, rng=11, dtype=np.float32), x.astype(np.float32))
    part = np.empty((500, 3))
    g._sample_rows(key, 2500, part, 0)  # rows 2500.. of the same stream
    np.testing.assert_array_equal(part, x[2500:])


# ---- against scikit-learn --------------------------------------------------------------


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_evaluation_matches_sklearn(covariance):
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(-2, 1, (300, 4)), rng.normal(2, 0.5, (300, 4))])
    sk = GaussianMixture(3, covariance_type=covariance, random_state=0).fit(X)
    g = gs.GMM.from_parameters(sk.weights_, sk.means_, sk.covariances_, covariance=covariance)
    q = rng.normal(size=(200, 4)) * 3
    np.testing.assert_allclose(g.logpdf(q), sk.score_samples(q), rtol=1e-12)
    np.testing.assert_allclose(g.predict_proba(q), sk.predict_proba(q), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(g.predict(q), sk.predict(q))
    np.testing.assert_allclose(g.precisions_cholesky_, sk.precisions_cholesky_, rtol=1e-10)
    np.testing.assert_allclose(g.precisions_, sk.precisions_, rtol=1e-10)
    np.testing.assert_allclose([g.bic(X), g.aic(X)], [sk.bic(X), sk.aic(X)], rtol=1e-12)


# ---- fitting --------------------------------------------------------------------------


@pytest.mark.parametrize("init", [i for i in INITS if i != "random"])
@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_fit_recovers_a_mixture(init, covariance):
    rng = np.random.default_rng(5)
    truth = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    X = np.concatenate([rng.normal(c, 0.7, (n, 2)) for c, n in zip(truth, (600, 300, 900))])
    g = gs.GMM(3, covariance, init=init, n_init=2, rng=1).fit(X)
    assert g.converged_ and 1 <= g.n_iter_ <= 100
    order = np.argsort(g.means_[:, 0] + 0.1 * g.means_[:, 1])
    np.testing.assert_allclose(g.means_[order], truth, atol=0.15)
    np.testing.assert_allclose(g.weights_[order], [1 / 3, 1 / 6, 1 / 2], atol=0.02)
    # the fitted lower bound is the mean log-likelihood of the fitted parameters' E-step
    assert g.lower_bound_ == pytest.approx(g.score(X), abs=1e-3)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_random_init_improves_on_one_component(covariance):
    """Random responsibilities start every mean near the data mean (scikit-learn's too), so
    EM may stop in a saddle; it still converges to a valid mixture no worse than one Gaussian."""
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(c, 0.7, (500, 2)) for c in ([-6.0, 0.0], [0.0, 6.0], [6.0, 0.0])])
    g = gs.GMM(3, covariance, init="random", rng=2).fit(X)
    one = gs.GMM(1, covariance).fit(X)
    assert g.converged_ and g.weights_.sum() == pytest.approx(1.0)
    assert g.score(X) >= one.score(X) - g.tol  # EM's tolerance


def test_weights_are_repeated_points():
    """Integer sample weights give the same EM path as repeating the rows."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 2)) * [1, 3]
    w = rng.integers(0, 4, 400)
    start = gs.GMM.from_parameters([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], np.stack([np.eye(2)] * 2))
    fits = []
    for data, weights in ((X, w), (np.repeat(X, w, axis=0), None)):
        g = gs.GMM.from_parameters(start.weights_, start.means_, start.covariances_)
        g.warm_start, g.tol, g.max_iter = True, 1e-10, 2000
        fits.append(g.fit(data, weights=weights))
    a, b = fits
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-9)
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-12)


@pytest.mark.parametrize("d", [3, 9])  # 9: the blocked general-dimension passes
def test_fit_is_reproducible_and_thread_invariant(d):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20_000, d)) * np.arange(1, d + 1)
    a = gs.GMM(4, rng=3).fit(X, n_threads=1)
    b = gs.GMM(4, rng=3).fit(X, n_threads=2)
    c = gs.GMM(4, rng=3).fit(X, n_threads=5)
    for other in (b, c):
        np.testing.assert_array_equal(a.means_, other.means_)
        np.testing.assert_array_equal(a.covariances_, other.covariances_)
        assert a.lower_bound_ == other.lower_bound_ and a.n_iter_ == other.n_iter_
    q = rng.normal(size=(5000, d))
    for method in ("logpdf", "predict_proba", "grad_logpdf"):
        np.testing.assert_array_equal(getattr(a, method)(q, n_threads=1), getattr(a, method)(q, n_threads=3))
    np.testing.assert_array_equal(a.sample(5000, rng=2, n_threads=1), a.sample(5000, rng=2, n_threads=2))


def test_convergence_warning_and_warm_start():
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.normal(-2, 1, (500, 2)), rng.normal(2, 1, (500, 2))])
    g = gs.GMM(2, max_iter=1, tol=1e-12, warm_start=True, rng=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        g.fit(X)
    assert not g.converged_ and g.n_iter_ == 1
    first = g.lower_bound_
    with pytest.warns(ConvergenceWarning):
        g.fit(X)  # continues from where it stopped
    assert g.lower_bound_ >= first


def test_n_init_keeps_the_best_start():
    rng = np.random.default_rng(9)
    X = np.concatenate([rng.normal(c, 0.3, (200, 1)) for c in (-4, 0, 1, 5)])
    singles = [gs.GMM(4, init="random", rng=s).fit(X).lower_bound_ for s in range(4)]
    best = gs.GMM(4, init="random", n_init=4, rng=0).fit(X).lower_bound_
    assert best >= max(singles) - 1e-9 or best >= singles[0]


# ---- conditioning and marginals ---------------------------------------------------------


def _grid_conditional(g, value, dim, grid):
    """log p(x_other | x_dim = value) by brute force: the joint on a grid, normalised numerically."""
    pts = np.empty((grid.size, 2))
    pts[:, dim], pts[:, 1 - dim] = value, grid
    logp = g.logpdf(pts)
    p = np.exp(logp - logp.max())
    return logp - logp.max() - np.log(np.trapezoid(p, grid))


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
@pytest.mark.parametrize("dim", [0, 1])
def test_condition_matches_brute_force(covariance, dim):
    rng = np.random.default_rng(10)
    g = _random_gmm(covariance, 3, 2, rng)
    grid = np.linspace(-30, 30, 120_001)
    for value in (-2.0, 0.3, 4.0):
        cond = g.condition([value], dims=[dim])
        assert cond.dim == 1 and cond.covariance == covariance
        np.testing.assert_allclose(cond.weights_.sum(), 1.0, rtol=1e-14)
        inside = slice(40_000, 80_001)  # where the density is not negligible
        np.testing.assert_allclose(
            cond.logpdf(grid[inside, None]), _grid_conditional(g, value, dim, grid)[inside], atol=1e-7
        )


def test_condition_and_marginal_in_higher_dimension():
    """Conditioning on two of five dimensions equals joint / marginal (exact identity)."""
    rng = np.random.default_rng(11)
    g = _random_gmm("full", 4, 5, rng)
    dims, rest = np.array([3, 1]), np.array([0, 2, 4])
    v = np.array([0.5, -1.0])
    cond = g.condition(v, dims=dims)
    y = rng.normal(size=(50, 3)) * 2
    joint = np.empty((50, 5))
    joint[:, dims], joint[:, rest] = v, y
    np.testing.assert_allclose(cond.logpdf(y), g.logpdf(joint) - g.marginal(dims).logpdf(v[None])[0], atol=1e-10)
    m = g.marginal([4, 0])
    np.testing.assert_allclose(m.means_, g.means_[:, [4, 0]])
    np.testing.assert_allclose(m.covariances_, g.covariances_[:, [4, 0]][:, :, [4, 0]])


def test_marginal_matches_numerical_integration():
    rng = np.random.default_rng(12)
    g = _random_gmm("full", 3, 2, rng)
    grid = np.linspace(-40, 40, 40_001)
    for x0 in (-1.0, 2.5):
        pts = np.c_[np.full(grid.size, x0), grid]
        numeric = np.log(np.trapezoid(g.pdf(pts), grid))
        np.testing.assert_allclose(g.marginal([0]).logpdf([[x0]])[0], numeric, rtol=1e-9)


# ---- samples ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_sample_frequencies_and_moments(covariance):
    rng = np.random.default_rng(13)
    g = _random_gmm(covariance, 4, 3, rng)
    n = 200_000
    x, labels = g.sample_with_labels(n, rng=4)
    counts = np.bincount(labels, minlength=4)
    assert stats.chisquare(counts, g.weights_ * n).pvalue > ALPHA
    # rows are not grouped by component
    assert (np.diff(labels[:100]) != 0).sum() > 30
    cov = g._full_covariances()
    for k in range(4):
        xk = x[labels == k]
        z = (xk.mean(axis=0) - g.means_[k]) / np.sqrt(np.diag(cov[k]) / len(xk))
        assert np.abs(z).max() < stats.norm.isf(ALPHA / 24)
        c = xk - g.means_[k]
        prods = np.stack([c[:, i] * c[:, j] for i in range(3) for j in range(3)], axis=1)
        z2 = (prods.mean(axis=0) - cov[k].ravel()) / (prods.std(axis=0) / np.sqrt(len(xk)))
        assert np.abs(z2).max() < stats.norm.isf(ALPHA / 72)


# ---- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[-1.0]]]), {}, "positive definite"),
        (([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [[[1.0, 2.0], [2.0, 1.0]]] * 2), {}, "positive definite"),
        (([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [[[1.0, 0.5], [0.0, 1.0]]] * 2), {}, "symmetric"),
        (([0.6, 0.6], [[0.0], [1.0]], [1.0, 1.0]), {"covariance": "spherical"}, "sum to 1"),
        (([1.5, -0.5], [[0.0], [1.0]], [1.0, 1.0]), {"covariance": "spherical"}, "non-negative"),
        (([0.5, 0.5], [[0.0], [1.0]], [1.0, 0.0]), {"covariance": "spherical"}, "positive"),
        (([0.5, 0.5], [[0.0], [np.nan]], [1.0, 1.0]), {"covariance": "spherical"}, "finite"),
        (([0.5, 0.5], [[0.0], [1.0]], [[1.0], [1.0]]), {"covariance": "full"}, "shape"),
        (([1.0], [[0.0, 1.0]], [[1.0, 1.0]]), {"covariance": "tied"}, "shape"),
        (([0.5, 0.5, 0.0], [[0.0], [1.0]], [1.0, 1.0]), {"covariance": "spherical"}, r"weights must have shape \(2,\)"),
        (([1.0], [], [1.0]), {"covariance": "spherical"}, "means must have shape"),
    ],
)
def test_bad_parameters(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gs.GMM.from_parameters(*args, **kwargs)


def test_rounding_asymmetry_is_accepted():
    # Q diag(l) Q.T in floating point: off-diagonal entries near zero differ from their
    # transposes by ~1e-17, relatively far apart, yet the matrix is symmetric to rounding.
    cov = np.array([[1.8, 2.7e-17, 4.3e-16], [2.9e-17, 1.2, 0.3], [4.3e-16, 0.3, 0.9]])
    g = gs.GMM.from_parameters([1.0], [[0.0, 0.0, 0.0]], [cov])
    np.testing.assert_array_equal(g.covariances_[0], 0.5 * (cov + cov.T))
    with pytest.raises(ValueError, match="symmetric"):
        gs.GMM.from_parameters([1.0], [[0.0, 0.0, 0.0]], [cov + np.triu(np.full((3, 3), 1e-6), 1)])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"n_components": 0}, ValueError, "n_components"),
        ({"n_components": 1.5}, TypeError, "n_components"),
        ({"covariance": "dense"}, ValueError, "covariance must be one of"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"reg_covar": float("nan")}, ValueError, "reg_covar must be a finite number"),
        ({"max_iter": -1}, ValueError, "max_iter"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"init": "kmeans++"}, ValueError, "init must be one of"),
    ],
)
def test_bad_hyperparameters(kwargs, err, match):
    with pytest.raises(err, match=match):
        gs.GMM(**kwargs)


def test_bad_fit_and_use():
    with pytest.raises(ValueError, match="n_components=3 needs at least as many samples"):
        gs.GMM(3).fit(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="n_components=3 needs"):
        gs.GMM(3).fit(np.arange(8.0).reshape(4, 2), weights=[1, 0, 0, 1])
    for init in ("kmeans", "k-means++", "random_from_data"):
        with pytest.raises(ValueError, match="fewer than n_components=3; use fewer components or a positive reg_covar"):
            gs.GMM(3, init=init, reg_covar=0.0).fit([[0.0], [0.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match="finite"):
        gs.GMM(1).fit([[0.0], [np.nan]])
    with pytest.raises(ValueError, match="non-negative"):
        gs.GMM(1).fit([[0.0], [1.0]], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        gs.GMM(2, reg_covar=0.0).fit([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [10.0, 10.0]])
    with pytest.raises(RuntimeError, match="not fitted"):
        gs.GMM(2).logpdf([[0.0]])
    g = gs.GMM.from_parameters([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], np.stack([np.eye(2)] * 2))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        g.logpdf(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        g.predict_proba([[np.inf, 0.0]])
    with pytest.raises(ValueError, match="distinct indices"):
        g.condition([0.0], dims=[2])
    with pytest.raises(ValueError, match="leave at least one"):
        g.condition([0.0, 1.0], dims=[0, 1])
    with pytest.raises(ValueError, match="one per entry of dims"):
        g.condition([0.0, 1.0], dims=[0])
    with pytest.raises(ValueError, match="finite"):
        g.condition([np.nan], dims=[0])
    with pytest.raises(TypeError, match="dimension indices"):
        g.marginal([0.5])
    with pytest.raises(ValueError, match="non-negative"):
        g.sample(-1)
    assert g.sample(0).shape == (0, 2) and g.logpdf(np.zeros((0, 2))).shape == (0,)


def test_far_points_and_zero_weights_stay_finite():
    g = gs.GMM.from_parameters([1.0, 0.0], [[0.0], [5.0]], [1.0, 1.0], covariance="spherical")
    np.testing.assert_allclose(g.logpdf([[1e100]]), [-0.5e200 - 0.5 * np.log(2 * np.pi)], rtol=1e-15)
    np.testing.assert_allclose(g.logpdf([[5.0]]), stats.norm.logpdf(5.0), rtol=1e-14)
    assert g.predict_proba([[5.0]])[0, 1] < 1e-300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (g.sample(1000, rng=0)[:, 0] < 6).all()


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random_from_data", "random"])
def test_more_components_than_distinct_points(init):
    # scikit-learn fits 10 components to 2 distinct points when reg_covar > 0: the point
    # masses become Gaussians of variance reg_covar, and the spare components stay harmless
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 50, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.gmm.ConvergenceWarning)
        gmm = gs.GMM(10, init=init, rng=0).fit(X)
    assert np.isfinite(gmm.lower_bound_) and np.isfinite(gmm.covariances_).all()
    assert np.allclose(gmm.predict_proba(X).sum(axis=1), 1.0)
    if init != "random":  # random responsibilities start every component at the mean, and stay
        # both point masses are found: the density is high at both and nowhere between
        logp = gmm.logpdf(np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]))
        assert logp[0] > 5 and logp[1] > 5 and logp[2] < -100


def test_max_iter_zero_keeps_the_start_and_lower_bounds_trace_em():
    X = np.random.default_rng(0).normal(size=(300, 2)) + np.repeat([[0.0, 0.0], [5.0, 5.0]], 150, axis=0)
    means = [[0.5, 0.5], [4.0, 4.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # max_iter=0 asks for the start: no ConvergenceWarning
        start = gs.GMM(2, max_iter=0, rng=0)._fit(X, np.ones(len(X)), 0, {"means": np.array(means)})
    assert np.array_equal(start.means_, means)
    assert (start.n_iter_, start.converged_, start.lower_bounds_) == (0, False, [])
    fitted = gs.GMM(2, rng=0, tol=1e-8).fit(X)
    assert len(fitted.lower_bounds_) == fitted.n_iter_ and fitted.lower_bounds_[-1] == fitted.lower_bound_
    assert np.all(np.diff(fitted.lower_bounds_) > -1e-12)  # EM never lowers the bound


def test_a_fit_of_max_iter_zero_saves_and_loads(tmp_path):
    X = np.random.default_rng(0).normal(size=(200, 2))
    gmm = gs.GMM(2, max_iter=0, rng=0).fit(X)
    assert gmm.lower_bound_ == -np.inf
    back = gs.load(gmm.save(tmp_path / "g.npz"))
    assert back.lower_bound_ == -np.inf and back.n_iter_ == 0 and back.lower_bounds_ == []
    np.testing.assert_array_equal(back.sample(50, rng=1), gmm.sample(50, rng=1))
