"""Built-in regions and toy distributions.

``world_land()`` (needs the ``datasets`` extra: global-land-mask), ``horse()`` (needs
scikit-image), ``hostage_scene()``, and the 2-D sets of flow-matching papers: ``moons``,
``circles``, ``checkerboard``, ``eight_gaussians``, ``spirals``, ``pinwheel``. Each is a
:class:`~gensample.Distribution` with ``sample(n, rng)`` and an exact ``logpdf`` (moons and
circles: by quadrature over the curve, accurate to ~1e-10 relative).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from . import _core
from ._typing import ArrayLike, Count, DTypeLike, RngLike
from ._validation import (
    as_points,
    check_allocation,
    check_n_threads,
    check_positive_int,
    check_real,
    empty_output,
    require,
)
from .distribution import Distribution
from .raster import GeoMask, RasterMask

__all__ = [
    "checkerboard",
    "circles",
    "eight_gaussians",
    "horse",
    "hostage_scene",
    "moons",
    "pinwheel",
    "spirals",
    "world_land",
]

_LAND_CELLS_PER_DEGREE = 120  # global-land-mask: 30 arc-second cells
_CACHE_VERSION = 1


def cache_dir() -> Path:
    """Where built indexes are kept: $GENSAMPLE_CACHE, else ~/.cache/gensample."""
    root = os.environ.get("GENSAMPLE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gensample"
    )
    return Path(root)


def world_land(
    resolution: float = 1 / 120, method: str = "exact", cache: bool = True, n_threads: int | None = None
) -> GeoMask:
    """The land of the world as a :class:`GeoMask`: uniform by area, ``(lon, lat)`` samples.

    From global-land-mask's 21600 x 43200 grid (30 arc-seconds; its ``globe._mask`` is the
    *ocean* mask, inverted here). ``resolution`` is the cell size in degrees, a multiple
    of 1/120; a coarse cell is land when at least half of its fine cells are. The run index
    is cached (``cache_dir()``), so later loads skip the 1 GB mask.

    >>> import gensample as gs
    >>> land = gs.datasets.world_land(resolution=1.0)        # 1-degree cells
    >>> lonlat = land.sample(1_000_000, rng=0)
    >>> round(float(land.contains(lonlat).mean()), 3)
    1.0
    """
    factor = resolution * _LAND_CELLS_PER_DEGREE
    if not (math.isfinite(factor) and factor >= 1 and abs(factor - round(factor)) < 1e-9):
        raise ValueError(f"resolution must be a multiple of 1/120 degree (30 arc-seconds), got {resolution!r}")
    factor = int(round(factor))
    if 21600 % factor or 43200 % factor:
        raise ValueError(
            f"resolution must divide the grid: 180 * 120 / (resolution * 120) must be whole; got {resolution!r}"
        )
    from importlib import metadata

    try:  # the version only: importing the package would load its 1 GB mask
        version = metadata.version("global-land-mask")
    except metadata.PackageNotFoundError as exc:
        raise ImportError(
            'world_land() needs global-land-mask: pip install "gensample[datasets]" '
            '(from a source checkout: pip install ".[datasets]")'
        ) from exc
    path = cache_dir() / f"world_land_{factor}_v{_CACHE_VERSION}_{version}.npz"
    shape = (21600 // factor, 43200 // factor)
    if cache and path.exists():
        with np.load(path) as z:
            runs = (z["row_ptr"], z["start"], z["length"], None)
        return GeoMask._from_runs(shape, runs, (-90.0, 90.0), (-180.0, 180.0), method=method)
    globe = require("global_land_mask.globe", "world_land()", "datasets")

    land = ~globe._mask  # True = water in the package
    if factor > 1:
        share = land.reshape(shape[0], factor, shape[1], factor).mean(axis=(1, 3), dtype=np.float32)
        land = share >= 0.5
    runs = _core.raster.runs(np.ascontiguousarray(land).view(np.uint8), None, check_n_threads(n_threads))
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, row_ptr=runs[0], start=runs[1], length=runs[2])
        os.replace(tmp, path)
    return GeoMask._from_runs(shape, runs, (-90.0, 90.0), (-180.0, 180.0), method=method)


def horse(method: str = "exact") -> RasterMask:
    """scikit-image's horse silhouette (328 x 400 cells, one unit each) as a RasterMask.

    ``skimage.data.horse()`` is True on the background; the horse is its complement.
    """
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError(
            'horse() needs scikit-image: pip install "gensample[datasets]" '
            '(from a source checkout: pip install ".[datasets]")'
        ) from exc
    return RasterMask(~data.horse(), method=method)


def _figure_mask(shape, cx, cy, height) -> np.ndarray:
    """A standing figure (head, body, arms, legs) of the given height, in cell units."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    y = (cy - yy) / height  # up is positive, 0 at the feet
    x = (xx - cx) / height
    head = x**2 + (y - 0.88) ** 2 < 0.09**2
    body = (np.abs(x) < 0.11) & (y > 0.42) & (y < 0.78)
    arms = (np.abs(x) < 0.26) & (np.abs(x - 0.0) > 0.11) & (y > 0.55 + 0.5 * np.abs(x)) & (y < 0.62 + 0.5 * np.abs(x))
    legs = ((np.abs(x - 0.06) < 0.045) | (np.abs(x + 0.06) < 0.045)) & (y >= 0) & (y <= 0.42)
    return head | body | arms | legs


def hostage_scene(width: int = 640, height: int = 480) -> RasterMask:
    """A picture-sized region with three standing figures cut out: ``picture - hostages``.

    The classic illustration of p_data with holes: points anywhere in the picture except
    on the people. Built here as the exact difference of two rasters on one grid.
    """
    width = check_positive_int(width, "width")
    height = check_positive_int(height, "height")
    check_allocation(16 * width * height, f"a width={width} by height={height} scene")
    shape = (height, width)
    figures = np.zeros(shape, dtype=bool)
    for cx, h in ((0.3, 0.55), (0.5, 0.62), (0.7, 0.5)):
        figures |= _figure_mask(shape, cx * width, 0.92 * height, h * height)
    if not figures.any():
        raise ValueError(f"width={width} by height={height} is too small: the figures cover no pixel")
    picture = RasterMask(np.ones(shape, dtype=bool))
    return picture - RasterMask(figures)


def checkerboard() -> RasterMask:
    """Uniform on the dark squares of a 4 x 4 checkerboard on [-4, 4]² (area 32)."""
    board = (np.add.outer(np.arange(4), np.arange(4)) % 2) == 0
    return RasterMask(board, extent=(-4, 4, -4, 4), origin="lower")


def _stream(key: int, index: int, r0: int, n: int, dim: int, kind: str) -> np.ndarray:
    """Rows r0 .. r0 + n of the uniform or normal draw of sub-stream ``index`` of ``key``."""
    out = empty_output(n, dim, np.dtype(np.float64))
    fill = _core.random.fill_uniform if kind == "uniform" else _core.random.fill_normal
    fill(_core.random.subkey(key, index), out, 0, r0)
    return out


def _log_gauss_mixture(x, means, log_w, sigma) -> np.ndarray:
    """log sum_k w_k N(x; means[k], sigma² I) in 2-D, in chunks of points."""
    out = np.empty(x.shape[0])
    for a in range(0, x.shape[0], 4096):
        d2 = ((x[a : a + 4096, None, :] - means[None]) ** 2).sum(-1)
        z = log_w[None] - d2 / (2 * sigma**2)
        m = z.max(axis=1, keepdims=True)
        out[a : a + 4096] = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1))) - math.log(2 * math.pi * sigma**2)
    return out


class _Toy(Distribution):
    """A 2-D toy distribution: ``sample`` from the generative recipe, ``logpdf`` exact."""

    dim = 2

    def _sample(self, key: int, r0: int, n: int) -> np.ndarray:
        raise NotImplementedError  # each toy's recipe

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # each toy's exact density

    def sample(
        self, n: Count, rng: RngLike = None, dtype: DTypeLike = np.float64, n_threads: int | None = None
    ) -> np.ndarray:
        return self._sample_by_rows(n, rng, dtype, n_threads)

    def _sample_rows(self, key: int, r0: int, out: np.ndarray, n_threads: int) -> None:
        out[...] = self._sample(key, r0, len(out))

    def logpdf(self, x: ArrayLike, n_threads: int | None = None) -> np.ndarray:
        return self._logpdf(as_points(x, 2, dtype=np.float64, squares=True))

    def _params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def _save_state(self):
        return self._params(), {}, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        return cls(**params)


class Moons(_Toy):
    """scikit-learn's two interleaving half circles, with Gaussian noise of std ``noise``."""

    def __init__(self, noise: float = 0.1):
        self.noise = _positive(noise, "noise")
        # Gauss-Legendre converges geometrically once nodes are ~noise apart: 128 nodes give
        # 4e-13 in log-density at noise 0.1 (checked against 1024). Below the noise that 4096
        # nodes resolve, the log-density would be a comb: refused, not approximated.
        if self.noise < 12.8 / 4096:
            raise ValueError(
                f"noise must be at least {12.8 / 4096} (where the exact log-density resolves), got {noise}"
            )
        t, w = np.polynomial.legendre.leggauss(int(max(64, math.ceil(12.8 / self.noise))))
        t = (t + 1) * (math.pi / 2)  # Gauss-Legendre nodes on [0, pi]
        upper = np.c_[np.cos(t), np.sin(t)]
        lower = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
        self._nodes = np.concatenate([upper, lower])
        self._log_w = np.log(np.concatenate([w, w]) / 4)  # 1/2 per moon, weights sum to 2 per moon

    def _sample(self, key, r0, n):
        u = _stream(key, 0, r0, n, 2, "uniform")
        z = _stream(key, 1, r0, n, 2, "normal")
        t = math.pi * u[:, 0]
        up = u[:, 1] < 0.5
        x = np.where(up, np.cos(t), 1 - np.cos(t))
        y = np.where(up, np.sin(t), 0.5 - np.sin(t))
        return np.c_[x, y] + self.noise * z

    def _logpdf(self, x):
        return _log_gauss_mixture(x, self._nodes, self._log_w, self.noise)


class Circles(_Toy):
    """Two concentric circles (radii 1 and ``factor``), with Gaussian noise of std ``noise``."""

    def __init__(self, noise: float = 0.05, factor: float = 0.5):
        self.noise = _positive(noise, "noise")
        self.factor = check_real(factor, "factor", 0.0, 1.0, open_low=True)
        if self.factor == 1.0:
            raise ValueError("factor must be below 1 (the inner circle's radius), got 1.0")

    def _sample(self, key, r0, n):
        u = _stream(key, 0, r0, n, 2, "uniform")
        z = _stream(key, 1, r0, n, 2, "normal")
        r = np.where(u[:, 1] < 0.5, 1.0, self.factor)
        t = 2 * math.pi * u[:, 0]
        return np.c_[r * np.cos(t), r * np.sin(t)] + self.noise * z

    def _logpdf(self, x):
        # A Gaussian blurred around a circle of radius R, exactly:
        # exp(-(rho² + R²) / 2s²) I0(rho R / s²) / (2 pi s²).
        rho = np.hypot(x[:, 0], x[:, 1])
        s2 = self.noise**2
        parts = [_log_i0(rho * R / s2) - (rho**2 + R**2) / (2 * s2) for R in (1.0, self.factor)]
        m = np.maximum(parts[0], parts[1])
        return m + np.log(0.5 * (np.exp(parts[0] - m) + np.exp(parts[1] - m))) - math.log(2 * math.pi * s2)


def _log_i0(z: np.ndarray) -> np.ndarray:
    """log of the modified Bessel function I0, without overflow (z >= 0)."""
    out = np.empty_like(z)
    small = z < 500
    out[small] = np.log(np.i0(z[small]))
    big = z[~small]  # Hankel's expansion; the next term is below 1e-13 relative here
    out[~small] = (
        big - 0.5 * np.log(2 * math.pi * big) + np.log1p(1 / (8 * big) + 9 / (128 * big**2) + 225 / (3072 * big**3))
    )
    return out


class EightGaussians(_Toy):
    """Eight Gaussians of std ``std`` on a circle of radius ``radius``, equally weighted."""

    def __init__(self, radius: float = 2.0, std: float = 0.2):
        self.radius = _positive(radius, "radius")
        self.std = _positive(std, "std")
        t = np.arange(8) * (math.pi / 4)
        self._nodes = self.radius * np.c_[np.cos(t), np.sin(t)]

    def _sample(self, key, r0, n):
        u = _stream(key, 0, r0, n, 1, "uniform")
        z = _stream(key, 1, r0, n, 2, "normal")
        k = np.minimum((u[:, 0] * 8).astype(np.int64), 7)
        return self._nodes[k] + self.std * z

    def _logpdf(self, x):
        return _log_gauss_mixture(x, self._nodes, np.full(8, -math.log(8)), self.std)


class Swirl(_Toy):
    """``arms`` Gaussian arms, each swirled by an angle ``twist * radius``.

    Arm k is a Gaussian centred at ``radius`` on the ray at angle 2 pi k / arms, with std
    ``radial_std`` along the ray and ``tangential_std`` across it; the swirl
    ``(r, phi) -> (r, phi + twist * r)`` keeps area, so the density is exact: the arms'
    density at the un-swirled point. A pinwheel has many short arms, spirals two long ones.
    """

    def __init__(self, arms=5, radius=1.0, radial_std=0.3, tangential_std=0.05, twist=1.0):
        self.arms = check_positive_int(arms, "arms")
        self.radius = check_real(radius, "radius", -_LARGEST, _LARGEST)
        self.radial_std = _positive(radial_std, "radial_std")
        self.tangential_std = _positive(tangential_std, "tangential_std")
        self.twist = check_real(twist, "twist", -_LARGEST, _LARGEST)

    def _sample(self, key, r0, n):
        u = _stream(key, 0, r0, n, 1, "uniform")
        z = _stream(key, 1, r0, n, 2, "normal")
        k = np.minimum((u[:, 0] * self.arms).astype(np.int64), self.arms - 1)
        a = 2 * math.pi * k / self.arms
        v1 = self.radius + self.radial_std * z[:, 0]
        v2 = self.tangential_std * z[:, 1]
        phi = a + np.arctan2(v2, v1)
        r = np.hypot(v1, v2)
        phi = phi + self.twist * r
        return np.c_[r * np.cos(phi), r * np.sin(phi)]

    def _logpdf(self, x):
        r = np.hypot(x[:, 0], x[:, 1])
        back = -self.twist * r
        c, s = np.cos(back), np.sin(back)
        v = np.c_[c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]]
        terms = []
        for k in range(self.arms):
            a = 2 * math.pi * k / self.arms
            ca, sa = math.cos(a), math.sin(a)
            along = ca * v[:, 0] + sa * v[:, 1] - self.radius
            across = -sa * v[:, 0] + ca * v[:, 1]
            terms.append(-0.5 * ((along / self.radial_std) ** 2 + (across / self.tangential_std) ** 2))
        t = np.stack(terms, axis=1)
        m = t.max(axis=1, keepdims=True)
        norm = math.log(2 * math.pi * self.radial_std * self.tangential_std * self.arms)
        return m[:, 0] + np.log(np.exp(t - m).sum(axis=1)) - norm


_LARGEST = 1e100  # toy parameters beyond it overflow their samples' math


def _positive(v, name) -> float:
    return check_real(v, name, 0.0, _LARGEST, open_low=True)


def moons(noise: float = 0.1) -> Moons:
    """Two interleaving half circles (scikit-learn's make_moons) as a Distribution."""
    return Moons(noise)


def circles(noise: float = 0.05, factor: float = 0.5) -> Circles:
    """Two concentric noisy circles as a Distribution."""
    return Circles(noise, factor)


def eight_gaussians(radius: float = 2.0, std: float = 0.2) -> EightGaussians:
    """Eight Gaussians on a circle as a Distribution."""
    return EightGaussians(radius, std)


def pinwheel() -> Swirl:
    """Five short swirled arms (a pinwheel) as a Distribution with an exact density."""
    return Swirl(arms=5, radius=1.5, radial_std=0.35, tangential_std=0.08, twist=0.6)


def spirals() -> Swirl:
    """Two long swirled arms (two spirals) as a Distribution with an exact density."""
    return Swirl(arms=2, radius=2.0, radial_std=1.0, tangential_std=0.1, twist=2.0)
