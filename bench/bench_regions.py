"""Regions against the peers a user would reach for, in one process.

- world land, exact by area (GeoMask) against NumPy rejection with asin latitude on the
  same 30" mask, global_land_mask.is_land rejection, and scipy's DiscreteAliasUrn over the
  land cells at 6' (where its memory allows);
- the horse against Generator.choice over the true cells plus jitter;
- a weighted 1000 x 1000 raster against scipy's DiscreteAliasUrn plus jitter;
- a polygon with 10,000 vertices and 40 holes against geopandas sample_points, shapely
  contains_xy rejection and a NumPy sampler over shapely's constrained triangulation;
  and its setup (triangulation) against shapely's constrained_delaunay_triangles.

gensample runs on all cores unless --threads; the peers are single-threaded. Usage:

    python bench/bench_regions.py [--n 10000000] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import numpy as np
from harness import Case, collect, run

import gensample as gs


def jitter_cells(rng, flat_idx, shape, extent):
    """Uniform points in the given cells of a planar grid (row 0 at the top)."""
    r, c = np.divmod(flat_idx, shape[1])
    x0, x1, y0, y1 = extent
    u = rng.random((flat_idx.size, 2))
    x = x0 + (c + u[:, 0]) * (x1 - x0) / shape[1]
    y = y1 - (r + u[:, 1]) * (y1 - y0) / shape[0]
    return np.c_[x, y]


def numpy_land_rejection(rng, n, land):
    """Uniform-by-area proposals (lon uniform, sin(lat) uniform), kept on land."""
    out, have = np.empty((n, 2)), 0
    while have < n:
        m = int((n - have) / 0.28) + 1000
        lon = rng.uniform(-180, 180, m)
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, m)))
        r = np.minimum(((90 - lat) * 120).astype(np.int64), 21599)
        c = np.minimum(((lon + 180) * 120).astype(np.int64), 43199)
        keep = land[r, c]
        k = min(int(keep.sum()), n - have)
        out[have : have + k] = np.c_[lon[keep], lat[keep]][:k]
        have += k
    return out


def is_land_rejection(rng, n):
    from global_land_mask import globe

    out, have = np.empty((n, 2)), 0
    while have < n:
        m = int((n - have) / 0.28) + 1000
        lon = rng.uniform(-180, 180, m)
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, m)))
        keep = globe.is_land(lat, lon)
        k = min(int(keep.sum()), n - have)
        out[have : have + k] = np.c_[lon[keep], lat[keep]][:k]
        have += k
    return out


def urn_geo(urn, cells, shape, rng, n):
    """Alias urn over land cells of a lat/lon grid, then uniform by area inside the cell."""
    idx = cells[urn.rvs(n)]
    r, c = np.divmod(idx, shape[1])
    h = 180 / shape[0]
    top, bottom = np.radians(90 - r * h), np.radians(90 - (r + 1) * h)
    s = np.sin(bottom) + rng.random(n) * (np.sin(top) - np.sin(bottom))
    lon = -180 + (c + rng.random(n)) * (360 / shape[1])
    return np.c_[lon, np.degrees(np.arcsin(s))]


def polygon_with_holes(n_vertices=10_000, n_holes=40):
    t = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    r = 10 * (1 + 0.15 * np.sin(9 * t) + 0.05 * np.sin(31 * t))
    shell = np.c_[r * np.cos(t), r * np.sin(t)]
    holes, k = [], 0
    for gx in np.linspace(-5, 5, 7):
        for gy in np.linspace(-5, 5, 7):
            if k == n_holes:
                break
            a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            holes.append(np.c_[gx + 0.5 * np.cos(a), gy + 0.5 * np.sin(a)])
            k += 1
    return shell, holes


def triangle_sampler(tris, rng, n):
    """NumPy: triangle by Generator.choice over areas, then a folded (u, v)."""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    k = rng.choice(area.size, size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    fold = u + v > 1
    u[fold], v[fold] = 1 - u[fold], 1 - v[fold]
    return a[k] + u[:, None] * (b[k] - a[k]) + v[:, None] * (c[k] - a[k])


def shapely_rejection(geom, rng, n):
    import shapely

    x0, y0, x1, y1 = geom.bounds
    out, have = np.empty((n, 2)), 0
    shapely.prepare(geom)
    while have < n:
        m = int((n - have) * 1.6) + 1000
        p = np.c_[rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)]
        keep = shapely.contains_xy(geom, p[:, 0], p[:, 1])
        k = min(int(keep.sum()), n - have)
        out[have : have + k] = p[keep][:k]
        have += k
    return out


def cases(n: int, threads: int | None) -> list[Case]:
    import geopandas
    import shapely
    from global_land_mask import globe
    from scipy.stats.sampling import DiscreteAliasUrn
    from skimage import data

    rng = np.random.default_rng(0)
    out = []
    warnings.filterwarnings("ignore", message=".*squared histogram.*")  # UNU.RAN's note on its own setup

    land = gs.datasets.world_land()
    land_mask = ~globe._mask
    out.append(
        Case(
            f"world land exact ({n:.0e})",
            lambda: land.sample(n, rng=1),
            lambda: numpy_land_rejection(rng, n, land_mask),
            "NumPy rejection, asin lat",
            n,
        )
    )
    out.append(
        Case(
            f"world land exact ({n:.0e}), 1 thread",
            lambda: land.sample(n, rng=1, n_threads=1),
            lambda: numpy_land_rejection(rng, n, land_mask),
            "NumPy rejection, asin lat",
            n,
        )
    )
    out.append(
        Case(
            f"world land exact ({n:.0e})",
            lambda: land.sample(n, rng=1),
            lambda: is_land_rejection(rng, n // 10),
            "global_land_mask.is_land rej.",
            n,
            peer_work=n // 10,
        )
    )
    # the alias urn over 30" cells would need 300M cells in memory: 6' cells instead
    land6 = gs.datasets.world_land(resolution=0.1)
    cells6 = np.flatnonzero(land6._cells()[0])
    r6 = cells6 // 3600
    edges = np.sin(np.radians(90 - np.arange(1801) * 0.1))
    urn = DiscreteAliasUrn(edges[r6] - edges[r6 + 1], random_state=rng)
    out.append(
        Case(
            f"world land 6' exact ({n:.0e})",
            lambda: land6.sample(n, rng=1),
            lambda: urn_geo(urn, cells6, (1800, 3600), rng, n),
            "scipy DiscreteAliasUrn",
            n,
        )
    )

    horse_mask = ~data.horse()
    horse = gs.datasets.horse()
    true_cells = np.flatnonzero(horse_mask)
    out.append(
        Case(
            f"horse ({n:.0e})",
            lambda: horse.sample(n, rng=1),
            lambda: jitter_cells(rng, rng.choice(true_cells, n), horse_mask.shape, (0, 400, 0, 328)),
            "Generator.choice + jitter",
            n,
        )
    )

    weights = np.random.default_rng(1).random((1000, 1000))
    weighted = gs.RasterMask(np.ones(weights.shape, bool), weights=weights)
    wurn = DiscreteAliasUrn(weights.ravel(), random_state=rng)
    out.append(
        Case(
            f"weighted raster 1000² ({n:.0e})",
            lambda: weighted.sample(n, rng=1),
            lambda: jitter_cells(rng, wurn.rvs(n), weights.shape, (0, 1000, 0, 1000)),
            "scipy DiscreteAliasUrn + jitter",
            n,
        )
    )

    shell, holes = polygon_with_holes()
    geom = shapely.Polygon(shell, holes)
    poly = gs.Polygon(shell, holes)
    series = geopandas.GeoSeries([geom])
    small = max(n // 100, 1000)
    out.append(
        Case(
            f"polygon 10k vertices ({n:.0e})",
            lambda: poly.sample(n, rng=1),
            lambda: series.sample_points(small, rng=rng),
            "geopandas sample_points",
            n,
            peer_work=small,
        )
    )
    out.append(
        Case(
            f"polygon 10k vertices ({n:.0e})",
            lambda: poly.sample(n, rng=1),
            lambda: shapely_rejection(geom, rng, n // 10),
            "shapely contains_xy rejection",
            n,
            peer_work=n // 10,
        )
    )
    out.append(
        Case(
            f"polygon 10k vertices ({n:.0e}), 1 thread",
            lambda: poly.sample(n, rng=1, n_threads=1),
            lambda: shapely_rejection(geom, rng, n // 10),
            "shapely contains_xy rejection",
            n,
            peer_work=n // 10,
        )
    )
    tris = shapely.get_coordinates(shapely.constrained_delaunay_triangles(geom)).reshape(-1, 4, 2)[:, :3]
    out.append(
        Case(
            f"polygon 10k vertices ({n:.0e})",
            lambda: poly.sample(n, rng=1),
            lambda: triangle_sampler(tris, rng, n),
            "NumPy over shapely triangles",
            n,
        )
    )
    out.append(
        Case(
            "polygon setup (10k vertices)",
            lambda: gs.Polygon(shell, holes),
            lambda: shapely.constrained_delaunay_triangles(geom),
            "shapely constrained triang.",
            1,
        )
    )
    if threads:
        gs.set_num_threads(threads)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10**7, help="points per call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    gs.set_num_threads(args.threads)
    run("regions", collect(partial(cases, args.n, args.threads)), repeats=args.repeats)


if __name__ == "__main__":
    main()
