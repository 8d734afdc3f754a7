"""
Markov chains: Langevin, MALA and HMC.
"""
from __future__ import annotations
import enum
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Method', 'begin', 'finish', 'leapfrog', 'normal_quantile', 'run_gmm']
class Method(enum.Enum):
    """
    The samplers (mcmc.hpp).
    """
    hmc: typing.ClassVar[Method]
    mala: typing.ClassVar[Method]
    ula: typing.ClassVar[Method]
    @classmethod
    def __new__(cls, value):
        ...
def begin(settings: dict, chains: dict, key: typing.SupportsInt | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    A step's first phase: the proposal into chains[x_new] (HMC: the first leapfrog step).
    """
def finish(settings: dict, chains: dict, draws: dict, step: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    A step's last phase: accept or reject, adapt, keep the draw.
    """
def leapfrog(settings: dict, chains: dict, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    One more leapfrog step (HMC).
    """
def normal_quantile(p: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.float64]:
    """
    The standard normal quantile of each p, (n,).
    """
def run_gmm(settings: dict, chains: dict, draws: dict, mixture: dict, key: typing.SupportsInt | typing.SupportsIndex, step0: typing.SupportsInt | typing.SupportsIndex, step1: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Steps [step0, step1) of every chain on a Gaussian mixture's log-density.
    """
