"""
Polygons: triangulation, strips, sampling, containment.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['contains', 'sample', 'strips', 'triangulate']
def contains(strips: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.bool]:
    ...
def sample(tri: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], prob: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], alias: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], key: typing.SupportsInt | typing.SupportsIndex, rows: typing.Any, r0: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def strips(xy: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], ring_ptr: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], poly_ptr: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> dict:
    """
    Strip index over the edges, by name: y0, inv_height, n_strips, xmin, xmax, ymax, strip_ptr, edge, edges.
    """
def triangulate(xy: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], ring_ptr: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], poly_ptr: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> tuple[numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], numpy.typing.NDArray[numpy.float64]]:
    """
    Triangles (m, 6) as (ax, ay, bx-ax, by-ay, cx-ax, cy-ay) and their areas.
    """
