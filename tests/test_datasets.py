"""Built-in datasets: the world's land by area, the horse, the hostage scene, toy sets."""

import numpy as np
import pytest
from scipy import stats

import gensample as gs

ALPHA = 1e-4


@pytest.fixture(scope="module")
def land(tmp_path_factory):
    pytest.importorskip("global_land_mask", reason="the datasets extra is part of the test extra")
    import os

    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("GENSAMPLE_CACHE")
    os.environ["GENSAMPLE_CACHE"] = str(cache)
    try:
        yield gs.datasets.world_land(), gs.datasets.world_land(), cache
    finally:
        if old is None:
            del os.environ["GENSAMPLE_CACHE"]
        else:
            os.environ["GENSAMPLE_CACHE"] = old


@pytest.mark.slow
def test_world_land_is_uniform_by_area(land):
    first, cached, cache = land
    assert list(cache.iterdir())  # the index was written ...
    for k in ("row_ptr", "start", "length"):  # ... and loads back the same
        np.testing.assert_array_equal(first._index[k], cached._index[k])
    assert first.shape == (21600, 43200)
    assert first.n_runs == pytest.approx(388_000, rel=0.01)
    assert first.index_nbytes <= 16e6  # the 16 MB, in bytes
    x = cached.sample(1_000_000, rng=0)
    from global_land_mask import globe

    assert globe.is_land(x[:, 1], x[:, 0]).all()
    # the true share of land area poleward of 60 degrees, from the index itself
    ix = first._index
    rows = np.repeat(np.arange(21600), np.diff(ix["row_ptr"]))
    lat_top = 90 - rows / 120
    area = ix["length"] * (np.sin(np.radians(lat_top)) - np.sin(np.radians(lat_top - 1 / 120)))
    polar = (lat_top > 60) | (lat_top <= -60)
    p = area[polar].sum() / area.sum()
    assert p == pytest.approx(0.200, abs=0.005)  # uniform in lat/lon would give 0.458
    assert stats.binomtest(int((np.abs(x[:, 1]) > 60).sum()), x.shape[0], p).pvalue > ALPHA


def test_world_land_coarse(land):
    coarse = gs.datasets.world_land(resolution=1.0)
    assert coarse.shape == (180, 360)
    assert coarse.area_km2 == pytest.approx(land[0].area_km2, rel=0.03)
    with pytest.raises(ValueError, match="multiple of 1/120"):
        gs.datasets.world_land(resolution=0.3 / 120)
    with pytest.raises(ValueError, match="divide the grid"):
        gs.datasets.world_land(resolution=7 / 120)


def test_horse_and_hostage_scene():
    pytest.importorskip("skimage")
    from skimage import data

    h = gs.datasets.horse()
    assert h.shape == (328, 400) and h.area == (~data.horse()).sum()
    x = h.sample(50_000, rng=0)
    col, row = np.floor(x[:, 0]).astype(int), 327 - np.floor(x[:, 1]).astype(int)
    assert (~data.horse())[row, col].all()
    scene = gs.datasets.hostage_scene()
    y = scene.sample(50_000, rng=0)
    assert scene.contains(y).all()
    assert 0.7 < scene.area / (640 * 480) < 0.95


TOYS = ["moons", "circles", "eight_gaussians", "pinwheel", "spirals", "checkerboard"]


@pytest.mark.parametrize("name", TOYS)
def test_toy_density_integrates_to_one(name):
    d = getattr(gs.datasets, name)()
    h = 0.02
    g = np.arange(-6, 6, h) + h / 2
    xx, yy = np.meshgrid(g, g)
    total = np.exp(d.logpdf(np.c_[xx.ravel(), yy.ravel()])).sum() * h * h
    assert total == pytest.approx(1.0, abs=2e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", TOYS)
def test_toy_samples_follow_logpdf(name):
    """Chi-square of sample counts on a coarse grid against the integrated density."""
    d = getattr(gs.datasets, name)()
    n = 200_000
    x = d.sample(n, rng=7)
    edges = np.linspace(-6, 6, 25)
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    fine = 20
    h = (edges[1] - edges[0]) / fine
    g = np.arange(-6, 6, h) + h / 2
    xx, yy = np.meshgrid(g, g, indexing="ij")
    dens = np.exp(d.logpdf(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape) * h * h
    p = dens.reshape(24, fine, 24, fine).sum(axis=(1, 3))
    p /= p.sum()
    keep = p * n > 20
    assert counts[~keep].sum() <= n * 2e-3 + 50
    f_obs = counts[keep]
    f_exp = p[keep] * f_obs.sum() / p[keep].sum()
    assert stats.chisquare(f_obs, f_exp).pvalue > ALPHA


def test_toy_reproducible_and_bad_parameters():
    m = gs.datasets.moons()
    np.testing.assert_array_equal(m.sample(100, rng=1), m.sample(200, rng=1)[:100])
    assert m.sample(10, rng=1, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"noise must be a finite number in \(0, 1e\+100\]"):
        gs.datasets.moons(noise=-1)
    with pytest.raises(ValueError, match=r"factor must be a finite number in \(0, 1\]"):
        gs.datasets.circles(factor=2)
