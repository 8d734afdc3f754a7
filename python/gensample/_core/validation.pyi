"""
The input checks' parallel scan.
"""
from __future__ import annotations
import numpy
import typing
__all__: list[str] = ['scan_values']
def scan_values(x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[bool, float]:
    """
    (all values finite, max |value|) of a C-contiguous float array of any shape.
    """
