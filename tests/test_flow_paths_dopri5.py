"""The affine paths (cosine, variance preserving), dopri5 with a step per particle, and the
MLP field: against their NumPy twins (python/gensample/reference/flow.py), scipy's RK45,
finite differences, the torch modules the networks come from, and the target mixtures."""

import numpy as np
import pytest
from scipy import integrate

import gensample as gs
from gensample import _core
from gensample.fields import path_of
from gensample.reference import flow as ref

torch = pytest.importorskip("torch")  # in the test extra; the module is never needed to sample

PATHS = ["linear", "cosine", "vp", ("vp", 0.5, 5.0)]


def _mixture(k, d, rng):
    w = rng.uniform(0.2, 1, k)
    A = rng.normal(size=(k, d, d)) * 0.4
    return gs.GMM.from_parameters(w / w.sum(), rng.normal(size=(k, d)) * 2, A @ np.swapaxes(A, 1, 2) + 0.2 * np.eye(d))


# ---- paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_path_coefficients_match_reference_and_derivatives(path):
    for t in (0.0, 0.3, 0.77, 1.0):
        got = _core.flow.path_coefficients(path_of(path), t)
        np.testing.assert_allclose(got, ref.coefficients(path, t), rtol=1e-14, atol=1e-15)
    t, h = np.linspace(0.05, 0.95, 7), 1e-6
    a = lambda s: np.array([_core.flow.path_coefficients(path_of(path), v)[0] for v in s])  # noqa: E731
    s2 = lambda s: np.array([_core.flow.path_coefficients(path_of(path), v)[2] for v in s])  # noqa: E731
    c = np.array([_core.flow.path_coefficients(path_of(path), v) for v in t])
    np.testing.assert_allclose(c[:, 1], (a(t + h) - a(t - h)) / (2 * h), rtol=1e-7)  # alpha'
    np.testing.assert_allclose(c[:, 3], (s2(t + h) - s2(t - h)) / (4 * h), rtol=1e-6, atol=1e-9)  # sigma sigma'
    end = _core.flow.path_coefficients(path_of(path), 1.0)
    assert end[0] == 1.0 and end[2] == 0.0  # p_1 is the data


@pytest.mark.parametrize("path", PATHS)
def test_mixture_and_empirical_fields_on_every_path(path):
    rng = np.random.default_rng(0)
    field = gs.fields.GaussianMixture(_mixture(3, 2, rng))
    X = rng.normal(size=(30, 2))
    emp = gs.fields.Empirical(X, bandwidth=0.3)
    x = rng.normal(size=(25, 2)) * 2
    for t in (0.0, 0.4, 0.9, 1.0):
        u, div = ref.mixture_velocity(*field._args(), t, x, True, path)
        np.testing.assert_allclose(field.velocity(t, x, path=path), u, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(field.divergence(t, x, path=path), div, rtol=1e-9, atol=1e-9)
        u, div = ref.empirical_velocity(emp.weights_, emp.means_, 0.3, t, x, True, path)
        np.testing.assert_allclose(emp.velocity(t, x, path=path), u, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(emp.divergence(t, x, path=path), div, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("path", ["cosine", "vp"])
def test_flows_on_other_paths_reach_the_mixture(path):
    rng = np.random.default_rng(1)
    g = _mixture(3, 2, rng)
    flow = gs.Flow(gs.fields.GaussianMixture(g), "rk4", steps=400, path=path)
    x = np.concatenate([g.sample(50, rng=2), rng.normal(size=(10, 2)) * 3])
    # back to t = 0 with the divergence, then the path's exact p_0 (N(0, I) for cosine; VP's
    # alpha_0 = 0.0066 leaves a trace of the mixture)
    x0, log_det = x.copy(), np.zeros(len(x))
    flow._run(1.0, 0.0, x0, log_det, None, 0)
    a, _, s2, _ = ref.coefficients(path, 0.0)
    p0 = gs.GMM.from_parameters(g.weights_, a * g.means_, a * a * g.covariances_ + s2 * np.eye(2))
    np.testing.assert_allclose(p0.logpdf(x0) + log_det, g.logpdf(x), atol=1e-4)
    if path == "cosine":
        np.testing.assert_allclose(flow.logpdf(x), g.logpdf(x), atol=1e-4)
    x1 = flow.sample(4000, rng=3)
    assert abs(g.logpdf(x1).mean() - g.logpdf(g.sample(200_000, rng=4)).mean()) < 0.1


def test_sde_on_the_vp_path_matches_the_numpy_solver():
    """The C++ Euler-Maruyama step and flow.py's NumPy one (via Callable) share the score formula."""
    g = _mixture(2, 2, np.random.default_rng(5))
    field = gs.fields.GaussianMixture(g)
    wrapped = gs.fields.Callable(lambda t, x: field.velocity(t, x, path="vp"), dim=2)
    a = gs.Flow(field, steps=50, sde=0.7, path="vp").sample(300, rng=6)
    b = gs.Flow(wrapped, steps=50, sde=0.7, path="vp").sample(300, rng=6)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


# ---- dopri5 ---------------------------------------------------------------------------


def _per_particle_reference(field, x0, stops, rtol, atol, path="linear"):
    f = lambda t, y: ref.mixture_velocity(*field._args(), t, y[None], path=path)[0]  # noqa: E731
    return [ref.dopri5(f, stops, y, rtol, atol) for y in x0]


@pytest.mark.parametrize("d", [1, 2, 5])
def test_dopri5_matches_reference_and_scipy_particle_by_particle(d):
    rng = np.random.default_rng(7 + d)
    field = gs.fields.GaussianMixture(_mixture(3, d, rng))
    x0 = rng.normal(size=(13, d)) * 1.5
    flow = gs.Flow(field, "dopri5", rtol=1e-6, atol=1e-8)
    x1 = flow.integrate(x0)
    want = _per_particle_reference(field, x0, [0.0, 1.0], 1e-6, 1e-8)
    np.testing.assert_allclose(x1, [w[0][0] for w in want], rtol=1e-12, atol=1e-12)
    assert flow.stats_.evaluations == sum(w[1] for w in want)
    assert flow.stats_.accepted == sum(w[2] for w in want) and flow.stats_.rejected == sum(w[3] for w in want)
    assert flow.stats_.finished == len(x0)
    for i in (0, 5):  # scipy's RK45 on one particle: the same steps
        sol = integrate.solve_ivp(lambda t, y: field.velocity(t, y[None])[0], (0, 1), x0[i], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(x1[i], sol.y[:, -1], rtol=1e-11, atol=1e-11)
        assert sol.nfev == want[i][1]


def test_dopri5_steps_per_particle_and_stops():
    rng = np.random.default_rng(11)
    g = _mixture(4, 2, rng)
    flow = gs.Flow(gs.fields.GaussianMixture(g), "dopri5", rtol=1e-7, atol=1e-7)
    x0 = rng.normal(size=(40, 2))
    x0[3] = [30.0, -30.0]  # an outlier takes more steps; the others' steps do not change
    alone = [gs.Flow(flow.field, "dopri5", rtol=1e-7, atol=1e-7).integrate(x0[i : i + 1]) for i in (0, 3, 39)]
    both = flow.integrate(x0)
    for row, single in zip((0, 3, 39), alone):
        np.testing.assert_array_equal(both[row], single[0])
    np.testing.assert_array_equal(both, gs.Flow(flow.field, "dopri5", rtol=1e-7, atol=1e-7).integrate(x0, n_threads=1))
    exact = gs.Flow(flow.field, "rk4", steps=2000).integrate(x0)
    np.testing.assert_allclose(both, exact, atol=1e-5)
    states = flow.integrate(x0, times=[0.5, 0.0, 1.0, 0.25])
    np.testing.assert_array_equal(states[1], x0)
    np.testing.assert_allclose(states[2], both, atol=1e-6)
    np.testing.assert_allclose(states[0], gs.Flow(flow.field, "rk4", steps=2000).integrate(x0, t1=0.5), atol=1e-5)
    want = _per_particle_reference(flow.field, x0[:4], [0.0, 0.25, 0.5, 1.0], 1e-7, 1e-7)
    for i, w in enumerate(want):
        np.testing.assert_allclose(states[[3, 0, 2], i], w[0], rtol=1e-12, atol=1e-12)
    back = flow.integrate(both, t0=1.0, t1=0.0)  # and backwards
    np.testing.assert_allclose(back, x0, rtol=1e-5, atol=1e-4)  # backwards, the outlier spreads again


def test_dopri5_logpdf_float32_and_samples():
    rng = np.random.default_rng(12)
    g = _mixture(3, 2, rng)
    flow = gs.Flow(gs.fields.GaussianMixture(g), "dopri5", rtol=1e-8, atol=1e-8)
    x = np.concatenate([g.sample(30, rng=1), rng.normal(size=(5, 2)) * 3])
    np.testing.assert_allclose(flow.logpdf(x), g.logpdf(x), atol=1e-5)
    s64 = flow.sample(2000, rng=2)
    s32 = gs.Flow(flow.field, "dopri5", rtol=1e-4, atol=1e-4).sample(2000, rng=2, dtype=np.float32)
    assert s32.dtype == np.float32
    np.testing.assert_allclose(s32, s64, atol=0.05)
    np.testing.assert_array_equal(s64[500:700], flow.sample(700, rng=2)[500:700])
    emp = gs.Flow(gs.fields.Empirical(g.sample(50, rng=3), bandwidth=0.2), "dopri5", rtol=1e-7, atol=1e-7).sample(
        300, rng=4
    )
    ref_emp = gs.Flow(gs.fields.Empirical(g.sample(50, rng=3), bandwidth=0.2), "rk4", steps=400).sample(300, rng=4)
    np.testing.assert_allclose(emp, ref_emp, atol=1e-3)


def test_dopri5_failures_are_reported():
    g = _mixture(3, 2, np.random.default_rng(13))
    x0 = np.random.default_rng(14).normal(size=(20, 2))
    with pytest.raises(RuntimeError, match=r"0 of 20 particles finished \(20 max steps"):
        gs.Flow(gs.fields.GaussianMixture(g), "dopri5", rtol=1e-12, atol=1e-12, max_steps=3).integrate(x0)
    flow = gs.Flow(gs.fields.GaussianMixture(g), "dopri5", max_steps=3, rtol=1e-12, atol=1e-12, on_failure="return")
    states = flow.integrate(x0, times=[0.5, 1.0])
    assert (flow.stats_.status == 1).all() and flow.stats_.finished == 0
    assert np.isnan(states[1]).all()
    with pytest.raises(ValueError, match="rtol"):
        gs.Flow(gs.fields.GaussianMixture(g), "dopri5", rtol=np.nan)
    with pytest.raises(ValueError, match="own time"):
        gs.Flow(gs.fields.Callable(lambda t, x: x, dim=2), "dopri5")


def _stiff_mixture(d, k, seed):
    """Covariances with eigenvalues from 1e-6 to 1e2 in random directions: the stiff fields
    of GMMs fitted with a small reg_covar (scikit-learn's digits: constant pixels)."""
    r = np.random.default_rng(seed)
    covs = []
    for _ in range(k):
        q, _ = np.linalg.qr(r.normal(size=(d, d)))
        covs.append((q * 10 ** r.uniform(-6, 2, d)) @ q.T)
    return gs.GMM.from_parameters(np.full(k, 1 / k), r.normal(size=(k, d)) * 3, np.array(covs))


def test_dopri5_log_density_is_inside_the_error_norm_as_in_the_reference():
    """Each particle's steps control the divergence integral as well as x: the same steps,
    log-densities and evaluations as the NumPy twin, particle by particle."""
    g = _mixture(3, 3, np.random.default_rng(5))
    field = gs.fields.GaussianMixture(g)
    x = np.concatenate([g.sample(6, rng=1), [[4.0, -3.0, 2.0]]])
    flow = gs.Flow(field, "dopri5", rtol=1e-6, atol=1e-8)
    lp = flow.logpdf(x)
    args = field._args()
    f = lambda t, y: ref.mixture_velocity(*args, t, y[None])[0]  # noqa: E731
    div = lambda t, y: ref.mixture_velocity(*args, t, y[None], with_div=True)[1][0]  # noqa: E731
    want = [ref.dopri5(f, [1.0, 0.0], y, 1e-6, 1e-8, div=div) for y in x]
    z = np.array([w[0][0] for w in want])
    np.testing.assert_allclose(
        lp, -0.5 * np.sum(z[:, :3] ** 2, axis=1) - 1.5 * np.log(2 * np.pi) + z[:, 3], rtol=1e-12, atol=1e-10
    )
    assert flow.stats_.evaluations == sum(w[1] for w in want)
    assert flow.stats_.rejected == sum(w[3] for w in want)


@pytest.mark.parametrize("d", [2, 16, 64])
def test_dopri5_log_density_on_stiff_mixtures(d):
    """Variances from 1e-6 to 1e2. Before the divergence entered the error norm, a 64-D GMM
    of the digits gave log-densities 16-21 nats off at rtol = atol = 1e-6 with every status
    0; now the answer is close, and where the global error still outgrows the per-step
    tolerance (backwards, stiff directions expand), return_error says by how much."""
    g = _stiff_mixture(d, 3, 100 * d)
    x = np.concatenate([g.sample(24, rng=1), g.sample(8, rng=2) + np.random.default_rng(0).normal(size=(8, d)) * 0.01])
    exact = g.logpdf(x)
    for tol in (1e-6, 1e-8):
        flow = gs.Flow(gs.fields.GaussianMixture(g), "dopri5", rtol=tol, atol=tol, max_steps=10**5, on_failure="return")
        lp, est = flow.logpdf(x, return_error=True)
        ok = flow.stats_.status == 0
        assert ok.mean() > 0.9
        err = np.abs(lp - exact)
        assert err[ok].max() < 200 * tol * (1 + np.abs(exact[ok])).max(), (tol, err.max())  # before: 321-2610x
        assert (err[ok] <= 4 * est[ok] + 1e-4).all(), (tol, np.max(err / est))
        assert np.isinf(est[~ok]).all()


@pytest.mark.parametrize("solver, steps", [("rk4", 32), ("rk4", 256), ("euler", 64), ("heun", 16)])
def test_fixed_step_log_density_reports_its_error(solver, steps):
    """Fixed steps on a stiff field are tens of nats off; the estimate says so (step
    doubling alone said 3,000 times too little there)."""
    g = _stiff_mixture(8, 3, 801)
    x = g.sample(30, rng=3)
    flow = gs.Flow(gs.fields.GaussianMixture(g), solver, steps=steps)
    plain = flow.logpdf(x)
    lp, est = flow.logpdf(x, return_error=True)
    np.testing.assert_array_equal(lp, plain)  # the answer itself does not change
    assert flow.stats_.status is None  # stats_ of the answer's run, not the estimate's
    err = np.abs(lp - g.logpdf(x))
    assert (err <= 4 * est + 1e-4).all(), np.max(err / est)
    # a Python field: step doubling with Richardson's factor, in its asymptotic regime
    smooth = _mixture(2, 2, np.random.default_rng(4))
    field = gs.fields.GaussianMixture(smooth)
    call = gs.fields.Callable(
        lambda t, y: field.velocity(t, y),
        dim=2,
        divergence=lambda t, y: ref.mixture_velocity(*field._args(), t, y, with_div=True)[1],
    )
    lp, est = gs.Flow(call, solver, steps=steps).logpdf(smooth.sample(20, rng=5), return_error=True)
    err = np.abs(lp - smooth.logpdf(smooth.sample(20, rng=5)))
    assert (err <= 4 * est + 1e-9).all() and (est < 1).all()


def test_flow_stats_repr_counts_statuses():
    g = _mixture(3, 2, np.random.default_rng(13))
    flow = gs.Flow(gs.fields.GaussianMixture(g), "dopri5", max_steps=60, rtol=1e-10, atol=1e-10, on_failure="return")
    flow.integrate(np.random.default_rng(14).normal(size=(300, 2)) * 3)
    counts = np.bincount(flow.stats_.status, minlength=4)
    assert counts[0] > 0 and counts[1] > 0
    text = repr(flow.stats_)
    assert len(text) < 200 and "status: " in text
    assert f"{counts[0]} finished" in text and f"{counts[1]} max_steps" in text
    fixed = gs.Flow(gs.fields.GaussianMixture(g), steps=4)
    fixed.sample(10, rng=0)
    assert repr(fixed.stats_) == "FlowStats(evaluations=160, accepted=40, rejected=0)"
    with pytest.raises(TypeError, match="return_error"):
        flow.logpdf([[0.0, 0.0]], return_error="yes")


# ---- MLP ------------------------------------------------------------------------------


def _net(d, width=32, act=torch.nn.SiLU, inputs=None, seed=0):
    torch.manual_seed(seed)
    n_in = d + 1 + (0 if inputs is None else inputs)
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, width), act(), torch.nn.Linear(width, width), act(), torch.nn.Linear(width, d)
    ).double()


@pytest.mark.parametrize(
    "act, name",
    [
        (torch.nn.SiLU, "silu"),
        (torch.nn.ReLU, "relu"),
        (torch.nn.Tanh, "tanh"),
        (torch.nn.GELU, "gelu"),
        (lambda: torch.nn.GELU("tanh"), "gelu_tanh"),
    ],
)
def test_mlp_matches_torch_and_reference(act, name):
    d = 3
    net = _net(d, act=act)
    mlp = gs.fields.MLP.from_torch(net)
    assert mlp.activations == (name, name, "identity")
    x = np.random.default_rng(0).normal(size=(37, d)) * 2
    with torch.no_grad():
        want = net(torch.cat([torch.from_numpy(x), torch.full((37, 1), 0.3, dtype=torch.float64)], 1)).numpy()
    np.testing.assert_allclose(mlp.velocity(0.3, x), want, rtol=1e-12, atol=1e-12)
    layers = list(zip(mlp.weights_, mlp.biases_, mlp.activations))
    np.testing.assert_allclose(mlp.velocity(0.3, x), ref.network_velocity(layers, 0.3, x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mlp.divergence(0.3, x), ref.network_divergence(layers, 0.3, x), rtol=1e-6, atol=1e-6)
    with torch.no_grad():  # float32: float32 weights and math
        want32 = net.float()(torch.cat([torch.from_numpy(x.astype(np.float32)), torch.full((37, 1), 0.3)], 1))
    u32 = mlp.velocity(0.3, x.astype(np.float32))
    assert u32.dtype == np.float32
    np.testing.assert_allclose(u32, want32.numpy(), rtol=1e-4, atol=1e-5)


def test_mlp_flows_inputs_conditions_and_state_dicts():
    d = 2
    net = _net(d, inputs=3)
    mlp = gs.fields.MLP.from_torch(net, inputs="txy")
    y = np.array([0.5, -1.0, 2.0])
    x = np.random.default_rng(1).normal(size=(20, d))
    with torch.no_grad():
        inp = torch.cat(
            [torch.full((20, 1), 0.7, dtype=torch.float64), torch.from_numpy(x), torch.from_numpy(np.tile(y, (20, 1)))],
            1,
        )
        want = net(inp).numpy()
    field = mlp.condition(y)
    np.testing.assert_allclose(field.velocity(0.7, x), want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="condition"):
        mlp.velocity(0.7, x)
    plain = _net(d, seed=1)
    from_dict = gs.fields.MLP.from_torch(plain.state_dict(), activation="silu")
    np.testing.assert_array_equal(from_dict.velocity(0.2, x), gs.fields.MLP.from_torch(plain).velocity(0.2, x))
    mlp = gs.fields.MLP.from_torch(plain)
    layers = list(zip(mlp.weights_, mlp.biases_, mlp.activations))
    grid = np.linspace(0, 1, 11)
    want, _ = ref.integrate(lambda t, z: (ref.network_velocity(layers, t, z), 0.0), "rk4", grid, x)
    np.testing.assert_allclose(gs.Flow(mlp, "rk4", 10).integrate(x), want, rtol=1e-11, atol=1e-11)
    a = gs.Flow(mlp, "dopri5", rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(a.integrate(x), want, atol=1e-4)
    f = lambda t, z: ref.network_velocity(layers, t, z[None])[0]  # noqa: E731
    np.testing.assert_allclose(
        a.integrate(x[:3]), [ref.dopri5(f, [0, 1], z, 1e-8, 1e-8)[0][0] for z in x[:3]], rtol=1e-12, atol=1e-12
    )
    # logpdf by the exact divergence: a flow is a bijection, so log p_1(x_1) = log p_0(x_0) - int div
    x0 = np.random.default_rng(2).normal(size=(10, d))
    x1 = gs.Flow(mlp, "rk4", 200).integrate(x0)
    logp0 = -0.5 * (x0**2).sum(1) - np.log(2 * np.pi)
    _, int_div = ref.integrate(
        lambda t, z: (ref.network_velocity(layers, t, z), ref.network_divergence(layers, t, z)),
        "rk4",
        np.linspace(0, 1, 201),
        x0,
        with_div=True,
    )
    np.testing.assert_allclose(gs.Flow(mlp, "rk4", 200).logpdf(x1), logp0 - int_div, atol=1e-5)
    s = gs.Flow(mlp, steps=16).sample(3000, rng=3)
    np.testing.assert_array_equal(s, gs.Flow(mlp, steps=16).sample(3000, rng=3, n_threads=1))


def test_mlp_bad_input():
    with pytest.raises(TypeError, match="Conv1d"):
        gs.fields.MLP.from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1)))
    with pytest.raises(ValueError, match="activation="):
        gs.fields.MLP.from_torch(_net(2).state_dict())
    with pytest.raises(ValueError, match="inputs"):
        gs.fields.MLP.from_torch(_net(2), inputs="xx")
    with pytest.raises(ValueError, match=r"the first layer, weights\[0\], takes 4"):
        gs.fields.MLP.from_torch(_net(3, inputs=0)[:-1].append(torch.nn.Linear(32, 2)))
    with pytest.raises(ValueError, match="finite"):
        gs.fields.MLP([np.full((2, 3), np.nan)], [np.zeros(2)], ["identity"])
    mlp = gs.fields.MLP.from_torch(_net(2))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        mlp.velocity(0.5, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="no condition"):
        mlp.condition([1.0])
