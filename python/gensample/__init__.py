"""gensample: fast sampling for generative modelling.

>>> import gensample as gs
>>> box = gs.Box.fit([[0.0, 0.0], [1.0, 2.0]])
>>> box.sample(3, rng=0).shape
(3, 2)
"""

from . import random
from .distribution import Distribution
from .regions import Box
from .threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = ["Box", "Distribution", "get_num_threads", "random", "set_num_threads", "__version__"]
