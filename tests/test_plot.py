"""gs.plot renders to PNG without a display (Agg), and the pictures are not blank."""

import numpy as np
import pytest

import gensample as gs

matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is in the test extra")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _pixels(ax, tmp_path):
    path = tmp_path / "p.png"
    ax.figure.savefig(path, dpi=60)
    plt.close(ax.figure)
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _not_blank(pixels) -> bool:
    """Some pixels neither white nor the axes' frame: something was drawn."""
    coloured = np.abs(pixels - pixels.mean(axis=2, keepdims=True)).sum(axis=2) > 30
    return coloured.mean() > 0.002


GMM = gs.GMM.from_parameters([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], np.stack([0.3 * np.eye(2)] * 2))


@pytest.mark.parametrize(
    "draw",
    [
        lambda: gs.plot.scatter(gs.datasets.moons(), n=3000),
        lambda: gs.plot.scatter(np.random.default_rng(0).normal(size=(500, 2)), color="tab:red"),
        lambda: gs.plot.density(GMM, extent=(-4, 4, -2, 2), resolution=80),
        lambda: gs.plot.density(gs.datasets.checkerboard(), resolution=60, log=True),
        lambda: gs.plot.region(gs.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]])),
        lambda: gs.plot.region(gs.datasets.hostage_scene(160, 120), resolution=100),
        lambda: gs.plot.region(gs.Box([0, 0], [2, 1]) - gs.Box([0.5, 0.2], [1.0, 0.8]), resolution=100),
        lambda: gs.plot.flow_paths(gs.Flow(gs.fields.GaussianMixture(GMM), steps=16), n=100, steps=8),
        lambda: gs.plot.world(gs.GeoMask(np.eye(90, 180, dtype=bool)), n=5000),
    ],
    ids=[
        "scatter-model",
        "scatter-array",
        "density",
        "density-log-raster",
        "region-polygon",
        "region-raster",
        "region-difference",
        "flow-paths",
        "world",
    ],
)
def test_renders_something(draw, tmp_path):
    ax = draw()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert _not_blank(_pixels(ax, tmp_path))


def test_draws_on_the_given_axes(tmp_path):
    fig, axes = plt.subplots(1, 2)
    assert gs.plot.scatter(GMM, n=100, ax=axes[1]) is axes[1]
    assert len(axes[0].collections) == 0 and len(axes[1].collections) == 1
    plt.close(fig)


def test_density_shows_where_the_mass_is(tmp_path):
    ax = gs.plot.density(GMM, extent=(-4, 4, -2, 2), resolution=40)
    img = ax.images[0].get_array()
    assert img.shape == (40, 40)
    assert img[20, 10] > 100 * img[20, 20]  # a component's centre is far denser than the gap
    plt.close(ax.figure)


def test_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        gs.plot.density(gs.Box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(ValueError, match="extent"):
        gs.plot.density(GMM, extent=(1, 0, 0, 1))
    with pytest.raises(TypeError, match="region"):
        gs.plot.region(GMM)
    with pytest.raises(ValueError, match="lon/lat"):
        gs.plot.world(np.ones((10, 3)))
    with pytest.raises(TypeError, match="Flow"):
        gs.plot.flow_paths(GMM)
    plt.close("all")
