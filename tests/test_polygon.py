"""Polygon and MultiPolygon: triangulation by its properties, sampling against the twin,
contains against shapely and the twin, statistics and degenerate input."""

import pickle

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample.reference import polygon as ref

ALPHA = 1e-4


def star(n, r0=1.0, wobble=0.4, k=5, center=(0.0, 0.0), phase=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    r = r0 * (1 + wobble * np.sin(k * t))
    return np.c_[center[0] + r * np.cos(t), center[1] + r * np.sin(t)]


def frame_with_holes():
    shell = star(400, r0=3.0, wobble=0.2, k=7)
    holes = [star(30, 0.3, 0.3, 3, c) for c in [(-1.2, 0.0), (1.0, 0.6), (0.1, -1.2), (0.2, 0.9)]]
    return shell, holes


def test_triangulation_is_exact_cover():
    shell, holes = frame_with_holes()
    p = gs.Polygon(shell, holes)
    g = shapely.Polygon(shell, holes)
    assert p.area == pytest.approx(g.area, rel=1e-12)
    tri = p.triangles
    assert tri.shape == (398 + sum(len(h) for h in holes) + 2 * len(holes), 3, 2)
    # every triangle lies in the polygon: its centroid and edge midpoints are inside
    probe = np.concatenate(
        [
            tri.mean(axis=1),
            (tri + np.roll(tri, 1, axis=1)).reshape(-1, 2) / 2 * 0.999 + tri.mean(axis=1).repeat(3, 0) * 0.001,
        ]
    )
    assert shapely.contains_xy(g, probe[:, 0], probe[:, 1]).mean() > 0.999
    assert shapely.contains_xy(g, tri.mean(axis=1)[:, 0], tri.mean(axis=1)[:, 1]).all()


def test_sample_matches_reference_and_rows():
    shell, holes = frame_with_holes()
    p = gs.Polygon(shell, holes)
    key = gs.random.key_from_rng(6)
    x = p.sample(5000, rng=6)
    np.testing.assert_array_equal(x, ref.sample(key, np.arange(5000), p._tri, p._tri_area))
    np.testing.assert_array_equal(p.sample(5000, rng=6, dtype=np.float32), x.astype(np.float32))
    rows = np.array([4999, 3, 3, 10**12], dtype=np.int64)
    part = np.empty((4, 2))
    p._draw(key, rows, part, 0)
    np.testing.assert_array_equal(part, ref.sample(key, rows, p._tri, p._tri_area))
    assert shapely.contains_xy(shapely.Polygon(shell, holes), x[:, 0], x[:, 1]).all()
    np.testing.assert_array_equal(p.sample(5000, rng=6, n_threads=1), p.sample(9000, rng=6, n_threads=2)[:5000])


def test_contains_agrees_with_shapely_and_reference():
    shell, holes = frame_with_holes()
    p = gs.Polygon(shell, holes)
    q = np.random.default_rng(1).uniform(-4, 4, size=(20_000, 2))
    inside = p.contains(q)
    np.testing.assert_array_equal(inside, shapely.contains_xy(shapely.Polygon(shell, holes), q[:, 0], q[:, 1]))
    np.testing.assert_array_equal(inside, ref.contains(q, [shell, *holes]))
    np.testing.assert_array_equal(p.contains(q.astype(np.float32)), ref.contains(q.astype(np.float32), [shell, *holes]))
    np.testing.assert_array_equal(p.logpdf(q), np.where(inside, -np.log(p.area), -np.inf))


@settings(deadline=None)
@given(
    n=st.integers(3, 300), wobble=st.floats(0.0, 0.8), k=st.integers(1, 9), phase=st.floats(0, 6.3), hole=st.booleans()
)
def test_random_star_polygons(n, wobble, k, phase, hole):
    shell = star(n, 2.0, wobble, k, phase=phase)
    holes = [star(12, 0.15, 0.0, 1, (0.0, 0.0))] if hole and wobble < 0.8 else []
    p = gs.Polygon(shell, holes)
    g = shapely.Polygon(shell, holes)
    assert p.area == pytest.approx(g.area, rel=1e-9)
    x = p.sample(500, rng=n)
    assert shapely.contains_xy(g, x[:, 0], x[:, 1]).mean() >= 0.998  # points may round onto an edge
    assert p.contains(x).mean() >= 0.998


def test_triangles_chi_square_and_uniform_in_triangle():
    p = gs.Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])  # an L, area 5
    x = p.sample(300_000, rng=2)
    in_foot = x[:, 1] < 1
    assert stats.binomtest(int(in_foot.sum()), x.shape[0], 3 / 5).pvalue > ALPHA
    cells = np.floor(x).astype(int)
    counts = np.bincount(cells[:, 0] * 3 + cells[:, 1], minlength=9)
    expected = np.zeros(9)
    expected[[0, 1, 2, 3, 6]] = x.shape[0] / 5
    assert counts[expected == 0].sum() == 0
    assert stats.chisquare(counts[expected > 0], expected[expected > 0]).pvalue > ALPHA


def test_sparse_multipolygon_two_tiny_squares_far_apart():
    sq = np.array([(0, 0), (1e-3, 0), (1e-3, 1e-3), (0, 1e-3)])
    mp = gs.MultiPolygon(
        [
            sq,
            sq + 1e4,
        ]
    )
    assert mp.area == pytest.approx(2e-6)
    x = mp.sample(100_000, rng=1)
    near = x[:, 0] < 1
    assert stats.binomtest(int(near.sum()), x.shape[0]).pvalue > ALPHA
    assert mp.contains(x).all()


def test_from_shapely_and_pickle():
    shell, holes = frame_with_holes()
    g = shapely.Polygon(shell, holes)
    p = gs.Polygon.from_shapely(g)
    assert isinstance(p, gs.Polygon) and p.area == pytest.approx(g.area)
    mg = shapely.MultiPolygon([g, shapely.Polygon(star(20, 0.5, center=(10, 10)))])
    mp = gs.MultiPolygon.from_shapely(mg)
    assert isinstance(mp, gs.MultiPolygon) and mp.area == pytest.approx(mg.area)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(mp)).sample(50, rng=1), mp.sample(50, rng=1))
    with pytest.raises(TypeError, match="shapely Polygon or MultiPolygon"):
        gs.Polygon.from_shapely(shapely.Point(0, 0))


@pytest.mark.parametrize(
    "shell, holes, match",
    [
        ([(0, 0), (1, 1)], [], "at least 3 vertices"),
        ([(0, 0), (0, 0), (1, 1), (1, 1), (0, 0)], [], "fewer than 3 distinct"),
        ([(0, 0), (1, 1), (2, 2)], [], "zero area"),
        ([(0, 0), (1, 1), (1, 0), (0, 1)], [], "intersects itself"),
        ([(0, 0), (1, 0), (1, 1), (0, 1)], [[(2, 2), (3, 2), (3, 3)]], "outside its shell"),
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (5, 1), (1, 3)]], "cross or touch"),
        (
            [(0, 0), (4, 0), (4, 4), (0, 4)],
            [[(1, 1), (3, 1), (3, 3)], [(1.5, 1.2), (2.8, 1.2), (2.8, 2.5)]],
            "lies inside",
        ),
        ([(0, 0), (np.nan, 0), (0, 1)], [], "finite"),
        ([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], r"shape \(n_vertices, 2\)"),
    ],
)
def test_degenerate_polygons(shell, holes, match):
    with pytest.raises(ValueError, match=match):
        gs.Polygon(shell, holes)


def test_overlapping_multipolygon_is_refused():
    sq = np.array([(0, 0), (2, 0), (2, 2), (0, 2)], float)
    with pytest.raises(ValueError, match="cross or touch"):
        gs.MultiPolygon([sq, sq + 1])
    with pytest.raises(ValueError, match="overlaps"):
        gs.MultiPolygon([sq, sq * 0.25 + 0.5])
    with pytest.raises(ValueError, match="must not be empty"):
        gs.MultiPolygon([])
