"""
Philox streams: bulk draws, sub-stream keys, alias tables.
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['alias_table', 'fill_integers', 'fill_normal', 'fill_uniform', 'philox4x32_10', 'set_simd_isa', 'simd_isa', 'simd_isas_supported', 'subkey']
def alias_table(mass: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.uint32]]:
    """
    Vose alias table (prob, alias) for outcome masses.
    """
def fill_integers(key: typing.SupportsInt | typing.SupportsIndex, high: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def fill_normal(key: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex, first_row: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Rows first_row .. first_row + len(out) of the normal draw of stream key.
    """
def fill_uniform(key: typing.SupportsInt | typing.SupportsIndex, out: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex, first_row: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Rows first_row .. first_row + len(out) of the uniform draw of stream key.
    """
def philox4x32_10(key: typing.SupportsInt | typing.SupportsIndex, counters: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], n_threads: typing.SupportsInt | typing.SupportsIndex = 1) -> numpy.typing.NDArray[numpy.uint32]:
    """
    Raw Philox4x32-10 blocks: counters (m, 4) uint32 -> (m, 4) uint32.
    """
def set_simd_isa(name: str) -> None:
    """
    Force a Philox kernel ('best' to restore); every one gives the same bits.
    """
def simd_isa() -> str:
    """
    Instruction set of the Philox kernel in use.
    """
def simd_isas_supported() -> list[str]:
    ...
def subkey(key: typing.SupportsInt | typing.SupportsIndex, index: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Key of sub-stream `index` of `key`.
    """
