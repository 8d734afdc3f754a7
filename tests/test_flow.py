"""gs.Flow and gs.fields against their NumPy twins, closed-form paths, brute-force
posteriors and the mixture they target; invariance; bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample.reference import flow as ref

ALPHA = 1e-4  # significance of every statistical test here


def _mixture(k, d, rng, scale=1.0):
    w = rng.uniform(0.2, 1, k)
    A = rng.normal(size=(k, d, d)) * 0.4
    cov = (A @ np.swapaxes(A, 1, 2) + 0.2 * np.eye(d)) * scale
    return gs.GMM.from_parameters(w / w.sum(), rng.normal(size=(k, d)) * 2, cov)


@given(
    k=st.integers(1, 6),
    d=st.integers(1, 5),
    t=st.sampled_from([0.0, 1e-9, 0.25, 0.5, 0.9, 1 - 1e-9, 1.0]),
    seed=st.integers(0, 2**31),
)
def test_field_matches_reference(k, d, t, seed):
    rng = np.random.default_rng(seed)
    field = gs.fields.GaussianMixture(_mixture(k, d, rng))
    x = rng.normal(size=(37, d)) * 3
    u_ref, div_ref = ref.mixture_velocity(*field._args(), t, x, with_div=True)
    np.testing.assert_allclose(field.velocity(t, x), u_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(field.divergence(t, x), div_ref, rtol=1e-9, atol=1e-9)
    u32 = field.velocity(t, x.astype(np.float32))
    assert u32.dtype == np.float32
    np.testing.assert_allclose(u32, u_ref, rtol=2e-3, atol=2e-3)


def test_velocity_is_the_posterior_mean_by_brute_force():
    """u_t(x) = (E[x1 | x_t = x] - x) / (1 - t), the expectation by quadrature over x1 (1-D)."""
    g = gs.GMM.from_parameters([0.2, 0.5, 0.3], [[-3.0], [0.5], [2.5]], [[[0.3]], [[0.8]], [[0.1]]])
    field = gs.fields.GaussianMixture(g)
    x1 = np.linspace(-12, 12, 400_001)
    p1 = g.pdf(x1[:, None])
    for t in (0.1, 0.5, 0.8, 0.97):
        x = np.array([-2.5, -0.3, 0.0, 1.7, 3.1])
        lik = stats.norm.pdf(x[:, None], loc=t * x1[None], scale=1 - t) * p1[None]
        posterior_mean = np.trapezoid(lik * x1[None], x1, axis=1) / np.trapezoid(lik, x1, axis=1)
        np.testing.assert_allclose(
            field.velocity(t, x[:, None])[:, 0], (posterior_mean - x) / (1 - t), rtol=1e-7, atol=1e-7
        )


def test_divergence_matches_finite_differences():
    rng = np.random.default_rng(1)
    field = gs.fields.GaussianMixture(_mixture(4, 3, rng))
    x = rng.normal(size=(10, 3)) * 2
    h = 1e-6
    for t in (0.0, 0.4, 1.0):
        jac_trace = sum(
            (field.velocity(t, x + h * e)[:, i] - field.velocity(t, x - h * e)[:, i]) / (2 * h)
            for i, e in enumerate(np.eye(3))
        )
        np.testing.assert_allclose(field.divergence(t, x), jac_trace, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("solver", ref.SOLVERS)
def test_integration_matches_reference(solver):
    rng = np.random.default_rng(2)
    field = gs.fields.GaussianMixture(_mixture(3, 2, rng))
    flow = gs.Flow(field, solver=solver, steps=7)
    x0 = rng.normal(size=(101, 2))
    grid = np.linspace(0, 1, 8)
    want, _ = ref.integrate(lambda t, x: ref.mixture_velocity(*field._args(), t, x, True), solver, grid, x0)
    np.testing.assert_allclose(flow.integrate(x0), want, rtol=1e-11, atol=1e-11)
    # backwards with the divergence integral
    back = np.array(want)
    log_det = np.zeros(len(back))
    flow._run(1.0, 0.0, back, log_det, None, 0)
    want_back, want_ld = ref.integrate(
        lambda t, x: ref.mixture_velocity(*field._args(), t, x, True), solver, grid[::-1], want
    )
    np.testing.assert_allclose(back, want_back, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(log_det, want_ld, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("solver, order", [("euler", 1), ("midpoint", 2), ("heun", 2), ("rk4", 4)])
def test_order_of_convergence_on_a_closed_form_path(solver, order):
    """One Gaussian N(mu, diag(s^2)): the path is x_t = t mu + sqrt(t^2 s^2 + (1 - t)^2) x0."""
    mu, s = np.array([1.0, -2.0]), np.array([0.5, 2.0])
    field = gs.fields.GaussianMixture(gs.GMM.from_parameters([1.0], [mu], [s**2], covariance="diag"))
    x0 = np.random.default_rng(3).normal(size=(50, 2))
    exact = mu + s * x0
    errors = [np.abs(gs.Flow(field, solver, steps).integrate(x0) - exact).max() for steps in (32, 64)]
    assert errors[1] < {1: 0.2, 2: 1e-2, 4: 1e-5}[order]
    assert np.log2(errors[0] / errors[1]) > order - 0.25  # at least the solver's order (midpoint does better here)


def test_logpdf_is_the_mixture_density():
    rng = np.random.default_rng(4)
    g = _mixture(5, 2, rng)
    flow = gs.Flow(gs.fields.GaussianMixture(g), "rk4", steps=200)
    x = np.concatenate([g.sample(200, rng=1), rng.normal(size=(20, 2)) * 4])
    np.testing.assert_allclose(flow.logpdf(x), g.logpdf(x), atol=1e-4)


def test_times_backwards_and_kde_targets():
    rng = np.random.default_rng(5)
    g = _mixture(3, 2, rng)
    flow = gs.Flow(gs.fields.GaussianMixture(g), "rk4", steps=40)
    x0 = rng.normal(size=(300, 2))
    x1 = flow.integrate(x0)
    states = flow.integrate(x0, times=[1.0, 0.0, 0.5])  # on the uniform grid: the same steps
    np.testing.assert_array_equal(states[0], x1)
    np.testing.assert_array_equal(states[1], x0)
    np.testing.assert_array_equal(states[2], gs.Flow(flow.field, "rk4", 20).integrate(x0, t1=0.5))
    extra = flow.integrate(x0, times=[0.333])  # an extra grid point: still close to the path
    np.testing.assert_allclose(extra[0], gs.Flow(flow.field, "rk4", 400).integrate(x0, t1=0.333), atol=1e-6)
    np.testing.assert_allclose(flow.integrate(x1, t0=1.0, t1=0.0), x0, atol=1e-5)  # and back
    X = rng.normal(size=(40, 2))
    kde = gs.KDE(bandwidth=0.4).fit(X)
    as_gmm = gs.GMM.from_parameters(np.full(40, 1 / 40), X, np.full(40, 0.16), covariance="spherical")
    np.testing.assert_allclose(
        gs.fields.GaussianMixture(kde).velocity(0.6, x0),
        gs.fields.GaussianMixture(as_gmm).velocity(0.6, x0),
        rtol=1e-12,
        atol=1e-12,
    )


def test_sample_is_reproducible_row_by_row_and_thread_invariant():
    flow = gs.Flow(gs.fields.GaussianMixture(_mixture(4, 3, np.random.default_rng(6))), "heun", 16)
    a = flow.sample(3000, rng=9, n_threads=1)
    np.testing.assert_array_equal(a, flow.sample(3000, rng=9, n_threads=2))
    np.testing.assert_array_equal(a[:1000], flow.sample(1000, rng=9))
    part = np.empty((500, 3))
    flow._sample_rows(gs.random.key_from_rng(9), 2500, part, 0)
    np.testing.assert_array_equal(part, a[2500:])
    x0 = gs.random.normal(3000, 3, rng=9)
    np.testing.assert_array_equal(flow.integrate(x0), a)
    np.testing.assert_array_equal(flow.integrate(x0[1234:1300]), a[1234:1300])  # batch invariance


@pytest.mark.slow
def test_samples_follow_the_mixture():
    g = gs.GMM.from_parameters(
        [0.2, 0.5, 0.3],
        [[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]],
        np.stack([np.diag([0.3, 0.2]), np.diag([0.5, 0.5]), np.array([[0.4, 0.2], [0.2, 0.3]])]),
    )
    x = gs.Flow(gs.fields.GaussianMixture(g), "rk4", 64).sample(100_000, rng=3)
    truth = g.sample(100_000, rng=4)
    for i in range(2):  # each marginal, two-sample KS against exact draws
        assert stats.ks_2samp(x[:, i], truth[:, i]).pvalue > ALPHA
    counts = np.bincount(g.predict(x), minlength=3)
    assert stats.chisquare(counts, np.bincount(g.predict(truth), minlength=3) * 1.0).pvalue > ALPHA


@pytest.mark.parametrize("solver", ref.SOLVERS)
def test_callable_field_runs_the_same_solvers(solver):
    rng = np.random.default_rng(8)
    mix = gs.fields.GaussianMixture(_mixture(3, 2, rng))
    calls = []

    def fn(t, x):
        calls.append((t, x.dtype))
        return ref.mixture_velocity(*mix._args(), t, x)

    field = gs.fields.Callable(fn, dim=2, divergence=lambda t, x: ref.mixture_velocity(*mix._args(), t, x, True)[1])
    x0 = rng.normal(size=(64, 2))
    ours, theirs = gs.Flow(field, solver, 9), gs.Flow(mix, solver, 9)
    np.testing.assert_allclose(ours.integrate(x0), theirs.integrate(x0), rtol=1e-11, atol=1e-11)
    assert len(calls) == 9 * {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}[solver]  # one call per stage
    assert all(0.0 <= t <= 1.0 for t, _ in calls)
    np.testing.assert_allclose(
        ours.integrate(x0, times=[0.5, 1.0]), theirs.integrate(x0, times=[0.5, 1.0]), rtol=1e-11, atol=1e-11
    )
    np.testing.assert_allclose(ours.logpdf(x0), theirs.logpdf(x0), rtol=1e-10, atol=1e-10)
    calls.clear()
    assert ours.sample(10, rng=1, dtype=np.float32).dtype == np.float32
    assert {dt for _, dt in calls} == {np.dtype(np.float32)}


def test_callable_field_errors():
    def bad(t, x):
        out = -x
        if t > 0.5:
            out[3] = np.nan
        return out

    flow = gs.Flow(gs.fields.Callable(bad, dim=2), "rk4", 4)
    with pytest.raises(
        FloatingPointError, match=r"step 2, stage 2 \(t = 0.625\) for 1 of 10 particles \(the first: row 3\)"
    ):
        flow.sample(10, rng=0)
    with pytest.raises(ValueError, match="expected float"):
        gs.Flow(gs.fields.Callable(lambda t, x: x[:, :1], dim=2)).sample(4, rng=0)
    with pytest.raises(TypeError, match="no divergence"):
        gs.Flow(gs.fields.Callable(lambda t, x: -x, dim=2)).logpdf([[0.0, 0.0]])
    with pytest.raises(TypeError, match="callable"):
        gs.fields.Callable(3.0, dim=2)
    with pytest.raises(ValueError, match="dim"):
        gs.fields.Callable(lambda t, x: x, dim=0)


def test_sde_without_noise_is_euler_and_paths_are_reproducible():
    rng = np.random.default_rng(10)
    mix = gs.fields.GaussianMixture(_mixture(3, 2, rng))
    np.testing.assert_array_equal(
        gs.Flow(mix, steps=30, sde=0.0).sample(500, rng=1), gs.Flow(mix, "euler", 30).sample(500, rng=1)
    )
    flow = gs.Flow(mix, steps=30, sde=lambda t: 1.0 - t)
    a = flow.sample(2000, rng=4, n_threads=1)
    np.testing.assert_array_equal(a, flow.sample(2000, rng=4, n_threads=2))
    np.testing.assert_array_equal(a[:700], flow.sample(700, rng=4))
    part = np.empty((300, 2))
    flow._sample_rows(gs.random.key_from_rng(4), 1700, part, 0)
    np.testing.assert_array_equal(part, a[1700:])
    same = gs.Flow(gs.fields.Callable(lambda t, x: mix.velocity(t, x), dim=2), steps=30, sde=lambda t: 1.0 - t)
    np.testing.assert_allclose(same.sample(2000, rng=4), a, rtol=1e-12, atol=1e-12)
    assert not np.array_equal(a, gs.Flow(mix, "euler", 30).sample(2000, rng=4))  # the noise does something
    x0 = gs.random.normal(50, 2, rng=0)
    np.testing.assert_array_equal(flow.integrate(x0, rng=7), flow.integrate(x0, rng=7))


@pytest.mark.slow
def test_sde_samples_follow_the_mixture():
    g = gs.GMM.from_parameters(
        [0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], np.stack([np.array([[0.3, 0.1], [0.1, 0.2]]), 0.4 * np.eye(2)])
    )
    x = gs.Flow(gs.fields.GaussianMixture(g), steps=400, sde=1.0).sample(20_000, rng=5)
    truth = g.sample(20_000, rng=6)
    for i in range(2):
        assert stats.ks_2samp(x[:, i], truth[:, i]).pvalue > ALPHA


@pytest.mark.parametrize("bandwidth", [0.0, 0.3])
def test_empirical_field_matches_reference(bandwidth):
    rng = np.random.default_rng(11)
    X, w = rng.normal(size=(300, 3)) + 5.0, rng.uniform(0, 1, 300)  # away from the origin, weighted
    field = gs.fields.Empirical(X, weights=w, bandwidth=bandwidth)
    x = rng.normal(size=(41, 3)) * 2 + 5.0
    for t in (0.0, 0.3, 0.8, 0.97) + ((1.0,) if bandwidth > 0 else ()):
        u, div = ref.mixture_velocity(*field._args(), t, x, with_div=True)
        np.testing.assert_allclose(field.velocity(t, x), u, rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(field.divergence(t, x), div, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(field.velocity(t, x.astype(np.float32)), u, rtol=1e-3, atol=1e-3)
    if bandwidth == 0:  # singular at t = 1: the limit u = x, div = 0
        np.testing.assert_array_equal(field.velocity(1.0, x), x)
        np.testing.assert_array_equal(field.divergence(1.0, x), 0.0)
    else:  # the same as the Gaussian KDE's mixture field
        kde = gs.KDE(bandwidth=bandwidth).fit(X, weights=w)
        np.testing.assert_allclose(
            field.velocity(0.6, x), gs.fields.GaussianMixture(kde).velocity(0.6, x), rtol=1e-11, atol=1e-11
        )


def test_empirical_flow_lands_on_the_data():
    X = np.random.default_rng(12).normal(size=(50, 2)) * 3
    x1 = gs.Flow(gs.fields.Empirical(X), "midpoint", 500).sample(2000, rng=1)
    nearest = np.sqrt(((x1[:, None, :] - X[None]) ** 2).sum(-1)).min(axis=1)
    assert nearest.max() < 1e-2


def test_guidance_combines_fields():
    rng = np.random.default_rng(13)
    gmm = _mixture(3, 2, rng)
    cond = gs.fields.GaussianMixture(_mixture(2, 2, rng))
    uncond = gs.fields.GaussianMixture(gmm)
    x0 = rng.normal(size=(200, 2))
    for w, same_as in ((1.0, cond), (0.0, uncond)):
        guided = gs.Flow(gs.fields.Guided(cond, uncond, guidance=w), "rk4", 16)
        np.testing.assert_allclose(
            guided.integrate(x0), gs.Flow(same_as, "rk4", 16).integrate(x0), rtol=1e-12, atol=1e-12
        )
        np.testing.assert_allclose(guided.logpdf(x0), gs.Flow(same_as, "rk4", 16).logpdf(x0), rtol=1e-11, atol=1e-11)
    g = gs.fields.Guided(cond, uncond, guidance=2.5)
    np.testing.assert_allclose(
        g.velocity(0.4, x0), uncond.velocity(0.4, x0) + 2.5 * (cond.velocity(0.4, x0) - uncond.velocity(0.4, x0))
    )
    np.testing.assert_allclose(
        g.divergence(0.4, x0), -1.5 * uncond.divergence(0.4, x0) + 2.5 * cond.divergence(0.4, x0)
    )
    with pytest.raises(ValueError, match="dimensions differ"):
        gs.fields.Guided(cond, gs.fields.GaussianMixture(_mixture(2, 3, rng)))
    with pytest.raises(ValueError, match="guidance must be"):
        gs.fields.Guided(cond, uncond, guidance=np.nan)
    with pytest.raises(TypeError, match="conditional must be"):
        gs.fields.Guided(lambda t, x: x, uncond)


def test_bad_input():
    g = _mixture(2, 2, np.random.default_rng(7))
    field = gs.fields.GaussianMixture(g)
    with pytest.raises(ValueError, match="solver must be one of"):
        gs.Flow(field, solver="rk45")
    with pytest.raises(ValueError, match="steps"):
        gs.Flow(field, steps=0)
    with pytest.raises(TypeError, match="field must be"):
        gs.Flow(lambda t, x: x)
    with pytest.raises(ValueError, match="bandwidth must be"):
        gs.fields.Empirical(np.zeros((3, 2)), bandwidth=-1.0)
    with pytest.raises(TypeError, match="gs.GMM or a gs.KDE"):
        gs.fields.GaussianMixture(np.zeros(3))
    with pytest.raises(ValueError, match="Gaussian kernel"):
        gs.fields.GaussianMixture(gs.KDE(bandwidth=1.0, kernel="tophat").fit(np.zeros((3, 2))))
    with pytest.raises(ValueError, match=r"t must be a finite number in \[0, 1\]"):
        field.velocity(1.5, [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        field.velocity(0.5, np.zeros((3, 3)))
    flow = gs.Flow(field)
    with pytest.raises(ValueError, match="finite"):
        flow.integrate([[np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        flow.integrate([[0.0, 0.0]], t1=2.0)
    with pytest.raises(ValueError, match="between t0"):
        flow.integrate([[0.0, 0.0]], t1=0.5, times=[0.7])
    with pytest.raises(ValueError, match="non-negative"):
        flow.sample(-1)
    with pytest.raises(ValueError, match="solver must be 'euler'"):
        gs.Flow(field, solver="rk4", sde=1.0)
    with pytest.raises(ValueError, match=r"sde \(a number or a callable sigma\(t\)\) must be a finite number >= 0"):
        gs.Flow(field, sde=-1.0)
    with pytest.raises(ValueError, match="finite non-negative"):
        gs.Flow(field, sde=lambda t: np.nan).sample(3, rng=0)
    with pytest.raises(ValueError, match="runs forward"):
        gs.Flow(field, sde=1.0).integrate([[0.0, 0.0]], t0=1.0, t1=0.0)
    assert flow.sample(0).shape == (0, 2) and flow.logpdf(np.zeros((0, 2))).shape == (0,)
