"""
Thread counts, interrupts and the instruction set in use.
"""
from __future__ import annotations
import typing
__all__: list[str] = ['ecosystem', 'get_default', 'get_process_share', 'hardware', 'have_openmp', 'resolve', 'set_default', 'set_process_share']
def _throw_in_parallel(n: typing.SupportsInt | typing.SupportsIndex, bad_item: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Test hook: a parallel loop whose task holding bad_item throws.
    """
def ecosystem() -> int:
    """
    The OpenMP limit for calls from this thread (OMP_NUM_THREADS, threadpoolctl).
    """
def get_default() -> int:
    ...
def get_process_share() -> int:
    ...
def hardware() -> int:
    ...
def have_openmp() -> bool:
    ...
def resolve(n_threads: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Threads a call with this n_threads uses (0: the default).
    """
def set_default(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Default thread count for calls without n_threads; 0 means all cores.
    """
def set_process_share(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Threads a worker process takes by default when nothing else is set; 0: no share.
    """
