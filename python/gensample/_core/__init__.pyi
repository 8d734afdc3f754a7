"""
gensample's compiled core (private: use the gensample package)
"""
from __future__ import annotations
from . import threads
from . import validation
from . import random
from . import regions
from . import raster
from . import polygon
from . import kde
from . import gmm
from . import flow
from . import mcmc
from . import metrics
__all__: list[str] = ['flow', 'gmm', 'kde', 'mcmc', 'metrics', 'polygon', 'random', 'raster', 'regions', 'threads', 'tile', 'validation']
tile: int = 64
