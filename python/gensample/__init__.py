"""gensample: fast sampling for generative modelling.

>>> import gensample as gs
>>> box = gs.Box.fit([[0.0, 0.0], [1.0, 2.0]])
>>> box.sample(3, rng=0).shape
(3, 2)
"""

from . import dask, datasets, fields, io, mcmc, metrics, plot, random
from .conditional import Conditional
from .distribution import Distribution
from .flow import Flow
from .gmm import GMM
from .io import load
from .kde import KDE
from .latent import PPCA, Decoder, FactorAnalysis
from .polygon import MultiPolygon, Polygon
from .raster import GeoMask, RasterMask
from .regions import AcceptanceError, Box, Region
from .scale import OutputInUseError, generate
from .threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = [
    "AcceptanceError",
    "Box",
    "Conditional",
    "Decoder",
    "Distribution",
    "FactorAnalysis",
    "Flow",
    "GeoMask",
    "GMM",
    "KDE",
    "MultiPolygon",
    "OutputInUseError",
    "PPCA",
    "Polygon",
    "RasterMask",
    "Region",
    "dask",
    "datasets",
    "fields",
    "generate",
    "get_num_threads",
    "io",
    "load",
    "mcmc",
    "metrics",
    "plot",
    "random",
    "set_num_threads",
    "__version__",
]
