"""Model files: every model saves, loads without pickle and samples the same bits; pickling
too; corrupt, truncated and hostile files get a clear error and never a crash."""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import gensample as gs

X = np.random.default_rng(0).normal(size=(300, 2))


def _quarter(X, w):
    return 0.25


def _mlp():
    rng = np.random.default_rng(1)
    return gs.fields.MLP(
        [rng.normal(size=(16, 3)), rng.normal(size=(2, 16))], [rng.normal(size=16), np.zeros(2)], ["silu", "identity"]
    )


def _models():
    """One of every kind a model file holds (and the variants that store something else)."""
    rng = np.random.default_rng(2)
    gmm = gs.GMM(3, rng=0).fit(X)
    frame = gs.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]])
    return {
        "box": gs.Box([0, 0, 0], [1, 2, 3]),
        "ppca": gs.PPCA(1).fit(rng.normal(size=(200, 3)) * [3.0, 1.0, 0.5]),
        "factor-analysis": gs.FactorAnalysis(1).fit(rng.normal(size=(200, 3)) * [3.0, 1.0, 0.5]),
        "conditional": gs.Conditional(gs.GMM(1)).fit(X, np.arange(len(X)) % 3),
        "decoder": gs.Decoder(
            (
                [rng.normal(size=(8, 2)), rng.normal(size=(3, 8))],
                [rng.normal(size=8), np.zeros(3)],
                [["elu", {"op": "layer_norm", "gamma": rng.uniform(0.5, 1.5, 8), "beta": rng.normal(size=8)}], []],
            ),
            2,
            noise=[0.1, 0.2, 0.3],
            encoder=([rng.normal(size=(4, 3))], [np.zeros(4)], ["identity"]),
        ),
        "conditional-regions": gs.Conditional.from_models({"a": gs.Box([0, 0], [1, 1]), "b": frame}, [0.9, 0.1]),
        "raster": gs.RasterMask(rng.random((20, 30)) > 0.4, extent=(0, 3, -1, 1), origin="lower"),
        "raster-weighted-3d": gs.RasterMask(
            np.ones((3, 4, 5), bool), weights=rng.random((3, 4, 5)), method="rejection"
        ),
        "geomask": gs.GeoMask(np.eye(90, 180, dtype=bool), method="rejection"),
        "hostage-scene": gs.datasets.hostage_scene(160, 120),
        "polygon": frame,
        "multipolygon": gs.MultiPolygon([[(0, 0), (1, 0), (0, 1)], [(5, 5), (6, 5), (6, 6), (5, 6)]]),
        "difference": frame - gs.Box([0, 0], [1, 4]),
        "union": gs.Box([0, 0], [2, 2]) | frame,
        "intersection": gs.GeoMask(np.ones((18, 36), bool)) & gs.Box([-20, -10], [40, 50]),
        "kde-scott": gs.KDE().fit(X),
        "kde-cosine-weighted": gs.KDE(0.3, kernel="cosine").fit(X, weights=np.arange(300)),
        "kde-vector": gs.KDE([0.2, 0.5], kernel="exponential").fit(X),
        "kde-callable": gs.KDE(_quarter).fit(X),
        **{f"gmm-{c}": gs.GMM(2, c, rng=0).fit(X) for c in ("full", "diag", "spherical", "tied")},
        "gmm-given": gs.GMM.from_parameters([0.25, 0.75], [[0.0], [3.0]], [0.5, 2.0], covariance="spherical"),
        "flow-gmm": gs.Flow(gs.fields.GaussianMixture(gmm), steps=8),
        "flow-kde-vp-sde": gs.Flow(
            gs.fields.GaussianMixture(gs.KDE(0.4).fit(X[:50])), steps=8, sde=0.5, path=("vp", 0.2, 10.0)
        ),
        "flow-empirical": gs.Flow(gs.fields.Empirical(X[:40], weights=np.arange(1, 41), bandwidth=0.1), "heun", 8),
        "flow-mlp-dopri5": gs.Flow(_mlp(), "dopri5", rtol=1e-4, atol=1e-4),
        "flow-mlp-steps": gs.Flow(
            gs.fields.MLP(
                [rng.normal(size=(16, 3)), rng.normal(size=(2, 16))],
                [rng.normal(size=16), np.zeros(2)],
                [[{"op": "layer_norm", "eps": 1e-3}, {"op": "leaky_relu", "param": 0.1}], "identity"],
            ),
            steps=8,
        ),
        "flow-guided": gs.Flow(
            gs.fields.Guided(
                gs.fields.GaussianMixture(gmm.condition([0.5], dims=[0])),
                gs.fields.GaussianMixture(gmm.marginal([1])),
                1.5,
            ),
            path="cosine",
        ),
        "moons": gs.datasets.moons(0.2),
        "circles": gs.datasets.circles(),
        "eight-gaussians": gs.datasets.eight_gaussians(),
        "pinwheel": gs.datasets.pinwheel(),
    }


MODELS = _models()


@pytest.fixture(params=sorted(MODELS))
def model(request):
    return MODELS[request.param]


def test_every_model_type_is_covered():
    assert {type(m).__name__ for m in MODELS.values()} | {"GaussianMixture", "Empirical", "MLP", "Guided"} == set(
        gs.io.MODEL_TYPES
    )


def _same_draws(a, b, n, **kw):
    """a and b draw the same rows (and labels, for a Conditional); returns a's rows."""
    x, y = a.sample(n, **kw), b.sample(n, **kw)
    x, y = (x, y) if isinstance(x, tuple) else ((x,), (y,))
    for u, v in zip(x, y):
        np.testing.assert_array_equal(u, v)
    return x[0]


def test_save_load_gives_the_same_model(model, tmp_path):
    path = model.save(tmp_path / "m.npz")
    loaded = gs.load(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model) or callable(model.bandwidth)  # a callable bandwidth comes back as H
    a = _same_draws(model, loaded, 500, rng=3)
    _same_draws(model, loaded, 100, rng=4, dtype=np.float32)
    if not isinstance(model, gs.Flow):  # a Flow's logpdf integrates back: covered below on one model
        np.testing.assert_array_equal(model.logpdf(a[:50]), loaded.logpdf(a[:50]))


def test_flow_logpdf_survives_a_round_trip(tmp_path):
    flow = MODELS["flow-gmm"]
    loaded = gs.load(flow.save(tmp_path / "f.npz"))
    x = flow.sample(20, rng=0)
    np.testing.assert_array_equal(flow.logpdf(x), loaded.logpdf(x))


def test_fitted_attributes_survive(tmp_path):
    gmm = MODELS["gmm-full"]
    loaded = gs.load(gmm.save(tmp_path / "g.npz"))
    assert (loaded.converged_, loaded.n_iter_, loaded.lower_bound_) == (gmm.converged_, gmm.n_iter_, gmm.lower_bound_)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(gmm, name))
    kde = MODELS["kde-callable"]
    loaded = gs.load(kde.save(tmp_path / "k.npz"))
    np.testing.assert_array_equal(loaded.bandwidth_, kde.bandwidth_)  # the callable's result is stored


def test_pickle_round_trip(model):
    _same_draws(pickle.loads(pickle.dumps(model)), model, 300, rng=5)


def test_pickle_drops_caches():
    kde = gs.KDE().fit(np.random.default_rng(0).normal(size=(20_000, 2)))
    before = len(pickle.dumps(kde))
    kde.logpdf(X)  # fills the engine's tiles
    kde.sample(10, rng=0)
    assert len(pickle.dumps(kde)) == before


def test_world_land_saves_and_loads(tmp_path, monkeypatch):
    pytest.importorskip("global_land_mask", reason="the datasets extra is part of the test extra")
    monkeypatch.setenv("GENSAMPLE_CACHE", str(tmp_path / "cache"))
    land = gs.datasets.world_land(resolution=0.5)
    loaded = gs.load(land.save(tmp_path / "land.npz"))
    assert isinstance(loaded, gs.GeoMask) and loaded.n_runs == land.n_runs
    np.testing.assert_array_equal(loaded.sample(10_000, rng=0), land.sample(10_000, rng=0))


def test_loads_without_pickle(tmp_path):
    """An archive with an object array is refused: loading never unpickles."""
    path = MODELS["box"].save(tmp_path / "b.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["model.low"] = np.array([os.system, 1.0], dtype=object)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError, match="evil.npz holds Python objects"):
        gs.load(tmp_path / "evil.npz")


def _rewrite(path, out, edit_meta=None, edit_arrays=None):
    with np.load(path) as z:
        arrays = dict(z)
    meta = json.loads(bytes(arrays["__gensample__"]).decode())
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    arrays["__gensample__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize(
    "edit_meta, edit_arrays, message",
    [
        (lambda m: m.update(version=99), None, "format version 99"),
        (lambda m: m.update(format="other"), None, "not a gensample model header"),
        (lambda m: m["model"].update(type="Evil"), None, "unknown model type 'Evil'"),
        (lambda m: m["model"]["params"].update(shape=[21, 30]), None, "sizes do not match"),
        (lambda m: m["model"]["params"].pop("origin"), None, "invalid RasterMask"),
        (lambda m: m["model"]["arrays"].update(start="nope"), None, "lacks array 'nope'"),
        (None, lambda a: a.update({"model.start": a["model.start"] + 1000}), "passes the last"),
        (None, lambda a: a.update({"model.length": a["model.length"] * 0}), "must not be empty"),
        (None, lambda a: a.update({"model.row_ptr": a["model.row_ptr"][::-1].copy()}), "invalid RasterMask"),
        (None, lambda a: a.update({"model.start": a["model.start"].astype(np.float64)}), "integer array"),
    ],
)
def test_tampered_raster_files_are_refused(tmp_path, edit_meta, edit_arrays, message):
    """A run index that would send a kernel out of bounds is caught in Python first."""
    path = MODELS["raster"].save(tmp_path / "r.npz")
    bad = _rewrite(path, tmp_path / "bad.npz", edit_meta, edit_arrays)
    with pytest.raises(ValueError, match=message):
        gs.load(bad)


@pytest.mark.parametrize(
    "name, key, value, message",
    [
        ("gmm-full", "model.covariances", lambda c: -c, "invalid GMM"),
        ("gmm-full", "model.weights", lambda w: w * 2, "sum to 1"),
        ("kde-scott", "model.data", lambda x: x * np.nan, "finite"),
        ("kde-scott", "model.bandwidth_matrix", lambda h: h[:1], "symmetric"),
        ("polygon", "model.ring_ptr", lambda p: p[::-1].copy(), "ring_ptr must rise"),
        ("polygon", "model.xy", lambda xy: xy * 0, "invalid Polygon"),
        ("flow-mlp-dopri5", "model.field.weight0", lambda w: w[:, :2], "invalid MLP"),
    ],
)
def test_tampered_parameters_are_refused(tmp_path, name, key, value, message):
    path = MODELS[name].save(tmp_path / "m.npz")
    bad = _rewrite(path, tmp_path / "bad.npz", edit_arrays=lambda a: a.update({key: value(a[key])}))
    with pytest.raises(ValueError, match=message):
        gs.load(bad)


def test_truncated_and_garbage_files(tmp_path):
    data = (MODELS["kde-scott"].save(tmp_path / "k.npz")).read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 5):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="corrupt or truncated|not a gensample model"):
            gs.load(tmp_path / "cut.npz")
    (tmp_path / "noise.npz").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match="noise.npz"):
        gs.load(tmp_path / "noise.npz")
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(ValueError, match="single .npy array"):
        gs.load(tmp_path / "array.npy")
    np.savez(tmp_path / "plain.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="no __gensample__ header"):
        gs.load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError):
        gs.load(tmp_path / "missing.npz")


def test_flipped_bytes_never_crash(tmp_path):
    """Random corruption of a model file: an error or a model, never a dead interpreter."""
    path = MODELS["hostage-scene"].save(tmp_path / "h.npz")
    script = f"""
import numpy as np, gensample as gs, zipfile
data = bytearray(open({str(path)!r}, "rb").read())
rng = np.random.default_rng(0)
for trial in range(60):
    bad = bytearray(data)
    for i in rng.integers(0, len(bad), size=4):
        bad[i] ^= int(rng.integers(1, 256))
    open({str(tmp_path / "flip.npz")!r}, "wb").write(bad)
    try:
        m = gs.load({str(tmp_path / "flip.npz")!r})
        m.sample(1000, rng=0)
    except (ValueError, FileNotFoundError):
        pass
print("survived")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]


def test_save_refuses_to_overwrite_and_keeps_the_old_file(tmp_path):
    path = MODELS["box"].save(tmp_path / "m.npz")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        MODELS["gmm-full"].save(path)
    with pytest.raises(TypeError, match="Callable field"):
        gs.Flow(gs.fields.Callable(lambda t, x: -x, dim=2)).save(path, overwrite=True)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]
    MODELS["gmm-full"].save(path, overwrite=True)
    assert isinstance(gs.load(path), gs.GMM)


def test_unfitted_models_cannot_be_saved(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted"):
        gs.KDE().save(tmp_path / "k.npz")
    with pytest.raises(TypeError, match="sde is a callable"):
        gs.Flow(gs.fields.GaussianMixture(MODELS["gmm-full"]), sde=lambda t: 1.0).save(tmp_path / "f.npz")
    assert not (tmp_path / "k.npz").exists() and not (tmp_path / "f.npz").exists()


def test_format_is_documented_json(tmp_path):
    """The header is plain JSON a reader without gensample can parse."""
    path = MODELS["gmm-diag"].save(tmp_path / "g.npz")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == [
            "__gensample__.npy",
            "model.covariances.npy",
            "model.lower_bounds.npy",
            "model.means.npy",
            "model.weights.npy",
        ]
    with np.load(path) as z:
        meta = json.loads(bytes(z["__gensample__"]).decode())
    assert meta["format"] == "gensample-model" and meta["version"] == gs.io.FORMAT_VERSION
    assert meta["model"]["type"] == "GMM" and meta["model"]["params"]["covariance"] == "diag"
    lines = gs.io.describe(path)
    assert "format version 1" in lines[0] and any("means: float64 (2, 2)" in line for line in lines)


def test_save_to_a_file_object_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(TypeError):
        MODELS["box"].save(io.BytesIO())


def test_a_model_file_is_an_npz(tmp_path):
    """A zip archive under a .npy name fools every .npy reader (gensample info said
    'AttributeError'): save refuses any other suffix and names the right one."""
    gmm = MODELS["gmm-full"]
    for name in ("m.npy", "m", "m.parquet"):
        with pytest.raises(ValueError, match=r"path must end in \.npz .* use '.*m\.npz'"):
            gmm.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    assert gs.load(gmm.save(tmp_path / "M.NPZ")).dim == gmm.dim
