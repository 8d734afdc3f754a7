"""gs.mcmc: the C++ chains against their NumPy twin, the Python-driven path against the C++
one, invariance to chain count and threads, statistics of the chains, ArviZ's diagnostics,
and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gensample as gs
from gensample import _core
from gensample import mcmc as M
from gensample.random import key_from_rng
from gensample.reference import mcmc as ref
from gensample.reference.philox import subkey
from gensample.reference.random import normal as ref_normal

ALPHA = 1e-4  # significance of every statistical test here


def _mixture3():
    ang = np.arange(3) * 2 * np.pi / 3
    covs = np.stack([np.eye(3) * 0.5, [[1, 0.3, 0], [0.3, 0.5, 0.1], [0, 0.1, 0.2]], np.eye(3)])
    return gs.GMM.from_parameters(weights=[0.2, 0.3, 0.5], means=np.c_[2 * np.cos(ang), 2 * np.sin(ang), ang],
                                  covariances=covs)  # fmt: skip


def _bimodal_1d():
    return gs.GMM.from_parameters(weights=[0.3, 0.7], means=[[-1.5], [1.5]], covariances=[[[1.0]], [[0.6]]])


def _mixture_cdf(g, x):
    sd = np.sqrt(g.covariances_[:, 0, 0])
    z = (x[:, None] - g.means_[:, 0]) / sd
    return (g.weights_ * 0.5 * np.vectorize(math.erfc)(-z / math.sqrt(2))).sum(axis=1)


def _ks_pvalue(u):
    """Kolmogorov-Smirnov p-value of uniforms u (asymptotic distribution)."""
    u = np.sort(u)
    n = len(u)
    d = max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))
    t = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    return min(1.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t) for k in range(1, 101)))


def _reference(g, n, method, warmup, n_steps, seed, step_size=0.1, n_leapfrog=1, adapt_mass=False, dtype=np.float64):
    key = key_from_rng(seed)
    x0 = ref_normal(subkey(key, 1), n, g.dim).astype(dtype)
    flags, it = M.warmup_schedule(warmup, method != "ula", adapt_mass)
    return ref.run(
        lambda x: (g.logpdf(x), g.grad_logpdf(x)),
        x0,
        subkey(key, 0),
        method,
        step_size,
        warmup,
        n_steps,
        flags,
        it,
        M.TARGET_ACCEPT.get(method, 0.5),
        n_leapfrog,
    )


# ---- the twin ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "step", "leapfrog"), [("ula", 0.05, 1), ("mala", 0.3, 1), ("hmc", 0.25, 5)])
def test_chains_equal_the_numpy_twin(method, step, leapfrog):
    g = _mixture3()
    run = gs.mcmc.sample(g, 9, 300, method=method, step_size=step, warmup=0, n_leapfrog=leapfrog, rng=11)
    want = _reference(g, 9, method, 0, 300, 11, step, leapfrog)
    # Box-Muller differs by an ulp (the C++ has its own log and sincos): the same chains,
    # the same accept decisions, to rounding.
    np.testing.assert_allclose(run.draws, want["draws"], rtol=0, atol=1e-11)
    np.testing.assert_allclose(run.logp, want["logp"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(run.acceptance, want["acceptance"], rtol=1e-9)
    assert 0.2 < run.acceptance.mean() <= 1


def test_float32_chains_equal_the_twin():
    g = _mixture3()
    run = gs.mcmc.sample(g, 5, 50, method="mala", step_size=0.3, warmup=0, rng=2, dtype=np.float32)
    want = _reference(g, 5, "mala", 0, 50, 2, 0.3, dtype=np.float32)
    assert run.draws.dtype == np.float32
    np.testing.assert_allclose(run.draws, want["draws"], rtol=0, atol=1e-4)


def test_adaptation_equals_the_twin():
    g = _mixture3()
    run = gs.mcmc.sample(g, 6, 20, method="mala", warmup=60, rng=4)
    want = _reference(g, 6, "mala", 60, 20, 4)
    np.testing.assert_allclose(run.step_size, want["step_size"], rtol=1e-9)
    np.testing.assert_allclose(run.draws, want["draws"], rtol=0, atol=1e-8)
    # HMC with the mass matrix: a window from step 6 to 36 of a 40-step warm-up. Leapfrog
    # at the early, large step sizes amplifies rounding, hence the looser tolerance.
    gauss = gs.GMM.from_parameters(weights=[1.0], means=[[1.0, 2.0, 3.0]], covariances=[np.diag([4.0, 1.0, 0.25])])
    run = gs.mcmc.sample(gauss, 6, 5, method="hmc", n_leapfrog=4, warmup=40, rng=5)
    want = _reference(gauss, 6, "hmc", 40, 5, 5, n_leapfrog=4, adapt_mass=True)
    np.testing.assert_allclose(run.inv_mass, want["inv_mass"], rtol=1e-6)
    np.testing.assert_allclose(run.step_size, want["step_size"], rtol=1e-6)
    np.testing.assert_allclose(run.draws, want["draws"], rtol=0, atol=1e-6)
    assert not np.allclose(run.inv_mass, 1)


def test_warmup_schedule_follows_stan():
    flags, it = M.warmup_schedule(1000, True, True)
    updates = np.flatnonzero(flags & M._UPDATE_MASS)
    # Stan: 75-step buffer, windows 25, 50, 100, 200, 500 (the last stretched), 50 at the end
    np.testing.assert_array_equal(updates, [99, 149, 249, 449, 949])
    assert np.flatnonzero(flags & M._COLLECT_MASS)[[0, -1]].tolist() == [75, 949]
    assert it[0] == 1 and it[100] == 1 and it[99] == 100 and it[-1] == 50
    assert flags[-1] & M._FINAL_STEP and (flags & M._ADAPT_STEP).all()
    flags, _ = M.warmup_schedule(100, True, True)  # short: 15 %, 75 %, 10 %
    assert np.flatnonzero(flags & M._UPDATE_MASS).tolist() == [89]


# ---- one path for every target ----------------------------------------------------------------


class _Model:
    dim = 3

    def __init__(self, g):
        self.g = g

    def logpdf(self, x, n_threads=None):
        return self.g.logpdf(x)

    def grad_logpdf(self, x, n_threads=None):
        return self.g.grad_logpdf(x)


@pytest.mark.parametrize("method", ["ula", "mala", "hmc"])
def test_python_targets_give_the_cpp_chains(method):
    g = _mixture3()
    kw = {"step_size": 0.05} if method == "ula" else {"warmup": 30}
    want = gs.mcmc.sample(g, 7, 25, method=method, n_leapfrog=3, rng=9, **kw)
    model = gs.mcmc.sample(_Model(g), 7, 25, method=method, n_leapfrog=3, rng=9, **kw)
    func = gs.mcmc.sample(lambda x: (g.logpdf(x), g.grad_logpdf(x)), 7, 25, method=method, n_leapfrog=3, rng=9,
                          init=want_init(9), **kw)  # fmt: skip
    for got in (model, func):
        np.testing.assert_array_equal(got.draws, want.draws)
        np.testing.assert_array_equal(got.step_size, want.step_size)
        np.testing.assert_array_equal(got.acceptance, want.acceptance)


def want_init(seed, n=7, dim=3):
    out = np.empty((n, dim))
    _core.random.fill_normal(_core.random.subkey(key_from_rng(seed), 1), out, 1, 0)
    return out


def test_a_kde_target_runs():
    X = np.random.default_rng(0).normal(size=(300, 2))
    kde = gs.KDE(bandwidth=0.5).fit(X)
    run = gs.mcmc.sample(kde, 50, 100, rng=0)
    assert run.draws.shape == (50, 100, 2) and np.isfinite(run.draws).all()
    assert 0.3 < run.acceptance.mean() < 0.95


# ---- reproducibility ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["mala", "hmc"])
def test_chain_i_depends_on_seed_and_i_only(method, dtype):
    g = _mixture3()
    small = gs.mcmc.sample(g, 10, 40, warmup=40, method=method, n_leapfrog=3, rng=3, dtype=dtype, n_threads=1)
    big = gs.mcmc.sample(g, 1000, 40, warmup=40, method=method, n_leapfrog=3, rng=3, dtype=dtype, n_threads=2)
    np.testing.assert_array_equal(small.draws, big.draws[:10])
    np.testing.assert_array_equal(small.step_size, big.step_size[:10])
    last = gs.mcmc.sample(g, 10, 40, warmup=40, method=method, n_leapfrog=3, rng=3, dtype=dtype, keep="last")
    np.testing.assert_array_equal(last.draws, small.draws[:, -1])
    np.testing.assert_array_equal(last.logp, small.logp[:, -1])


def test_thinning_keeps_every_kth_step():
    g = _mixture3()
    full = gs.mcmc.sample(g, 4, 30, warmup=10, rng=1)
    thin = gs.mcmc.sample(g, 4, 30, warmup=10, rng=1, thin=3)
    np.testing.assert_array_equal(thin.draws, full.draws[:, 2::3])


def test_a_run_in_segments_is_one_run():
    g = _mixture3()
    outs = []
    for cuts in ([0, 70], [0, 13, 41, 70]):
        state = M._state(want_init(6, 5), 0.1, np.dtype(np.float64))
        flags, it = M.warmup_schedule(40, True, False)
        settings = {"method": _core.mcmc.Method.mala, "n_leapfrog": 1, "warmup": 40, "thin": 1, "n_kept": 30,
                    "target_accept": 0.574, "adapt": flags, "da_iter": it}  # fmt: skip
        draws = {"x": np.empty((5, 30, 3)), "logp": np.empty((5, 30))}
        for a, b in zip(cuts[:-1], cuts[1:]):
            _core.mcmc.run_gmm(settings, state, draws, g._engine(np.float64), 77, a, b, 2)
        outs.append(draws["x"])
    np.testing.assert_array_equal(outs[0], outs[1])


# ---- statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "step"), [("mala", 1.2), ("hmc", 1.3)])
def test_the_target_is_stationary(method, step):
    """Chains started from exact draws stay exactly distributed after 1 and 20 steps, at a
    step size large enough that a wrong acceptance ratio would show (detailed balance)."""
    g = _bimodal_1d()
    x0 = g.sample(20000, rng=5)
    for n_steps in (1, 20):
        run = gs.mcmc.sample(g, 20000, n_steps, method=method, step_size=step, warmup=0, n_leapfrog=3, init=x0,
                             keep="last", rng=6)  # fmt: skip
        assert 0.3 < run.acceptance.mean() < 0.95
        assert _ks_pvalue(_mixture_cdf(g, run.draws[:, 0])) > ALPHA


@pytest.mark.parametrize("method", ["mala", "hmc"])
def test_chains_reach_the_mixture(method):
    """From N(0, 1) starts, after warm-up: the final states' distribution (KS) and the
    share in each component's basin match the mixture."""
    g = _bimodal_1d()
    run = gs.mcmc.sample(g, 20000, 300, method=method, n_leapfrog=5, keep="last", rng=8)
    x = run.draws[:, 0]
    assert _ks_pvalue(_mixture_cdf(g, x)) > ALPHA
    assert run.divergences.sum() == 0
    # mean and variance within 4.5 standard errors (alpha about 1e-5 each)
    mean = float(g.weights_ @ g.means_[:, 0])
    var = float(g.weights_ @ (g.covariances_[:, 0, 0] + g.means_[:, 0] ** 2)) - mean**2
    assert abs(x.mean() - mean) < 4.5 * math.sqrt(var / len(x))
    assert abs(x.var() - var) < 4.5 * var * math.sqrt(2 / len(x)) * 1.5


def test_ula_bias_shrinks_with_the_step():
    """On N(0, 1), ULA's chain is x' = (1 - h) x + sqrt(2h) z: stationary variance
    1 / (1 - h / 2), not 1."""
    g = gs.GMM.from_parameters(weights=[1.0], means=[[0.0]], covariances=[[[1.0]]])
    for h in (0.4, 0.1):
        x = gs.mcmc.sample(g, 40000, 100, method="ula", step_size=h, keep="last", rng=3).draws[:, 0]
        want = 1 / (1 - h / 2)
        assert abs(x.var() - want) < 4.5 * want * math.sqrt(2 / len(x))
        assert abs(x.var() - 1) > 4.5 * math.sqrt(2 / len(x)) or h < 0.2


# ---- diagnostics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 1000, 3), (2, 7, 1), (8, 101, 2), (1, 50, 2), (3, 400, 1)])
def test_diagnostics_equal_arviz(shape):
    import arviz as az

    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).cumsum(axis=1) * 0.2 + rng.standard_normal(shape)
    if shape[0] == 3:
        x = np.round(x, 1)  # ties: average ranks
    ours = gs.mcmc.diagnostics(x)
    ds = az.convert_to_dataset(x)
    for name, theirs in [
        ("rhat", az.rhat(ds)["x"].values),
        ("ess_bulk", az.ess(ds, method="bulk")["x"].values),
        ("ess_tail", az.ess(ds, method="tail")["x"].values),
    ]:
        if shape[0] == 1 and name == "rhat":
            assert np.isnan(ours[name]).all()
            continue
        np.testing.assert_allclose(ours[name], theirs, rtol=1e-8, err_msg=name)


def test_run_converts_to_inference_data():
    import arviz as az

    run = gs.mcmc.sample(_mixture3(), 4, 200, rng=0)
    idata = run.to_inference_data()
    np.testing.assert_allclose(az.rhat(idata)["x"].values, run.diagnostics()["rhat"], rtol=1e-8)


def test_normal_quantile():
    from scipy import special

    p = np.r_[np.linspace(1e-6, 1 - 1e-6, 20001), np.geomspace(1e-300, 0.45, 500), 1 - 1e-16, 0.5]
    z = _core.mcmc.normal_quantile(p)
    want = special.ndtri(p)
    big = np.abs(want) > 1e-3
    assert np.max(np.abs(z - want)[big] / np.abs(want)[big]) < 16 * np.finfo(float).eps
    assert np.max(np.abs(z - want)[~big]) < 1e-15
    np.testing.assert_allclose(z[::97], ref.normal_quantile(p[::97]), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(_core.mcmc.normal_quantile(np.array([0.0, 1.0])), [-np.inf, np.inf])
    assert np.isnan(_core.mcmc.normal_quantile(np.array([-0.1, np.nan, 1.5]))).all()


# ---- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_named():
    g = _mixture3()
    with pytest.raises(TypeError, match="grad_logpdf"):
        gs.mcmc.sample(gs.Box.fit(np.random.default_rng(0).normal(size=(10, 2))), 2, 2)
    with pytest.raises(TypeError, match="target must be"):
        gs.mcmc.sample(3, 2, 2)
    with pytest.raises(ValueError, match="not fitted"):
        gs.mcmc.sample(gs.GMM(2), 2, 2)
    with pytest.raises(ValueError, match="step_size"):
        gs.mcmc.sample(g, 2, 2, step_size=0)
    with pytest.raises(ValueError, match="step_size"):
        gs.mcmc.sample(g, 2, 2, step_size=-1.0)
    with pytest.raises(ValueError, match="ula needs step_size"):
        gs.mcmc.sample(g, 2, 2, method="ula")
    with pytest.raises(ValueError, match="n_chains"):
        gs.mcmc.sample(g, 0, 2)
    with pytest.raises(TypeError, match="n_chains"):
        gs.mcmc.sample(g, 2.5, 2)
    with pytest.raises(ValueError, match="n_steps"):
        gs.mcmc.sample(g, 2, -1)
    with pytest.raises(ValueError, match="below 2\\*\\*32"):
        gs.mcmc.sample(g, 2, 2**32)
    with pytest.raises(ValueError, match="method"):
        gs.mcmc.sample(g, 2, 2, method="nuts")
    with pytest.raises(ValueError, match="init must have shape"):
        gs.mcmc.sample(g, 2, 2, init=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="init must be finite"):
        gs.mcmc.sample(g, 1, 2, init=[[np.nan, 0, 0]])
    with pytest.raises(ValueError, match="adapt_mass"):
        gs.mcmc.sample(g, 2, 2, adapt_mass=True)
    with pytest.raises(ValueError, match="target_accept"):
        gs.mcmc.sample(g, 2, 2, target_accept=1.0)
    with pytest.raises(ValueError, match="keep"):
        gs.mcmc.sample(g, 2, 2, keep="first")
    with pytest.raises(MemoryError):
        gs.mcmc.sample(g, 10**9, 10**9)


def test_a_bad_callable_is_named_with_step_and_chain():
    def wrong_shape(x):
        return np.zeros(len(x)), np.zeros((len(x), 1))

    with pytest.raises(ValueError, match=r"grad log p of shape \(4, 1\) at the initial states"):
        gs.mcmc.sample(wrong_shape, 4, 3, init=np.zeros((4, 2)))

    calls = []

    def nan_later(x):
        calls.append(1)
        logp = -0.5 * (x**2).sum(axis=1)
        if len(calls) > 3:
            logp[2] = np.nan
        return logp, -x

    with pytest.raises(ValueError, match="log p = nan for chain 2 at step 2"):
        gs.mcmc.sample(nan_later, 4, 3, init=np.zeros((4, 2)), warmup=0)
    with pytest.raises(ValueError, match="init is needed"):
        gs.mcmc.sample(lambda x: (x[:, 0], x), 4, 3)
    with pytest.raises(TypeError, match="tuple"):
        gs.mcmc.sample(lambda x: x, 4, 3, init=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="chain 1 starts outside"):
        gs.mcmc.sample(lambda x: (np.where(x[:, 0] > 0, -np.inf, 0.0), -x), 2, 3, init=[[0.0, 0], [1, 0]])


def test_diagnostics_bad_input():
    with pytest.raises(ValueError, match="at least 4 draws"):
        gs.mcmc.diagnostics(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        gs.mcmc.diagnostics(np.zeros(5))
    assert np.isnan(gs.mcmc.diagnostics(np.full((2, 10, 1), np.nan))["rhat"]).all()
