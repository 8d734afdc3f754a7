"""
Sample-based metrics: kernel pair sums, nearest neighbours.
"""
from __future__ import annotations
import enum
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Pair', 'in_any_ball', 'nearest', 'pair_sums', 'tile']
class Pair(enum.Enum):
    """
    The pair kernels k(r) of the sums (metrics.hpp).
    """
    distance: typing.ClassVar[Pair]
    gaussian: typing.ClassVar[Pair]
    laplacian: typing.ClassVar[Pair]
    @classmethod
    def __new__(cls, value):
        ...
def in_any_ball(tiles: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.bool]:
    """
    Whether each row of x lies within radius of some reference point (the tiles' radius2).
    """
def nearest(tiles: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], k: typing.SupportsInt | typing.SupportsIndex, skip_self: bool, n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    The k smallest squared distances from each row of x to the reference set, ascending (n, k).
    """
def pair_sums(kind: Pair, tiles: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], gamma: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    sum_j w_j k(|x_i - y_j|) for each row of x, as float64.
    """
tile: int = 64
