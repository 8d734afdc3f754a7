"""
RasterMask and GeoMask: run-length indices and their sampling.
"""
from __future__ import annotations
from gensample import AcceptanceError
import numpy
import numpy.typing
import typing
__all__: list[str] = ['AcceptanceError', 'locate', 'pick_table', 'runs', 'sample_exact', 'sample_rejection']
def locate(index: dict, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    ...
def pick_table(mass: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], run_row: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], start: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], length: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]) -> None:
    """
    The exact sampler's alias table over runs into out, each entry 32 bytes with both runs inline.
    """
def runs(mask: typing.Annotated[numpy.typing.ArrayLike, numpy.uint8], weights: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.uint32], numpy.typing.NDArray[numpy.uint32], numpy.typing.NDArray[numpy.float64]]:
    """
    Run-length index of a (rows, cells) mask: (row_ptr, start, length, weight).
    """
def sample_exact(index: dict, key: typing.SupportsInt | typing.SupportsIndex, rows: typing.Any, r0: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def sample_rejection(index: dict, box_lo: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], box_hi: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], key: typing.SupportsInt | typing.SupportsIndex, rows: typing.Any, r0: typing.SupportsInt | typing.SupportsIndex, min_acceptance: typing.SupportsFloat | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
