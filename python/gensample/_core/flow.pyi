"""
Flows: velocity fields and the solvers.
"""
from __future__ import annotations
import enum
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Activation', 'PathKind', 'Solver', 'Status', 'forward', 'integrate', 'integrate_adaptive', 'path_coefficients', 'velocity']
class PathKind(enum.Enum):
    """
    The probability paths (flow.hpp).
    """
    cosine: typing.ClassVar[PathKind]
    linear: typing.ClassVar[PathKind]
    vp: typing.ClassVar[PathKind]
    @classmethod
    def __new__(cls, value):
        ...
class Solver(enum.Enum):
    """
    The fixed-step solvers (flow.hpp).
    """
    euler: typing.ClassVar[Solver]
    heun: typing.ClassVar[Solver]
    midpoint: typing.ClassVar[Solver]
    rk4: typing.ClassVar[Solver]
    @classmethod
    def __new__(cls, value):
        ...
class Activation(enum.Enum):
    """
    A network layer's activation (flow.hpp).
    """
    elu: typing.ClassVar[Activation]
    gelu: typing.ClassVar[Activation]
    gelu_tanh: typing.ClassVar[Activation]
    identity: typing.ClassVar[Activation]
    leaky_relu: typing.ClassVar[Activation]
    relu: typing.ClassVar[Activation]
    sigmoid: typing.ClassVar[Activation]
    silu: typing.ClassVar[Activation]
    softplus: typing.ClassVar[Activation]
    tanh: typing.ClassVar[Activation]
    @classmethod
    def __new__(cls, value):
        ...
class Status(enum.IntEnum):
    """
    How dopri5 ended for a particle (flow.hpp).
    """
    finished: typing.ClassVar[Status]
    max_steps: typing.ClassVar[Status]
    not_finite: typing.ClassVar[Status]
    step_underflow: typing.ClassVar[Status]
    @classmethod
    def __new__(cls, value):
        ...
    def __format__(self, format_spec):
        ...
def forward(network: dict, z: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], n_threads: typing.SupportsInt | typing.SupportsIndex, out: typing.Any = None) -> typing.Any:
    """
    A network's outputs (n, out) at its inputs z (n, in), in z's dtype: {"layers": [...]}; into out (n, out) of z's dtype when given.
    """
def integrate(field: dict, path: dict, solver: Solver, grid: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], log_det: typing.Any, snap_steps: typing.Any, snapshots: typing.Any, sigma: typing.Any, noise_key: typing.SupportsInt | typing.SupportsIndex, row0: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Integrate x (n, d) in place over grid; log_det (n,) += the divergence integral; snapshots (len(snap_steps), n, d) at the given step indices; sigma (steps,) with noise_key makes Euler steps Euler-Maruyama steps of the SDE (noise row row0 + i for particle i).
    """
def integrate_adaptive(field: dict, path: dict, stops: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], log_det: typing.Any, snapshots: typing.Any, rtol: typing.SupportsFloat | typing.SupportsIndex, atol: typing.SupportsFloat | typing.SupportsIndex, max_steps: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple:
    """
    dopri5 with a step size per particle from stops[0] through stops[1:], x in place; returns (status (n,) uint8, a Status per particle, (evaluations, accepted, rejected)).
    """
def path_coefficients(path: dict, t: typing.SupportsFloat | typing.SupportsIndex) -> tuple[float, float, float, float]:
    """
    (alpha, alpha', sigma^2, sigma sigma') of the path at t.
    """
def velocity(field: dict, path: dict, t: typing.SupportsFloat | typing.SupportsIndex, x: numpy.ndarray[typing.Any, numpy.dtype[typing.Any]], with_div: bool, n_threads: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
    """
    u_t(x) (n, d) in x's dtype, and (u, div u) when with_div (div float64).
    """
