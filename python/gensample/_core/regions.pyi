"""
Boxes.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['box_contains', 'box_sample']
def box_contains(x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], low: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], high: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.bool]:
    ...
def box_sample(key: typing.SupportsInt | typing.SupportsIndex, low: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], width: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex, first_row: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Rows first_row .. first_row + len(out) of the box's sample of stream key.
    """
