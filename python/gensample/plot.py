"""Pictures of samples and models (matplotlib, the ``plot`` extra). Every function draws on
``ax`` (a new figure's when None) and returns the Axes.

>>> import matplotlib; matplotlib.use("Agg")
>>> import gensample as gs
>>> ax = gs.plot.scatter(gs.datasets.moons(), n=2000, rng=0)
>>> len(ax.collections)
1
>>> ax = gs.plot.density(gs.datasets.eight_gaussians(), extent=(-3, 3, -3, 3), resolution=50)
"""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_int, require

__all__ = ["density", "flow_paths", "region", "scatter", "world"]


def _axes(ax):
    require("matplotlib", "gensample.plot", "plot")
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(5, 5)).add_subplot()


def scatter(data, n=20_000, ax=None, rng=0, **kwargs):
    """A scatter plot of the first two columns of samples, or of ``n`` samples of a model.

    Point size and opacity fall with the number of points, so dense regions read as
    density rather than as a solid blot. ``kwargs`` go to ``Axes.scatter``. Returns the Axes.
    """
    from .distribution import Distribution

    n = check_positive_int(n, "n")
    x = _rows(data, n, rng) if isinstance(data, Distribution) else np.asarray(data)[:n]
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"samples must have shape (n, d), got {x.shape}")
    ax = _axes(ax)
    m = max(len(x), 1)
    kwargs.setdefault("s", float(np.clip(2e4 / m, 0.2, 12.0)))
    kwargs.setdefault("alpha", float(np.clip(3e3 / m, 0.05, 0.9)))
    kwargs.setdefault("linewidths", 0)
    y = x[:, 1] if x.shape[1] > 1 else np.zeros(len(x))
    ax.scatter(x[:, 0], y, **kwargs)
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def _rows(dist, n: int, rng) -> np.ndarray:
    """``n`` draws of a model (a labelled model's rows without their labels)."""
    x = dist.sample(n, rng=rng)
    return x[0] if isinstance(x, tuple) else x


def _extent_of(dist, extent, rng=0):
    """(xmin, xmax, ymin, ymax): the one given, else the 0.5-99.5 % range of 20,000 samples, padded."""
    if extent is not None:
        ext = np.asarray(extent, dtype=np.float64)
        if ext.shape != (4,) or not np.isfinite(ext).all() or not (ext[0] < ext[1] and ext[2] < ext[3]):
            raise ValueError(f"extent must be (xmin, xmax, ymin, ymax) with min < max, got {extent!r}")
        return ext
    x = _rows(dist, 20_000, rng)
    lo, hi = np.percentile(x, 0.5, axis=0), np.percentile(x, 99.5, axis=0)
    pad = 0.1 * (hi - lo) + 1e-12
    return np.array([lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1]])


def _check_2d(dist, what: str):
    from .distribution import Distribution

    if not isinstance(dist, Distribution):
        raise TypeError(f"{what} needs a gensample Distribution, got {type(dist).__name__}")
    if dist.dim != 2:
        raise ValueError(f"{what} draws 2-D models, got a {dist.dim}-D one")


def _grid(ext, resolution: int):
    xs = np.linspace(ext[0], ext[1], resolution)
    ys = np.linspace(ext[2], ext[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return np.c_[gx.ravel(), gy.ravel()]


def density(dist, extent=None, resolution=300, ax=None, log=False, cmap="magma", rng=0):
    """A heat map of ``exp(logpdf)`` (or ``logpdf`` with ``log=True``) of a 2-D model on a
    ``resolution`` x ``resolution`` grid over ``extent`` (default: where its samples are)."""
    _check_2d(dist, "density")
    resolution = check_positive_int(resolution, "resolution")
    ext = _extent_of(dist, extent, rng)
    lp = dist.logpdf(_grid(ext, resolution)).reshape(resolution, resolution)
    ax = _axes(ax)
    with np.errstate(over="ignore"):
        img = lp if log else np.exp(lp)
    finite = img[np.isfinite(img)]
    top = float(finite.max()) if finite.size else 1.0
    # a density scale starts at 0; a log scale spans the finite values (1 nat when they are all one)
    bottom = 0.0 if not log else float(finite.min()) if finite.size and finite.min() < top else top - 1.0
    ax.imshow(
        np.where(np.isfinite(img), img, np.nan),
        origin="lower",
        extent=tuple(ext),
        cmap=cmap,
        vmin=bottom,
        vmax=top,
        aspect="auto",
        interpolation="nearest",
    )
    return ax


def region(region, ax=None, resolution=400, color="tab:blue", alpha=0.6, extent=None):
    """A 2-D region filled: polygons as paths (holes open), rasters as their cells, any other
    region (a set difference, a GeoMask) from ``contains`` on a grid over ``extent``."""
    from .polygon import _Polygons
    from .raster import RasterMask
    from .regions import Box, Region

    if not isinstance(region, Region):
        raise TypeError(f"region needs a gensample region, got {type(region).__name__}")
    _check_2d(region, "region")
    ax = _axes(ax)
    import matplotlib.colors as mcolors

    rgba = mcolors.to_rgba(color, alpha)
    if isinstance(region, _Polygons):
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path

        verts, codes = [], []
        for shell, holes in region._parts:
            for ring in (shell, *holes):
                verts += [*ring, ring[0]]
                codes += [Path.MOVETO] + [Path.LINETO] * (len(ring) - 1) + [Path.CLOSEPOLY]
        ax.add_patch(PathPatch(Path(np.array(verts), codes), facecolor=rgba, edgecolor=color, lw=0.8))
        x0, y0, x1, y1 = region.bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    elif isinstance(region, Box):
        from matplotlib.patches import Rectangle

        (x0, y0), (x1, y1) = region.low, region.high
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=rgba, edgecolor=color))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    else:
        resolution = check_positive_int(resolution, "resolution")
        if isinstance(region, RasterMask) and extent is None:
            e = region.extent
            ext = np.array([e[0], e[1], e[2], e[3]])
        else:
            ext = _extent_of(region, extent)
        inside = region.contains(_grid(ext, resolution)).reshape(resolution, resolution)
        img = np.zeros((resolution, resolution, 4))
        img[inside] = rgba
        ax.imshow(img, origin="lower", extent=tuple(ext), aspect="auto", interpolation="nearest")
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def flow_paths(flow, n=300, steps=40, ax=None, rng=0, cmap="viridis"):
    """``n`` particles carried by a 2-D :class:`~gensample.Flow` from ``N(0, I)`` (grey dots)
    to ``p_model`` (coloured dots), with their paths at ``steps`` times in between."""
    require("matplotlib", "gensample.plot", "plot")
    from matplotlib.collections import LineCollection

    from .flow import Flow
    from .random import normal

    if not isinstance(flow, Flow):
        raise TypeError(f"flow_paths needs a gensample Flow, got {type(flow).__name__}")
    _check_2d(flow, "flow_paths")
    n, steps = check_positive_int(n, "n"), check_positive_int(steps, "steps")
    states = flow.integrate(normal(n, 2, rng=rng), times=np.linspace(0.0, 1.0, steps + 1))  # (steps + 1, n, 2)
    ax = _axes(ax)
    paths = np.swapaxes(states, 0, 1)
    ax.add_collection(LineCollection(paths, colors="0.5", linewidths=0.4, alpha=0.5))
    ax.scatter(states[0, :, 0], states[0, :, 1], s=4, c="0.6", linewidths=0)
    ax.scatter(states[-1, :, 0], states[-1, :, 1], s=6, c=np.arange(n), cmap=cmap, linewidths=0)
    ax.autoscale()
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def world(samples, n=200_000, ax=None, color="tab:green", **kwargs):
    """Lon/lat samples on a plate carrée map of the whole world with a 30-degree graticule
    (no map library needed). ``samples`` is (n, 2) ``(lon, lat)`` in degrees or a model
    such as :func:`gensample.datasets.world_land`."""
    from .distribution import Distribution

    x = _rows(samples, check_positive_int(n, "n"), 0) if isinstance(samples, Distribution) else np.asarray(samples)[:n]
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"samples must be (n, 2) lon/lat, got shape {x.shape}")
    ax = _axes(ax)
    for lon in range(-180, 181, 30):
        ax.axvline(lon, color="0.85", lw=0.5, zorder=0)
    for lat in range(-90, 91, 30):
        ax.axhline(lat, color="0.85", lw=0.5, zorder=0)
    m = max(len(x), 1)
    kwargs.setdefault("s", float(np.clip(3e4 / m, 0.05, 4.0)))
    kwargs.setdefault("alpha", float(np.clip(2e4 / m, 0.05, 0.8)))
    kwargs.setdefault("linewidths", 0)
    ax.scatter(x[:, 0], x[:, 1], c=color, **kwargs)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-90, 91, 30))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    return ax
