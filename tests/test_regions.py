"""gs.Box, the hello-world model, against its reference."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample.reference import regions as ref


def test_sample_matches_reference_exactly():
    box = gs.Box([-1.0, 0.0, 10.0], [1.0, 0.5, 1e6])
    key = gs.random.key_from_rng(4)
    for dtype in (np.float64, np.float32):
        x = box.sample(5000, rng=4, dtype=dtype)
        assert x.dtype == dtype and x.shape == (5000, 3)
        np.testing.assert_array_equal(x, ref.box_sample(key, box.low, box.high, 5000, dtype))


def test_sample_is_affine_image_of_uniform():
    box = gs.Box([2.0, -3.0], [4.0, 5.0])
    u = gs.random.uniform(1000, 2, rng=9)
    np.testing.assert_array_equal(box.sample(1000, rng=9), box.low + (box.high - box.low) * u)


@given(
    dim=st.integers(1, 6),
    n=st.integers(0, 200),
    data=st.data(),
)
def test_samples_inside_and_logpdf(dim, n, data):
    low = np.array(data.draw(st.lists(st.floats(-1e3, 1e3), min_size=dim, max_size=dim)))
    width = np.array(data.draw(st.lists(st.floats(1e-3, 1e3), min_size=dim, max_size=dim)))
    box = gs.Box(low, low + width)
    x = box.sample(n, rng=1)
    assert box.contains(x).all()
    np.testing.assert_array_equal(box.contains(x), ref.box_contains(x, box.low, box.high))
    np.testing.assert_allclose(box.logpdf(x), np.full(n, -np.sum(np.log(box.high - box.low))), rtol=1e-12)


def test_logpdf_outside_and_float32_input():
    box = gs.Box([0, 0], [1, 2])
    x = np.array([[0.5, 1.0], [1.5, 1.0], [0.0, 2.0], [-1e-300, 0.0]])
    np.testing.assert_array_equal(box.contains(x), [True, False, True, False])
    np.testing.assert_array_equal(box.logpdf(x), [-np.log(2), -np.inf, -np.log(2), -np.inf])
    np.testing.assert_array_equal(box.contains(x.astype(np.float32)), [True, False, True, True])
    assert box.pdf([[0.5, 0.5]])[0] == pytest.approx(0.5)
    assert box.contains([0.5, 0.5]).shape == (1,)  # a 1-D point is one row


def test_fit_and_margin():
    X = np.array([[0.0, 1.0], [2.0, 5.0], [1.0, 3.0]])
    box = gs.Box.fit(X)
    np.testing.assert_array_equal(box.low, [0, 1])
    np.testing.assert_array_equal(box.high, [2, 5])
    assert box.contains(X).all()
    wide = gs.Box.fit(X, margin=0.25)
    np.testing.assert_allclose(wide.low, [-0.5, 0.0])
    np.testing.assert_allclose(wide.high, [2.5, 6.0])
    assert wide.volume == pytest.approx(3 * 6)


def test_rows_do_not_depend_on_n_or_threads():
    box = gs.Box([0, 0, 0], [1, 2, 3])
    a = box.sample(10_000, rng=3, n_threads=1)
    b = box.sample(20_000, rng=3, n_threads=2)
    c = box.sample(10_000, rng=3, n_threads=7)
    np.testing.assert_array_equal(a, b[:10_000])
    np.testing.assert_array_equal(a, c)


@pytest.mark.slow
def test_uniform_inside_statistically():
    box = gs.Box([-2.0, 10.0], [2.0, 11.0])
    x = box.sample(200_000, rng=12)
    assert stats.kstest(x[:, 0], stats.uniform(-2, 4).cdf).pvalue > 1e-4
    assert stats.kstest(x[:, 1], stats.uniform(10, 1).cdf).pvalue > 1e-4


def test_high_dimensional_volume_does_not_overflow_log():
    box = gs.Box(np.zeros(2000), np.full(2000, 10.0))
    assert box.log_volume == pytest.approx(2000 * np.log(10))
    assert box.volume == np.inf
    assert box.logpdf(box.sample(2, rng=0))[0] == pytest.approx(-2000 * np.log(10))


def test_pickle_and_protocol():
    box = gs.Box([0, 1], [2, 3])
    assert isinstance(box, gs.Distribution)
    assert pickle.loads(pickle.dumps(box)) == box
    assert "Box(low=[0.0, 1.0]" in repr(box)


@pytest.mark.parametrize(
    "low, high, exc, match",
    [
        ([0, 1], [1, 1], ValueError, "coordinate 1 low=1.0 >= high=1.0"),
        ([2], [1], ValueError, "low must be below high"),
        ([0, np.nan], [1, 1], ValueError, "low must be finite"),
        ([0, 0], [1, np.inf], ValueError, "high must be finite"),
        ([0, 0], [1, 1, 1], ValueError, "low and high must have one length, got 2 and 3"),
        ([], [], ValueError, "non-empty 1-D"),
        ([[0, 0]], [[1, 1]], ValueError, "non-empty 1-D"),
        (["a"], ["b"], TypeError, "low must be an array of real numbers"),
        ([-1e308], [1e308], ValueError, "overflows"),
    ],
)
def test_bad_boxes(low, high, exc, match):
    with pytest.raises(exc, match=match):
        gs.Box(low, high)


def test_bad_fit_and_queries():
    with pytest.raises(ValueError, match="zero extent along dimension 1"):
        gs.Box.fit([[0, 1], [1, 1]])
    with pytest.raises(ValueError, match="at least one sample"):
        gs.Box.fit(np.empty((0, 2)))
    with pytest.raises(ValueError, match="2-D"):
        gs.Box.fit([1, 2, 3])
    with pytest.raises(ValueError, match="X must be finite"):
        gs.Box.fit([[0, 0], [np.nan, 1]])
    with pytest.raises(ValueError, match="margin must be"):
        gs.Box.fit([[0, 0], [1, 1]], margin=-1)
    box = gs.Box([0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        box.logpdf(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        box.logpdf([[np.nan, 0.0]])
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        box.contains([["a", "b"]])
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        box.sample(-5)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        box.sample(5, dtype=np.float16)


# ---- set algebra ----------------------------------------------------------------------

SQUARE = [(0, 0), (4, 0), (4, 4), (0, 4)]


def test_raster_set_algebra_on_one_grid_is_exact():
    a = np.zeros((10, 10), bool)
    a[2:8, 2:8] = True
    b = np.zeros((10, 10), bool)
    b[4:6, :] = True
    A, B = gs.RasterMask(a), gs.RasterMask(b)
    for result, cells in ((A - B, a & ~b), (A & B, a & b), (A | B, a | b)):
        assert isinstance(result, gs.RasterMask)
        assert result.area == cells.sum()
    scene = gs.datasets.hostage_scene()
    assert isinstance(scene, gs.RasterMask)
    x = scene.sample(10_000, rng=0)
    assert scene.contains(x).all()


def test_difference_by_rejection():
    left = gs.Polygon(SQUARE)
    hole = gs.Box([1, 1], [3, 2])
    d = left - hole
    assert isinstance(d, gs.regions.Difference)
    assert d.area == pytest.approx(14, rel=5 * d.volume_rel_error)
    x = d.sample(50_000, rng=3)
    assert d.contains(x).all() and not hole.contains(x).any()
    # rows are pure functions of (seed, row), whatever n, threads or float width
    np.testing.assert_array_equal(x[:1000], d.sample(1000, rng=3, n_threads=1))
    np.testing.assert_array_equal(
        d.sample(1000, rng=3, dtype=np.float32), d.sample(2000, rng=3, dtype=np.float32)[:1000]
    )
    # uniform on what is left: the share in the strip y < 1 is 4 / 14
    assert stats.binomtest(int((x[:, 1] < 1).sum()), x.shape[0], 4 / 14).pvalue > 1e-4
    assert d.logpdf([[0.5, 0.5]])[0] == pytest.approx(-np.log(14), rel=1e-2)
    assert d.logpdf([[2.0, 1.5]])[0] == -np.inf


def test_intersection_and_union_are_uniform():
    a = gs.Polygon(SQUARE)
    b = gs.Polygon([(2, 2), (6, 2), (6, 6), (2, 6)])
    i = a & b
    assert i.area == pytest.approx(4, rel=5 * i.volume_rel_error + 1e-12)
    xi = i.sample(20_000, rng=1)
    assert ((xi >= 2) & (xi <= 4)).all()
    u = a | b
    assert u.area == pytest.approx(28, rel=5 * u.volume_rel_error + 1e-12)
    xu = u.sample(100_000, rng=2)
    assert u.contains(xu).all()
    overlap = ((xu >= 2) & (xu <= 4)).all(axis=1)  # 4 of 28: not counted twice
    assert stats.binomtest(int(overlap.sum()), xu.shape[0], 4 / 28).pvalue > 1e-4
    np.testing.assert_array_equal(xu[:500], u.sample(500, rng=2, n_threads=1))


def test_nested_composites_and_geomask_restriction():
    m = np.ones((18, 36), bool)
    world = gs.GeoMask(m)
    band = gs.Box([-180, -30], [180, 30])
    tropics_land = world & band
    x = tropics_land.sample(20_000, rng=0)
    assert (np.abs(x[:, 1]) <= 30).all()
    assert tropics_land.area == pytest.approx(4 * np.pi * 0.5, rel=5 * tropics_land.volume_rel_error)
    nested = (gs.Polygon(SQUARE) - gs.Box([0, 0], [1, 1])) - gs.Box([3, 3], [4, 4])
    y = nested.sample(10_000, rng=4)
    assert nested.contains(y).all()
    assert nested.area == pytest.approx(14, rel=0.01)


def test_set_algebra_errors():
    with pytest.raises(ValueError, match="one space"):
        gs.GeoMask(np.ones((2, 2), bool)) | gs.Box([0, 0], [1, 1])
    with pytest.raises(ValueError, match="one space"):
        gs.Box([0], [1]) - gs.Box([0, 0], [1, 1])
    with pytest.raises(ValueError, match="one space"):
        gs.Box([0, 0], [1, 1]) & gs.Box([0, 0, 0], [1, 1, 1])
    with pytest.raises(TypeError, match="must be regions"):
        gs.Box([0], [1]) - 3
    with pytest.raises(ValueError, match="zero measure"):
        gs.Polygon(SQUARE) - gs.Box([-1, -1], [5, 5])
    with pytest.raises(ValueError, match="do not overlap"):
        gs.Box([0, 0], [1, 1]) & gs.Box([2, 2], [3, 3])
    weighted = gs.RasterMask(np.ones((2, 2), bool), weights=[[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="weighted"):
        weighted | gs.Box([0, 0], [1, 1])


def test_composite_gives_up_below_min_acceptance(monkeypatch):
    assert isinstance(gs.Box([0, 0], [2, 2]) & gs.Box([0, 0], [1, 1]), gs.Box)  # exact
    d = gs.Polygon([(0, 0), (2, 0), (2, 2), (0, 2)]) & gs.Box([0, 0], [1, 1])  # acceptance 1/4
    assert d.sample(1000, rng=0).max() <= 1
    monkeypatch.setattr(gs.regions, "MIN_ACCEPTANCE", 0.5)
    monkeypatch.setattr(gs.regions, "_MIN_PROPOSALS", 1000)
    with pytest.raises(gs.AcceptanceError, match=r"measured acceptance 0\.2\d* .* below 0\.5"):
        d.sample(10_000, rng=0)
    # a sliver the volume estimate cannot even see is refused at construction
    with pytest.raises(ValueError, match="zero measure"):
        gs.Box([0, 0], [1, 1]) & gs.Polygon([(0, 0), (1, 0), (1, 1e-9), (0, 1e-9)])
