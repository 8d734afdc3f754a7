"""
Kernel density estimation.
"""
from __future__ import annotations
import enum
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Kernel', 'grad_log_density', 'log_density', 'sample', 'tile']
class Kernel(enum.Enum):
    """
    The kernels' profiles (kde.hpp).
    """
    cosine: typing.ClassVar[Kernel]
    epanechnikov: typing.ClassVar[Kernel]
    exponential: typing.ClassVar[Kernel]
    gaussian: typing.ClassVar[Kernel]
    linear: typing.ClassVar[Kernel]
    tophat: typing.ClassVar[Kernel]
    @classmethod
    def __new__(cls, value):
        ...
def grad_log_density(kernel: Kernel, tiles: dict, y: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    Gradient of the log kernel sum in whitened coordinates, (m, dim).
    """
def log_density(kernel: Kernel, tiles: dict, y: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], offset: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    log sum_i w_i f(|y_j - z_i|) + offset for whitened queries y, in y's dtype (the tiles' too).
    """
def sample(kernel: Kernel, points: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], chol: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], prob: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], alias: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], key: typing.SupportsInt | typing.SupportsIndex, r0: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Rows r0 .. r0 + len(out) of a KDE sample.
    """
tile: int = 64
