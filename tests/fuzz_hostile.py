"""Hostile input for every public entry point; run as a script by tests/test_reliability.py.

    python tests/fuzz_hostile.py EXAMPLES FOLDER

Each example takes one entry point, replaces one of its arguments with a hostile value and
calls it. The call must either work (no NaN in what it returns) or raise ValueError,
TypeError or MemoryError (OSError for file paths) whose message names that argument. It runs
in a subprocess of the test, so a crash is a failed test, not a lost run.
"""

import os
import re
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gensample as gs
from gensample import _validation
from gensample.compat.scipy import gaussian_kde
from gensample.compat.sklearn import GaussianMixture, KernelDensity

warnings.simplefilter("ignore")  # NumPy's own warnings on hostile casts are not the point here
# Machine-independent: whatever the host has, a call that needs more than 4 GiB is refused.
_validation.available_memory = lambda: 4 * 2**30
FOLDER = Path(sys.argv[2]).resolve()
TIME_LIMIT = 30  # seconds per call: beyond it a call counts as a hang

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))
GMM = gs.GMM.from_parameters([0.4, 0.6], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), 0.5 * np.eye(2)])
SQUARE = [(0, 0), (4, 0), (4, 4), (0, 4)]
HOLE = [(1, 1), (3, 1), (3, 3), (1, 3)]
BOX = gs.Box([0, 0], [1, 1])
POLY = gs.Polygon(SQUARE, holes=[HOLE])
RASTER = gs.datasets.hostage_scene(64, 48)
GEO = gs.GeoMask(np.ones((9, 18), bool))
KDE = gs.KDE(0.5).fit(X)
MLP = gs.fields.MLP(
    [rng.normal(size=(8, 3)), rng.normal(size=(2, 8))], [np.zeros(8), np.zeros(2)], ["tanh", "identity"]
)
FIELDS = {
    "mixture": gs.fields.GaussianMixture(GMM),
    "empirical": gs.fields.Empirical(X, bandwidth=0.1),
    "mlp": MLP,
    "callable": gs.fields.Callable(lambda t, x: -x, 2, divergence=lambda t, x: np.full(len(x), -2.0)),
    "guided": gs.fields.Guided(gs.fields.GaussianMixture(GMM), gs.fields.Empirical(X), 2.0),
}
MODELS = {
    "box": BOX,
    "polygon": POLY,
    "multipolygon": gs.MultiPolygon([POLY, gs.Polygon([(5, 5), (6, 5), (6, 6)])]),
    "raster": RASTER,
    "geo": GEO,
    "union": BOX | gs.Box([0.5, 0.5], [2, 2]),
    "difference": POLY - BOX,
    "intersection": POLY & gs.Box([0.5, 0.5], [2, 2]),
    "kde": KDE,
    "kde-cosine": gs.KDE(0.5, "cosine").fit(X),
    "gmm": GMM,
    "gmm-diag": gs.GMM(2, "diag", rng=0).fit(X),
    "ppca": gs.PPCA(1).fit(X),
    "factor-analysis": gs.FactorAnalysis(1).fit(X),
    "conditional": gs.Conditional(gs.GMM(1)).fit(X, np.arange(len(X)) % 2),
    "decoder": gs.Decoder(
        (
            [np.ones((4, 1)), np.ones((2, 4))],
            [np.zeros(4), np.zeros(2)],
            [[{"op": "layer_norm"}, {"op": "softplus", "param": 2.0}], "elu"],
        ),
        1,
        noise=0.5,
        encoder=([np.ones((2, 2))], [np.zeros(2)], ["identity"]),
    ),
    "flow": gs.Flow(FIELDS["mixture"], steps=4),
    "flow-dopri5": gs.Flow(FIELDS["empirical"], "dopri5"),
    "flow-mlp": gs.Flow(MLP, steps=4),
    "flow-sde": gs.Flow(FIELDS["mixture"], steps=4, sde=0.5),
    "flow-guided": gs.Flow(FIELDS["guided"], steps=4),
    "moons": gs.datasets.moons(),
    "circles": gs.datasets.circles(),
    "eight": gs.datasets.eight_gaussians(),
    "swirl": gs.datasets.pinwheel(),
}
REGIONS = {k: m for k, m in MODELS.items() if isinstance(m, gs.Region)}
SAVED = gs.io.save(GMM, FOLDER / "gmm.npz", overwrite=True)


def entry(function, /, **valid):
    return function, valid


# Each entry point with valid arguments; one of them is made hostile at a time.
ENTRIES = {
    "Box": entry(gs.Box, low=[0, 0], high=[1, 2]),
    "Box.fit": entry(gs.Box.fit, X=X, margin=0.1),
    "RasterMask": entry(
        gs.RasterMask,
        mask=np.eye(8, dtype=bool),
        extent=(0, 8, 0, 8),
        weights=np.ones((8, 8)),
        method="exact",
        origin="lower",
        n_threads=1,
    ),
    "GeoMask": entry(
        gs.GeoMask,
        mask=np.ones((9, 18), bool),
        lat_range=(-90, 90),
        lon_range=(-180, 180),
        weights=None,
        method="rejection",
        n_threads=1,
    ),
    "Polygon": entry(gs.Polygon, shell=SQUARE, holes=[HOLE]),
    "MultiPolygon": entry(gs.MultiPolygon, polygons=[POLY]),
    "PPCA.fit": entry(lambda n_latent, X, weights: gs.PPCA(n_latent).fit(X, weights), n_latent=1, X=X, weights=None),
    "FactorAnalysis.fit": entry(
        lambda n_latent, X, weights: gs.FactorAnalysis(n_latent).fit(X, weights), n_latent=1, X=X, weights=None
    ),
    "KDE.fit": entry(
        lambda bandwidth, kernel, X, weights: gs.KDE(bandwidth, kernel).fit(X, weights),
        bandwidth="silverman",
        kernel="epanechnikov",
        X=X,
        weights=np.ones(len(X)),
    ),
    "GMM.fit": entry(
        lambda n_components, covariance, tol, reg_covar, max_iter, n_init, init, rng, X, weights: gs.GMM(
            n_components, covariance, tol=tol, reg_covar=reg_covar, max_iter=max_iter, n_init=n_init, init=init, rng=rng
        ).fit(X, weights),
        n_components=2,
        covariance="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=20,
        n_init=1,
        init="kmeans",
        rng=0,
        X=X,
        weights=None,
    ),
    "GMM.from_parameters": entry(
        gs.GMM.from_parameters,
        weights=[0.5, 0.5],
        means=[[0, 0], [1, 1]],
        covariances=[[1, 1], [2, 2]],
        covariance="diag",
    ),
    "GMM.condition": entry(GMM.condition, values=[0.5], dims=[1]),
    "GMM.marginal": entry(GMM.marginal, dims=[0]),
    "fields.GaussianMixture": entry(gs.fields.GaussianMixture, target=GMM),
    "fields.Empirical": entry(gs.fields.Empirical, X=X, weights=np.ones(len(X)), bandwidth=0.1),
    "fields.Callable": entry(
        gs.fields.Callable, fn=lambda t, x: -x, dim=2, divergence=lambda t, x: np.full(len(x), -2.0)
    ),
    "fields.Guided": entry(
        gs.fields.Guided, conditional=FIELDS["mixture"], unconditional=FIELDS["empirical"], guidance=1.5
    ),
    "fields.MLP": entry(
        gs.fields.MLP,
        weights=[np.ones((4, 3)), np.ones((2, 4))],
        biases=[np.zeros(4), np.zeros(2)],
        activations=["relu", "identity"],
        inputs="xt",
    ),
    "MLP.condition": entry(
        gs.fields.MLP([np.ones((2, 4))], [np.zeros(2)], ["identity"], inputs="xty").condition, y=[0.5]
    ),
    "Flow": entry(
        gs.Flow,
        field=FIELDS["mixture"],
        solver="heun",
        steps=4,
        rtol=1e-4,
        atol=1e-4,
        max_steps=100,
        on_failure="return",
        path="cosine",
        sde=None,
    ),
    "Flow.integrate": entry(MODELS["flow"].integrate, x0=X, t0=0.0, t1=1.0, times=[0.5], rng=0, n_threads=1),
    "Flow.integrate-sde": entry(MODELS["flow-sde"].integrate, x0=X, t0=0.0, t1=0.5, times=None, rng=1, n_threads=1),
    "random.uniform": entry(gs.random.uniform, n=5, dim=2, rng=0, dtype=np.float32, n_threads=1, out=None),
    "random.normal": entry(gs.random.normal, n=5, dim=2, rng=0, dtype=np.float64, n_threads=1, out=np.empty((5, 2))),
    "random.integers": entry(gs.random.integers, n=5, high=7, dim=2, rng=0, n_threads=1),
    "generate": entry(
        gs.generate,
        dist=BOX,
        n=100,
        rng=0,
        out=FOLDER / "gen.npy",
        chunk=30,
        dtype=np.float32,
        progress=False,
        n_threads=1,
        overwrite=True,
        resume=False,
    ),
    "dask.sample": entry(
        lambda dist, n, chunks, rng, dtype, n_threads: gs.dask.sample(dist, n, chunks, rng, dtype, n_threads).compute(
            scheduler="sync"
        ),
        dist=GMM,
        n=50,
        chunks=20,
        rng=0,
        dtype=np.float64,
        n_threads=1,
    ),
    "metrics.mmd": entry(gs.metrics.mmd, x=X, y=X + 1, kernel="laplacian", bandwidth=1.0, n_threads=1),
    "metrics.mmd_test": entry(
        gs.metrics.mmd_test, x=X, y=X + 1, n_permutations=20, kernel="gaussian", bandwidth="median", rng=0, n_threads=1
    ),
    "metrics.energy_distance": entry(gs.metrics.energy_distance, x=X, y=X + 1, n_threads=1),
    "metrics.sliced_wasserstein": entry(gs.metrics.sliced_wasserstein, x=X, y=X + 1, n_projections=16, p=2, rng=0),
    "metrics.precision_recall": entry(gs.metrics.precision_recall, real=X, fake=X + 1, k=3, n_threads=1),
    "metrics.support_precision": entry(gs.metrics.support_precision, samples=X, region=BOX, n_threads=1),
    "metrics.support_recall": entry(
        gs.metrics.support_recall, model=GMM, region=BOX, n=1000, rng=0, log_threshold=-5.0, n_threads=1
    ),
    "metrics.mean_logpdf": entry(gs.metrics.mean_logpdf, model=GMM, x=X, n_threads=1),
    "metrics.median_bandwidth": entry(gs.metrics.median_bandwidth, x=X, y=X + 1, rng=0),
    "io.save": entry(gs.io.save, model=GMM, path=FOLDER / "m.npz", overwrite=True),
    "io.load": entry(gs.io.load, path=SAVED),
    "io.describe": entry(gs.io.describe, path=SAVED),
    "io.to_arrays": entry(gs.io.to_arrays, model=GMM),
    "set_num_threads": entry(lambda n: (gs.set_num_threads(n), gs.set_num_threads(None)), n=2),
    "datasets.moons": entry(lambda noise: gs.datasets.moons(noise).sample(5, rng=0), noise=0.1),
    "datasets.circles": entry(
        lambda noise, factor: gs.datasets.circles(noise, factor).sample(5, rng=0), noise=0.05, factor=0.5
    ),
    "datasets.eight_gaussians": entry(
        lambda radius, std: gs.datasets.eight_gaussians(radius, std).sample(5, rng=0), radius=2.0, std=0.2
    ),
    "datasets.Swirl": entry(
        lambda arms, radius, radial_std, tangential_std, twist: gs.datasets.Swirl(
            arms, radius, radial_std, tangential_std, twist
        ).sample(5, rng=0),
        arms=3,
        radius=1.0,
        radial_std=0.3,
        tangential_std=0.05,
        twist=1.0,
    ),
    "datasets.hostage_scene": entry(gs.datasets.hostage_scene, width=32, height=24),
    "scipy.gaussian_kde": entry(
        lambda dataset, bw_method, weights: gaussian_kde(dataset, bw_method, weights),
        dataset=X.T,
        bw_method="silverman",
        weights=np.ones(len(X)),
    ),
    "scipy.gaussian_kde.evaluate": entry(gaussian_kde(X.T).evaluate, points=X.T),
    "scipy.gaussian_kde.resample": entry(gaussian_kde(X.T).resample, size=5, seed=0),
    "scipy.gaussian_kde.integrate_box_1d": entry(gaussian_kde(X[:, 0]).integrate_box_1d, low=-1.0, high=1.0),
    "scipy.gaussian_kde.marginal": entry(gaussian_kde(X.T).marginal, dimensions=[1]),
    "sklearn.KernelDensity.fit": entry(
        lambda bandwidth, kernel, X, sample_weight: (
            KernelDensity(bandwidth=bandwidth, kernel=kernel).fit(X, sample_weight=sample_weight).score_samples(X[:3])
        ),
        bandwidth=0.5,
        kernel="gaussian",
        X=X,
        sample_weight=None,
    ),
    "sklearn.KernelDensity.sample": entry(KernelDensity(bandwidth=0.5).fit(X).sample, n_samples=5, random_state=0),
    "sklearn.GaussianMixture.fit": entry(
        lambda n_components, covariance_type, max_iter, random_state, X: (
            GaussianMixture(n_components, covariance_type=covariance_type, max_iter=max_iter, random_state=random_state)
            .fit(X)
            .means_
        ),
        n_components=2,
        covariance_type="tied",
        max_iter=20,
        random_state=0,
        X=X,
    ),
}
for name, m in MODELS.items():
    ENTRIES[f"{name}.sample"] = entry(m.sample, n=7, rng=0, dtype=np.float32, n_threads=1)
    ENTRIES[f"{name}.logpdf"] = entry(m.logpdf, x=X[:5], n_threads=1)
for name, m in REGIONS.items():
    ENTRIES[f"{name}.contains"] = entry(m.contains, x=X[:5], n_threads=1)
for name, m in (("kde", KDE), ("gmm", GMM)):
    ENTRIES[f"{name}.grad_logpdf"] = entry(m.grad_logpdf, x=X[:5], n_threads=1)
for method in ("predict", "predict_proba", "log_responsibilities", "score", "aic", "bic"):
    ENTRIES[f"gmm.{method}"] = (
        entry(getattr(GMM, method), x=X[:5], n_threads=1)
        if method not in ("aic", "bic")
        else entry(getattr(GMM, method), X=X[:5], n_threads=1)
    )
COND, DEC = MODELS["conditional"], MODELS["decoder"]
for method in ("predict", "predict_proba", "predict_log_proba", "joint_log_likelihood"):
    ENTRIES[f"conditional.{method}"] = entry(getattr(COND, method), x=X[:5], n_threads=1)
ENTRIES["conditional.labelled_sample"] = entry(
    lambda n, rng, y: COND.sample(n, rng=rng, y=y), n=7, rng=0, y=np.array([0, 1, 0, 1, 0, 1, 0])
)
ENTRIES["Conditional.fit"] = entry(lambda X, y: gs.Conditional(gs.GMM(1)).fit(X, y), X=X, y=np.arange(len(X)) % 2)
ENTRIES["decoder.decode"] = entry(DEC.decode, z=X[:5, :1], n_threads=1)
ENTRIES["decoder.iwae"] = entry(DEC.iwae, x=X[:5], k=4, rng=0, n_threads=1)
ENTRIES["gmm.sample_with_labels"] = entry(GMM.sample_with_labels, n=7, rng=0, dtype=np.float64, n_threads=1)
CHAINS = dict(n_chains=3, n_steps=5, method="mala", step_size=0.1, warmup=5, n_leapfrog=2, target_accept=0.6,
              thin=1, keep="all", init=None, rng=0, dtype=np.float64, n_threads=1)  # fmt: skip
ENTRIES["mcmc.sample"] = entry(lambda **kw: gs.mcmc.sample(GMM, **kw), **CHAINS)
ENTRIES["mcmc.sample_kde"] = entry(lambda **kw: gs.mcmc.sample(KDE, **kw), **dict(CHAINS, method="hmc"))
ENTRIES["mcmc.sample_callable"] = entry(
    lambda **kw: gs.mcmc.sample(lambda x: (-0.5 * (x * x).sum(axis=1), -x), **kw), **dict(CHAINS, init=X[:3])
)
ENTRIES["mcmc.diagnostics"] = entry(gs.mcmc.diagnostics, draws=np.arange(60.0).reshape(2, 10, 3) % 7)
for name, f in FIELDS.items():
    for method in ("velocity", "divergence"):
        ENTRIES[f"fields.{name}.{method}"] = entry(getattr(f, method), t=0.5, x=X[:5], n_threads=1, path="vp")

# Arguments that only set an amount of work (not of memory): they get no huge counts, whose
# only effect would be a call that runs for years (they still answer Ctrl-C).
WORK = {"max_iter", "n_init", "n_permutations", "max_steps", "steps", "n_components", "arms"}
# Where n is rows written to disk or computed by Dask: huge n is the chunked path, which works.
ENTRY_WORK = {"generate": {"n"}, "dask.sample": {"n"}}
ENTRY_WORK.update(
    {name: {"warmup", "n_leapfrog"} for name in ("mcmc.sample", "mcmc.sample_kde", "mcmc.sample_callable")}
)
# The drop-in classes raise their peers' messages (scikit-learn's validation, scipy's
# wording): for them only the exception type is checked.
PEER_MESSAGES = ("scipy.", "sklearn.")

# ---- hostile values -------------------------------------------------------------------

values = st.sampled_from(
    [
        0.0,
        -0.0,
        1.0,
        -1.0,
        np.nan,
        np.inf,
        -np.inf,
        5e-324,
        1e-310,
        1e308,
        -1e308,
        1e30,
        3.0,
        1e150,
        -1.1e150,
        1e17,
        2e17,
    ]
)
dtypes = st.sampled_from(["<f8", ">f8", "<f4", ">f4", "<i8", ">i4", "u1", "?", "c16", "O", "f2", "U3", "M8[s]"])
shapes = st.sampled_from(
    [(), (0,), (1,), (2,), (5,), (0, 2), (3, 0), (3, 2), (4, 1), (2, 3), (3, 2, 1), (1, 1, 1), (40, 2), (2, 40)]
)
layouts = st.sampled_from(["c", "fortran", "strided", "reversed", "readonly"])


@st.composite
def arrays(draw):
    shape, dtype, layout = draw(shapes), draw(dtypes), draw(layouts)
    size = int(np.prod(shape))
    base = np.array([draw(values) for _ in range(min(size, 12))] or [0.0], dtype=np.float64)
    base = np.resize(base, size * 2 or 1)
    try:
        a = base[:size].astype(dtype).reshape(shape)
    except (ValueError, TypeError, OverflowError):
        a = np.zeros(shape, dtype=dtype)
    if layout == "fortran" and a.ndim == 2:
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim >= 1:
        a = np.repeat(a, 2, axis=0)[::2]
    elif layout == "reversed" and a.ndim >= 1:
        a = a[::-1]
    elif layout == "readonly":
        a.flags.writeable = False
    return a


big = [2**31, 2**31 + 1, 2**33, 2**40, 2**62, 2**63, 2**64, 2**80]
small = [0, 1, 2, 7, -1, -(2**40), 1.5, 2.0, True, False, np.int64(3), np.uint8(2), np.int32(-5), np.float64(2.0)]
odd = [
    "",
    "3",
    "gaussian",
    "nan",
    None,
    object(),
    [],
    [[1, 2], [3]],
    {},
    1j,
    (1, 2),
    lambda *a: 0,
    b"x",
    FOLDER / "missing" / "x.npz",
    np.random.default_rng(1),
    np.random.SeedSequence(2),
    MODELS["flow"],
    BOX,
    GMM,
]
hostile = st.one_of(arrays(), values, st.sampled_from(small + odd + big))
bounded = st.one_of(arrays(), values, st.sampled_from(small + odd + [2**64, 2**80]))


def names(message: str) -> set:
    return {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", message)}


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


signal.signal(signal.SIGALRM, _alarm)


def call(label, arg, value):
    fn, kwargs = ENTRIES[label]
    kwargs = dict(kwargs, **{arg: value})
    where = f"{label}({arg}={value!r:.80})"
    signal.alarm(TIME_LIMIT)
    try:
        result = fn(**kwargs)
    except Hang:
        raise AssertionError(f"{where} ran for over {TIME_LIMIT} s") from None
    except (ValueError, TypeError, MemoryError, OSError) as exc:
        signal.alarm(0)
        if isinstance(exc, OSError) and not isinstance(exc, MemoryError):
            # the system's message names the file; overwrite=False meets the file of the last call
            assert arg in ("path", "out", "overwrite"), f"{where}: {type(exc).__name__}: {exc}"
            return
        message = str(exc)
        if not label.startswith(PEER_MESSAGES):
            assert arg.lower() in names(message), f"{where} raised {type(exc).__name__} not naming {arg!r}: {message}"
        return
    finally:
        signal.alarm(0)
    for r in result if isinstance(result, tuple) else (result,):
        if isinstance(r, np.ndarray) and r.dtype.kind == "f":
            assert not np.isnan(r).any(), f"{where} returned NaN"
        elif isinstance(r, float):
            assert not np.isnan(r), f"{where} returned NaN"


LABELS = sorted(ENTRIES)


@settings(max_examples=int(sys.argv[1]), deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data(), label=st.sampled_from(LABELS))
def check(data, label):
    arg = data.draw(st.sampled_from(sorted(ENTRIES[label][1])), label="argument")
    value = data.draw(bounded if arg in WORK | ENTRY_WORK.get(label, set()) else hostile, label="value")
    call(label, arg, value)


if __name__ == "__main__":
    os.chdir(FOLDER)  # a hostile relative path ("nan", "3") is written here, not into the checkout
    check()
    print(f"survived {sys.argv[1]} examples over {len(ENTRIES)} entry points")
