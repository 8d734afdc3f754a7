"""gs.metrics against the NumPy twins and the peers (scipy), known values, calibration of
the permutation test, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample import _core
from gensample._tiles import pack
from gensample.reference import metrics as ref

ALPHA = 1e-4
Pair = _core.metrics.Pair  # the pair kernels, exported from metrics.hpp


def _pairs(seed, n, m, d, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(dtype), (rng.normal(size=(m, d)) + 0.3).astype(dtype)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 150),
    m=st.integers(1, 200),
    d=st.integers(1, 17),
    kind=st.sampled_from(sorted(Pair.__members__)),
    seed=st.integers(0, 2**32 - 1),
)
def test_pair_sums_match_the_reference(n, m, d, kind, seed):
    x, y = _pairs(seed, n, m, d)
    w = np.random.default_rng(seed).random(m)
    got = _core.metrics.pair_sums(Pair[kind], pack(y, weight=(w, 0.0)), x, 0.7, 1)
    np.testing.assert_allclose(got, ref.pair_sums(kind, y, w, x, 0.7), rtol=1e-12, atol=1e-300)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    got32 = _core.metrics.pair_sums(Pair[kind], pack(y32, weight=(w, 0.0)), x32, 0.7, 1)
    np.testing.assert_allclose(got32, ref.pair_sums(kind, y32, w.astype(np.float32), x32, 0.7), rtol=2e-5, atol=1e-30)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 150), d=st.integers(1, 9), k=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_nearest_and_balls_match_the_reference(n, d, k, seed):
    x, y = _pairs(seed, n, n + 7, d)
    tiles = pack(x, weight=(1.0, 0.0))
    got = _core.metrics.nearest(tiles, x, k, True, 1)
    np.testing.assert_allclose(got, ref.nearest(x, x, k, True), rtol=1e-13)
    got = _core.metrics.nearest(tiles, y, k, False, 2)
    np.testing.assert_allclose(got, ref.nearest(x, y, k, False), rtol=1e-13)
    r2 = np.random.default_rng(seed).random(n) * 0.5
    balls = pack(x, weight=(1.0, 0.0), radius2=(r2, -np.inf))
    np.testing.assert_array_equal(_core.metrics.in_any_ball(balls, y, 1), ref.in_any_ball(x, r2, y))


def test_thread_count_does_not_change_results():
    x, y = _pairs(1, 3000, 2000, 5, np.float32)
    one = [
        gs.metrics.mmd(x, y, n_threads=1),
        gs.metrics.energy_distance(x, y, n_threads=1),
        gs.metrics.precision_recall(x, y, n_threads=1),
    ]
    two = [
        gs.metrics.mmd(x, y, n_threads=2),
        gs.metrics.energy_distance(x, y, n_threads=2),
        gs.metrics.precision_recall(x, y, n_threads=2),
    ]
    assert one == two


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian"])
def test_mmd_matches_the_reference(kernel):
    x, y = _pairs(2, 300, 200, 3)
    h = gs.metrics.median_bandwidth(x, y)
    gamma = 1 / (2 * h * h) if kernel == "gaussian" else 1 / h
    assert math.isclose(
        gs.metrics.mmd(x, y, kernel=kernel), ref.mmd2(x, y, gamma, kernel), rel_tol=1e-10, abs_tol=1e-14
    )
    assert math.isclose(
        gs.metrics.mmd(x, y, kernel=kernel, bandwidth=0.5),
        ref.mmd2(x, y, 1 / 0.5 if kernel == "laplacian" else 2.0, kernel),
        rel_tol=1e-10,
    )


def test_mmd_of_a_distribution_with_itself_is_about_zero():
    """The unbiased estimate has mean 0 under the null: many small draws average near 0."""
    rng = np.random.default_rng(3)
    values = [gs.metrics.mmd(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)), bandwidth=1.0) for _ in range(200)]
    assert abs(np.mean(values)) < 4 * np.std(values) / math.sqrt(len(values))
    assert gs.metrics.mmd(rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) + 1.0, bandwidth=1.0) > 0.1


def test_mmd_float32_agrees_with_float64():
    x, y = _pairs(4, 4000, 3000, 16)
    a = gs.metrics.mmd(x, y, bandwidth=4.0)
    b = gs.metrics.mmd(x.astype(np.float32), y.astype(np.float32), bandwidth=4.0)
    assert abs(a - b) < 1e-6 * max(1.0, abs(a))


@pytest.mark.slow
def test_permutation_test_p_values_are_uniform_under_the_null():
    """Under the null the p-values of a permutation test are uniform on {1/(P+1), ..., 1}:
    a KS test of 150 of them at alpha = 1e-4, and the rejection rate at 0.05 within the
    binomial's 1e-4 bounds."""
    rng = np.random.default_rng(5)
    p = np.array(
        [
            gs.metrics.mmd_test(rng.normal(size=(40, 2)), rng.normal(size=(30, 2)), n_permutations=99, rng=i)[1]
            for i in range(150)
        ]
    )
    assert stats.kstest(p, "uniform").pvalue > ALPHA
    lo, hi = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], len(p), 0.05)
    assert lo <= np.sum(p <= 0.05) <= hi


def test_permutation_test_detects_a_shift_and_is_reproducible():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + [0.5, 0.0]
    stat, p = gs.metrics.mmd_test(x, y, n_permutations=200, rng=0)
    assert p == 1 / 201 and stat == pytest.approx(gs.metrics.mmd(x, y), rel=1e-12)
    assert gs.metrics.mmd_test(x, y, n_permutations=50, rng=1) == gs.metrics.mmd_test(x, y, n_permutations=50, rng=1)


def test_energy_distance_matches_scipy_in_1d_and_the_reference():
    rng = np.random.default_rng(7)
    u, v = rng.normal(size=400), rng.exponential(size=300)
    assert math.isclose(gs.metrics.energy_distance(u[:, None], v[:, None]), stats.energy_distance(u, v), rel_tol=1e-9)
    x, y = _pairs(8, 200, 150, 4)
    assert math.isclose(gs.metrics.energy_distance(x, y), ref.energy_distance(x, y), rel_tol=1e-10)


@pytest.mark.slow
def test_energy_distance_of_shifted_gaussians_in_closed_form():
    """X ~ N(0, 1), Y ~ N(c, 1): X - Y ~ N(-c, 2), X - X' ~ N(0, 2), so
    D^2 = 2 E|N(c, 2)| - 2 E|N(0, 2)| with E|N(c, s^2)| = s sqrt(2/pi) e^(-c^2/2s^2) + c (1 - 2 Phi(-c/s))."""
    c, s = 0.8, math.sqrt(2)
    folded = s * math.sqrt(2 / math.pi) * math.exp(-c * c / (2 * s * s)) + c * (1 - 2 * stats.norm.cdf(-c / s))
    exact = math.sqrt(2 * folded - 2 * s * math.sqrt(2 / math.pi))
    rng = np.random.default_rng(9)
    got = gs.metrics.energy_distance(rng.normal(size=(20_000, 1)), rng.normal(size=(20_000, 1)) + c)
    assert abs(got - exact) < 0.02  # V-statistics on 2e4 points: bias ~1e-4, sd ~5e-3


def test_sliced_wasserstein_of_a_shift_and_against_scipy():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(1000, 1))
    assert gs.metrics.sliced_wasserstein(x, x + 2.5) == pytest.approx(2.5, rel=1e-12)
    u, v = rng.normal(size=700), rng.gamma(2.0, size=500)  # unequal sizes: merged quantiles
    assert gs.metrics.sliced_wasserstein(u[:, None], v[:, None], p=1) == pytest.approx(
        stats.wasserstein_distance(u, v), rel=1e-12
    )
    assert gs.metrics.sliced_wasserstein(u[:, None], v[:, None], p=2) == pytest.approx(
        ref.wasserstein_1d(u, v, 2), rel=1e-12
    )
    # in 2-D a shift by c gives (E |c . theta|^2)^(1/2) = |c| / sqrt(2)
    y = rng.normal(size=(2000, 2))
    got = gs.metrics.sliced_wasserstein(y, y + [3.0, 4.0], n_projections=4000, rng=0)
    assert got == pytest.approx(5 / math.sqrt(2), rel=0.02)


def test_precision_recall_of_a_collapsed_and_a_wide_model():
    rng = np.random.default_rng(11)
    real = rng.normal(size=(3000, 2))
    p, r = gs.metrics.precision_recall(real, rng.normal(size=(3000, 2)))
    assert p > 0.9 and r > 0.9
    p, r = gs.metrics.precision_recall(real, 0.2 * rng.normal(size=(3000, 2)))  # collapsed: realistic, narrow
    assert p > 0.95 and r < 0.5
    p, r = gs.metrics.precision_recall(real, 4.0 * rng.normal(size=(3000, 2)))  # too wide: covers, unrealistic
    assert p < 0.5 and r > 0.9


def test_support_precision_and_recall():
    scene = gs.datasets.hostage_scene()
    inside = scene.sample(5000, rng=0)
    box = gs.Box([0, 0], [640, 480])
    assert gs.metrics.support_precision(inside, scene) == 1.0
    share = scene.area / box.area
    p = gs.metrics.support_precision(box.sample(20_000, rng=1), scene)
    assert abs(p - share) < 5 * math.sqrt(share * (1 - share) / 20_000)
    assert gs.metrics.support_recall(box, scene, n=10_000, rng=0) == 1.0
    half = gs.Box([0, 0], [320, 480])
    r = gs.metrics.support_recall(half, scene, n=20_000, rng=0)
    assert 0.4 < r < 0.6
    kde = gs.KDE(5.0, kernel="tophat").fit(inside[:200])
    assert 0 < gs.metrics.support_recall(kde, scene, n=5000, rng=0) < 1


def test_mean_logpdf():
    gmm = gs.GMM.from_parameters([1.0], [[0.0, 0.0]], [np.eye(2)])
    x = gmm.sample(10_000, rng=0)
    assert gs.metrics.mean_logpdf(gmm, x) == pytest.approx(float(np.mean(gmm.logpdf(x))), rel=1e-15)
    assert gs.metrics.mean_logpdf(gmm, x) == pytest.approx(-math.log(2 * math.pi) - 1, abs=0.05)  # -entropy


def test_bad_input():
    x = np.ones((10, 2))
    with pytest.raises(ValueError, match="same dimension"):
        gs.metrics.mmd(x, np.ones((10, 3)))
    with pytest.raises(ValueError, match="at least one sample"):
        gs.metrics.energy_distance(np.empty((0, 2)), x)
    with pytest.raises(ValueError, match="finite"):
        gs.metrics.sliced_wasserstein(x * np.nan, x)
    with pytest.raises(ValueError, match="at least 2 points"):
        gs.metrics.mmd(x[:1], x)
    with pytest.raises(ValueError, match="two distinct points"):
        gs.metrics.mmd(x, x)
    with pytest.raises(ValueError, match="bandwidth must be"):
        gs.metrics.mmd(x, x + 1, bandwidth=-1)
    with pytest.raises(ValueError, match="kernel must be"):
        gs.metrics.mmd(x, x + 1, kernel="cosine")
    with pytest.raises(ValueError, match="need more than 3 points"):
        gs.metrics.precision_recall(x[:3], x)
    with pytest.raises(ValueError, match="k must be at most 64"):
        gs.metrics.precision_recall(x, x, k=65)
    with pytest.raises(ValueError, match="p must be"):
        gs.metrics.sliced_wasserstein(x, x, p=0.5)
    with pytest.raises(TypeError, match="region"):
        gs.metrics.support_precision(x, gs.KDE(1.0).fit(x + np.arange(10)[:, None]))
    with pytest.raises(ValueError, match="dimension"):
        gs.metrics.support_precision(np.ones((5, 3)), gs.Box([0, 0], [1, 1]))
    with pytest.raises(TypeError, match="Distribution"):
        gs.metrics.mean_logpdf("model", x)
    with pytest.raises(TypeError, match="n_permutations"):
        gs.metrics.mmd_test(x, x + 1, n_permutations=1.5)
