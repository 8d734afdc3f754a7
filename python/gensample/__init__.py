"""gensample: fast sampling for generative modelling.

>>> import gensample as gs
>>> box = gs.Box.fit([[0.0, 0.0], [1.0, 2.0]])
>>> box.sample(3, rng=0).shape
(3, 2)
"""

from . import datasets, fields, random
from .distribution import Distribution
from .flow import Flow
from .gmm import GMM
from .kde import KDE
from .polygon import MultiPolygon, Polygon
from .raster import GeoMask, RasterMask
from .regions import AcceptanceError, Box, Region
from .threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = [
    "AcceptanceError", "Box", "Distribution", "Flow", "GeoMask", "GMM", "KDE", "MultiPolygon", "Polygon", "RasterMask", "Region",
    "datasets", "fields", "get_num_threads", "random", "set_num_threads", "__version__",
]
