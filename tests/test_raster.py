"""RasterMask and GeoMask against their NumPy twins, statistics and bad input."""

import mmap
import pickle

import numpy as np
import pytest
from scipy import stats

import gensample as gs
from gensample.reference import raster as ref

ALPHA = 1e-4  # significance of every statistical test here


def _mass(r):
    ix = r._index
    row_ptr, length = ix["row_ptr"], ix["length"].astype(float)
    run_row = np.repeat(np.arange(row_ptr.size - 1), np.diff(row_ptr))
    w = ix["weight"] if ix["weight"] is not None else 1.0
    cell = r._row_measure(ix["sin_lat_edge"], ix["step"])
    return length * w * (cell if np.isscalar(cell) else cell[run_row])


def _ref_exact(r, key, rows):
    ix = r._index
    return ref.sample_exact(
        key,
        rows,
        r.shape,
        ix["row_ptr"],
        ix["start"],
        ix["length"],
        _mass(r),
        ix["origin"],
        ix["step"],
        ix["sin_lat_edge"],
        ix["lat_series"],
    )


def _random_mask(shape, p, seed):
    return np.random.default_rng(seed).random(shape) < p


@pytest.mark.parametrize("shape", [(37,), (23, 41), (7, 9, 11)])
@pytest.mark.parametrize("origin", ["upper", "lower"])
def test_exact_matches_reference(shape, origin):
    mask = _random_mask(shape, 0.4, 1)
    extent = np.ravel([(-1.5 * (j + 1), 2.0 + j) for j in range(len(shape))])
    r = gs.RasterMask(mask, extent=extent, origin=origin)
    key = gs.random.key_from_rng(5)
    x = r.sample(3000, rng=5)
    np.testing.assert_array_equal(x, _ref_exact(r, key, np.arange(3000)))
    np.testing.assert_array_equal(r.sample(3000, rng=5, dtype=np.float32), x.astype(np.float32))
    assert r.contains(x).all()
    # an explicit row list (the composites' path) gives the same rows
    rows = np.array([2999, 0, 17, 17, 123456789], dtype=np.int64)
    part = np.empty((rows.size, len(shape)))
    r._draw(key, rows, part, 0)
    np.testing.assert_array_equal(part, _ref_exact(r, key, rows))


def test_runs_match_reference_weighted():
    rng = np.random.default_rng(3)
    mask = rng.random((40, 60)) < 0.7
    weights = rng.integers(0, 3, size=mask.shape).astype(float)  # equal neighbours merge into runs
    r = gs.RasterMask(mask, weights=weights)
    row_ptr, start, length, weight = ref.runs(mask, weights)
    ix = r._index
    np.testing.assert_array_equal(ix["row_ptr"], row_ptr)
    np.testing.assert_array_equal(ix["start"], start)
    np.testing.assert_array_equal(ix["length"], length)
    np.testing.assert_array_equal(ix["weight"], weight)
    np.testing.assert_array_equal(r.sample(2000, rng=1), _ref_exact(r, gs.random.key_from_rng(1), np.arange(2000)))


@pytest.mark.parametrize("weighted", [False, True])
def test_rejection_matches_reference(weighted):
    rng = np.random.default_rng(4)
    mask = np.zeros((50, 70), bool)
    mask[10:30, 20:60] = rng.random((20, 40)) < 0.5
    weights = rng.random(mask.shape) if weighted else None
    r = gs.RasterMask(mask, extent=(0, 7, 0, 5), weights=weights, method="rejection")
    ix = r._index
    key = gs.random.key_from_rng(8)
    x = r.sample(2000, rng=8)
    row_ptr, start, length, weight = ref.runs(mask, weights)
    expect = ref.sample_rejection(
        key,
        np.arange(2000),
        mask.shape,
        row_ptr,
        start,
        length,
        weight,
        ix["origin"],
        ix["step"],
        *r._box,
        weighted=weighted,
    )
    np.testing.assert_array_equal(x, expect)
    assert r.contains(x).all()


def test_geomask_matches_reference_to_ulps():
    mask = _random_mask((90, 180), 0.3, 6)
    for method in ("exact", "rejection"):
        g = gs.GeoMask(mask, lat_range=(-60, 75), lon_range=(-10, 170), method=method)
        key = gs.random.key_from_rng(2)
        x = g.sample(3000, rng=2)
        ix = g._index
        if method == "exact":
            expect = _ref_exact(g, key, np.arange(3000))
        else:
            row_ptr, start, length, weight = ref.runs(mask)
            expect = ref.sample_rejection(
                key,
                np.arange(3000),
                mask.shape,
                row_ptr,
                start,
                length,
                weight,
                ix["origin"],
                ix["step"],
                *g._box,
                sin_lat_edge=ix["sin_lat_edge"],
            )
        np.testing.assert_array_equal(x[:, 0], expect[:, 0])
        np.testing.assert_allclose(x[:, 1], expect[:, 1], rtol=4 * np.finfo(float).eps, atol=0)
        assert g.contains(x).all()


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="needs an extended long double for the truth")
@pytest.mark.parametrize("rows, share", [(2160, 0.0), (10800, 0.55), (21600, 0.8), (43200, 0.85)])
def test_latitude_series_matches_asin(rows, share):
    """The per-row series that replaces asin is within 1.5 ulps of asin(a + d) computed in long
    double wherever it is used (asin(a + d) in double is up to 2.8 ulps off at 15", from
    rounding a + d): at 1' from the equator to 53 degrees, at 30" to 75, nowhere at 5'."""
    g = gs.GeoMask(np.ones((rows, 4), bool))
    e, series = g._index["sin_lat_edge"], g._index["lat_series"].reshape(-1, 5)
    used = ~np.isnan(series[:, 1])
    assert used.mean() >= share and (share > 0 or not used.any())
    rng = np.random.default_rng(rows)
    for u in (rng.random(rows), np.zeros(rows), np.full(rows, 1 - 2.0**-53)):
        a, b = e[:-1][used], e[1:][used]
        c, d = series[used], u[used] * (b - a)
        lat = c[:, 0] + d * (c[:, 1] + d * (c[:, 2] + d * (c[:, 3] + d * c[:, 4])))
        truth = np.arcsin(a.astype(np.longdouble) + d.astype(np.longdouble))
        assert np.all(np.abs(lat - truth) <= 1.5 * np.spacing(np.abs(truth.astype(np.float64))))


def test_geomask_exact_equals_its_twin_bit_for_bit_in_series_rows():
    mask = _random_mask((21600, 8), 0.2, 3)  # 30" rows: those within 75 degrees use the series
    g = gs.GeoMask(mask, lat_range=(-90, 90), lon_range=(0, 0.0667))
    x = g.sample(20_000, rng=9)
    expect = _ref_exact(g, gs.random.key_from_rng(9), np.arange(20_000))
    ix = g._index
    row = np.clip(np.floor((x[:, 1] - ix["origin"][1]) / ix["step"][1]).astype(int), 0, mask.shape[0] - 1)
    series = ~np.isnan(ix["lat_series"].reshape(-1, 5)[row, 1])
    assert series.mean() > 0.8
    np.testing.assert_array_equal(x[:, 0], expect[:, 0])
    np.testing.assert_array_equal(x[series], expect[series])  # +, * only: the same bits
    np.testing.assert_allclose(x[~series, 1], expect[~series, 1], rtol=4 * np.finfo(float).eps, atol=0)  # asin
    assert g.contains(x).all()


def test_locate_matches_reference_on_edges():
    mask = _random_mask((6, 8), 0.5, 9)
    r = gs.RasterMask(mask, extent=(0, 8, 0, 6))
    grid = np.array([[x, y] for x in np.arange(-0.5, 8.6, 0.5) for y in np.arange(-0.5, 6.6, 0.5)])
    ix = r._index
    np.testing.assert_array_equal(
        r._locate(grid, None),
        ref.locate(grid, mask.shape, ix["row_ptr"], ix["start"], ix["length"], ix["origin"], ix["step"]),
    )
    # upper origin: row 0 is at the top; the point (0.5, 5.5) lies in cell [0, 0]
    assert r.contains([[0.5, 5.5]])[0] == mask[0, 0]
    assert r.contains([[7.5, 0.5]])[0] == mask[5, 7]


@pytest.mark.parametrize("method", ["exact", "rejection"])
def test_threads_and_chunking_do_not_change_rows(method):
    r = gs.RasterMask(_random_mask((64, 64), 0.3, 2), method=method)
    a = r.sample(20_000, rng=11, n_threads=1)
    b = r.sample(50_000, rng=11, n_threads=2)
    c = r.sample(20_000, rng=11, n_threads=5)
    np.testing.assert_array_equal(a, b[:20_000])
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("method", ["exact", "rejection"])
def test_weighted_cells_chi_square(method):
    rng = np.random.default_rng(12)
    weights = rng.random((8, 10)) * (rng.random((8, 10)) < 0.8)
    r = gs.RasterMask(np.ones((8, 10), bool), weights=weights, method=method)
    x = r.sample(200_000, rng=3)
    col = np.floor(x[:, 0]).astype(int)
    row = 7 - np.floor(x[:, 1]).astype(int)  # origin upper
    counts = np.bincount(row * 10 + col, minlength=80)
    p = weights.ravel() / weights.sum()
    assert counts[p == 0].sum() == 0
    assert stats.chisquare(counts[p > 0], p[p > 0] * x.shape[0]).pvalue > ALPHA
    np.testing.assert_allclose(np.exp(r.logpdf(x[:5])), weights[row[:5], col[:5]] / weights.sum())


def test_uniform_within_cells_ks():
    r = gs.RasterMask(np.array([[True, False, True]]), extent=(0, 3, 0, 1))
    x = r.sample(100_000, rng=1)
    frac = x[:, 0] - np.floor(x[:, 0])
    assert stats.kstest(frac, "uniform").pvalue > ALPHA
    assert stats.kstest(x[:, 1], "uniform").pvalue > ALPHA
    assert stats.binomtest(int((x[:, 0] < 1).sum()), x.shape[0]).pvalue > ALPHA


def test_geomask_is_uniform_by_area():
    m = np.zeros((180, 360), bool)
    m[:30] = True  # 60N .. 90N
    cap = gs.GeoMask(m)
    assert cap.volume == pytest.approx(2 * np.pi * (1 - np.sin(np.radians(60))), rel=1e-12)
    assert cap.area_km2 == pytest.approx(cap.volume * gs.raster.EARTH_RADIUS_KM**2)
    for method in ("exact", "rejection"):
        x = gs.GeoMask(m, method=method).sample(200_000, rng=4)
        # P(lat > 75 | lat > 60) by area; uniform-in-degrees would give 1/2
        p = (1 - np.sin(np.radians(75))) / (1 - np.sin(np.radians(60)))
        assert stats.binomtest(int((x[:, 1] > 75).sum()), x.shape[0], p).pvalue > ALPHA
        # sin(lat) is uniform within the band
        s = (np.sin(np.radians(x[:, 1])) - np.sin(np.radians(60))) / (1 - np.sin(np.radians(60)))
        assert stats.kstest(s, "uniform").pvalue > ALPHA
    assert cap.logpdf([[0.0, 70.0]])[0] == pytest.approx(-np.log(cap.volume))
    assert cap.logpdf([[0.0, 10.0]])[0] == -np.inf


def test_volume_logpdf_and_pickle():
    mask = np.zeros((4, 4, 4), bool)
    mask[1:3, 1:3, 1:3] = True
    r = gs.RasterMask(mask, extent=(0, 2, 0, 2, 0, 2))
    assert r.volume == pytest.approx(1.0)
    x = r.sample(100, rng=0)
    assert ((x > 0.5) & (x < 1.5)).all()
    np.testing.assert_allclose(r.logpdf(x), 0.0)
    r2 = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(r2.sample(100, rng=0), x)


def test_acceptance_too_low_raises_quickly():
    weights = np.full((2000, 2000), 1e-15)
    weights[0, 0] = 1.0
    r = gs.RasterMask(np.ones(weights.shape, bool), weights=weights, method="rejection")
    assert r.acceptance < 1e-6
    with pytest.raises(gs.AcceptanceError, match=r"measured acceptance [0-9.e-]+ .* below min_acceptance"):
        r.sample(1000, rng=0)
    # the exact sampler has no such problem: (nearly) all mass is in the top-left cell
    x = gs.RasterMask(np.ones(weights.shape, bool), weights=weights).sample(1000, rng=0)
    assert ((x[:, 0] < 1) & (x[:, 1] >= 1999)).all()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(mask=np.zeros((0, 3), bool)), ValueError, "must not be empty"),
        (dict(mask=np.zeros((3, 3), bool)), ValueError, "no true cells"),
        (dict(mask=[["a"]]), TypeError, "mask must be an array of booleans"),
        (dict(mask=[[0, 2]]), ValueError, "only 0 and 1"),
        (dict(mask=np.ones((2, 2)), weights=[[1, -1], [1, 1]]), ValueError, "non-negative"),
        (dict(mask=np.ones((2, 2)), weights=[[1, np.nan], [1, 1]]), ValueError, "finite"),
        (dict(mask=np.ones((2, 2)), weights=np.ones(3)), ValueError, r"weights must have shape \(2, 2\), the mask's"),
        (dict(mask=np.ones((2, 2)), weights=np.zeros((2, 2))), ValueError, "no true cells"),
        (dict(mask=np.ones((2, 2)), extent=(0, 1, 0)), ValueError, "extent must have 4"),
        (dict(mask=np.ones((2, 2)), extent=(0, 1, 1, 1)), ValueError, "min must be below max"),
        (dict(mask=np.ones((2, 2)), extent=(0, np.inf, 0, 1)), ValueError, "finite"),
        (dict(mask=np.ones((2, 2)), method="magic"), ValueError, "method must be one of"),
        (dict(mask=np.ones((2, 2)), origin="left"), ValueError, "origin must be"),
        (dict(mask=np.ones([1] * 9)), ValueError, "1 to 8 axes"),
    ],
)
def test_bad_rasters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        gs.RasterMask(**kwargs)


def test_bad_geomasks_and_queries():
    with pytest.raises(ValueError, match="lat_range"):
        gs.GeoMask(np.ones((2, 2), bool), lat_range=(-91, 90))
    with pytest.raises(ValueError, match="lon_range"):
        gs.GeoMask(np.ones((2, 2), bool), lon_range=(10, 10))
    with pytest.raises(ValueError, match="2-D"):
        gs.GeoMask(np.ones((2, 2, 2), bool))
    r = gs.RasterMask(np.ones((2, 2), bool))
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        r.contains(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        r.logpdf([[np.nan, 0]])
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        r.sample(-1)


def test_pick_table_is_cache_line_aligned_after_pickling():
    """The exact sampler reads one 32-byte table entry per sample; on a 64-byte boundary no
    entry straddles two cache lines. Unpickling (Dask's workers) keeps the alignment."""
    w = np.random.default_rng(0).random((30, 40))
    for r in (gs.RasterMask(np.ones(w.shape, bool), weights=w), gs.GeoMask(w > 0.5)):
        back = pickle.loads(pickle.dumps(r))
        for m in (r, back):
            assert m._index["pick"].ctypes.data % 64 == 0
        np.testing.assert_array_equal(back.sample(500, rng=4), r.sample(500, rng=4))


def test_pick_table_is_written_into_a_checked_buffer():
    """The pick table is built in place (one write of tens of MB for a world map); the
    kernel refuses a buffer of the wrong size, alignment, type or mutability."""
    from gensample import _core
    from gensample.raster import _aligned_empty

    mass = np.array([1.0, 3.0, 0.5])
    ids = np.arange(3, dtype=np.uint32)
    out = _aligned_empty(32 * 3)
    _core.raster.pick_table(mass, ids, ids, ids + 1, out)
    entries = out.view(np.uint32).reshape(3, 8)
    np.testing.assert_array_equal(entries[:, 6], ids + 1)  # side 0 is the run itself
    prob = out.view(np.float64)[::4]
    assert np.all((prob > 0) & (prob <= 1))
    bad = {
        "size": _aligned_empty(32 * 2),
        "alignment": _aligned_empty(32 * 3 + 8)[8:],
        "dtype": _aligned_empty(32 * 3).view(np.int8),
        "read-only": _aligned_empty(32 * 3),
    }
    bad["read-only"].flags.writeable = False
    for buf in bad.values():
        with pytest.raises(ValueError, match="out must be a writable uint8 array"):
            _core.raster.pick_table(mass, ids, ids, ids + 1, buf)


def test_run_lengths_are_kept_once_in_the_pick_table():
    """A run's length is side 0 of its own alias entry: a view, not a copy, also after
    pickling; index_nbytes counts each byte once."""
    w = np.random.default_rng(2).random((30, 40))
    mask = w > 0.4
    runs = gs.RasterMask(mask)._index
    for r in (gs.RasterMask(mask), gs.RasterMask(mask, weights=w), gs.GeoMask(mask)):
        back = pickle.loads(pickle.dumps(r))
        assert "length" not in r.__getstate__()["_index"]
        for m in (r, back):
            ix = m._index
            assert np.shares_memory(ix["length"], ix["pick"])
            if not m.weighted:
                np.testing.assert_array_equal(ix["length"], runs["length"])
            owned = [v for k, v in ix.items() if isinstance(v, np.ndarray) and k != "length"]
            assert m.index_nbytes == sum(v.nbytes for v in owned)
            assert m.index_nbytes >= 36 * m.n_runs
        x = r.sample(2000, rng=5) * 1.2  # some inside, some outside
        np.testing.assert_array_equal(back.contains(x), r.contains(x))


@pytest.mark.skipif(not hasattr(mmap, "MADV_HUGEPAGE"), reason="huge pages are asked for on Linux only")
def test_large_pick_table_starts_on_a_huge_page():
    w = np.random.default_rng(1).random((400, 400))  # one run per cell: a 5 MB table
    r = gs.RasterMask(np.ones(w.shape, bool), weights=w)
    for m in (r, pickle.loads(pickle.dumps(r))):
        assert m._index["pick"].nbytes > 4 * 2**20
        assert m._index["pick"].ctypes.data % 2**21 == 0
    np.testing.assert_array_equal(m.sample(500, rng=4), r.sample(500, rng=4))
