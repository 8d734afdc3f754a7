"""Velocity fields for :class:`gensample.Flow`: the exact marginal velocity of a target on
an affine probability path ``x_t = alpha_t x1 + sigma_t x0``, ``x0 ~ N(0, I)`` (by default
the linear, CondOT, path ``alpha_t = t``, ``sigma_t = 1 - t``), a network of Linear layers,
or any batched function."""

from __future__ import annotations

import numpy as np

from . import _core, _network
from ._typing import ArrayLike
from ._validation import _short, as_array, as_points, check_n_threads, check_real

__all__ = ["Callable", "Empirical", "GaussianMixture", "Guided", "MLP", "PATHS"]

PATHS = tuple(_core.flow.PathKind.__members__)  # flow.hpp's PathKind, exported from C++


def path_of(path) -> dict:
    """The engine's path (by name): "linear", "cosine", "vp", or ("vp", beta_min, beta_max)."""
    if isinstance(path, str) and path in PATHS:
        return {"kind": _core.flow.PathKind[path], "beta_min": 0.1, "beta_max": 20.0}
    if isinstance(path, tuple) and len(path) == 3 and isinstance(path[0], str) and path[0] == "vp":
        b0, b1 = path[1], path[2]
        if (
            all(np.isscalar(b) and not isinstance(b, (bool, np.bool_)) and np.isfinite(b) for b in (b0, b1))
            and 0 < b0 <= b1
        ):
            return {"kind": _core.flow.PathKind.vp, "beta_min": float(b0), "beta_max": float(b1)}
    raise ValueError(
        f"path must be one of {PATHS} or ('vp', beta_min, beta_max) with 0 < beta_min <= beta_max, got {_short(path)}"
    )


LINEAR = path_of("linear")


def _time(t) -> float:
    return check_real(t, "t", 0.0, 1.0)


class _Field:
    """What every field offers: ``velocity`` and ``divergence`` on validated input, built on
    ``_call`` and ``_div``, the calls the NumPy solver makes at each stage (flow.py) with
    ``where`` naming the step for error messages and ``path`` an engine path tuple."""

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None, path=None) -> np.ndarray:
        raise NotImplementedError

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None, path=None) -> np.ndarray:
        raise NotImplementedError

    def velocity(self, t, x: ArrayLike, n_threads: int | None = None, path="linear") -> np.ndarray:
        """``u_t(x)`` at each row of ``x`` -> (n, d), in ``x``'s float type (``path`` matters
        for the closed-form fields only)."""
        t = _time(t)
        return self._call(t, as_points(x, self.dim, squares=True), f"t = {t}", n_threads, path_of(path))

    def divergence(self, t, x: ArrayLike, n_threads: int | None = None, path="linear") -> np.ndarray:
        """``div u_t(x)`` at each row of ``x`` -> (n,) float64."""
        t = _time(t)
        return self._div(t, as_points(x, self.dim, squares=True), f"t = {t}", n_threads, path_of(path))

    def _engine(self, adaptive: bool = False, dtype=None):
        """The core's field tuple, or None when the field is evaluated in Python."""
        return None


class GaussianMixture(_Field):
    """The exact marginal velocity toward a Gaussian mixture ``sum_k pi_k N(mu_k, Sigma_k)``.

    On the linear path, with ``S_k = t^2 Sigma_k + (1 - t)^2 I``:
    ``u_t(x) = sum_k w_k (mu_k + B_k (x - t mu_k))``, ``B_k = (t Sigma_k - (1 - t) I) S_k^-1``,
    ``w_k`` the posterior of component k at x (any affine path: ``cpp/include/gensample/flow.hpp``);
    its divergence is exact too, so a :class:`~gensample.Flow` on this field has an exact
    ``logpdf`` up to the solver's error. Finite at ``t = 1``.

    ``target`` is a fitted :class:`gensample.GMM` (any covariance type) or a
    :class:`gensample.KDE` with the Gaussian kernel (one component per data point, covariance
    ``H``).

    >>> import numpy as np, gensample as gs
    >>> g = gs.GMM.from_parameters([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    >>> field = gs.fields.GaussianMixture(g)
    >>> field.velocity(0.0, [[0.0]]).round(6).tolist()        # at t = 0: E[x1] - x
    [[0.0]]
    """

    def __init__(self, target):
        from .gmm import GMM
        from .kde import KDE

        if isinstance(target, GMM):
            target._check_fitted()
            weights, means, cov = target.weights_, target.means_, target._full_covariances()
        elif isinstance(target, KDE):
            target._check_fitted()
            if target.kernel != "gaussian":
                raise ValueError(f"a KDE field needs the Gaussian kernel, got {target.kernel!r}")
            keep = target.weights_ > 0
            means = target.data_[keep]
            weights = target.weights_[keep] / target.weights_[keep].sum()
            cov = np.broadcast_to(target.bandwidth_, (len(means),) + target.bandwidth_.shape)
        else:
            raise TypeError(f"target must be a gs.GMM or a gs.KDE, got {type(target).__name__}")
        self.target = target
        self.weights_ = np.ascontiguousarray(weights, dtype=np.float64)
        self.means_ = np.ascontiguousarray(means, dtype=np.float64)
        self.covariances_ = np.ascontiguousarray(cov, dtype=np.float64)

    @property
    def dim(self) -> int:
        return self.means_.shape[1]

    def _args(self) -> tuple:
        """(weights, means, covariances): the mixture, as the NumPy twin takes it."""
        return self.weights_, self.means_, self.covariances_

    def _engine(self, adaptive: bool = False, dtype=None) -> dict:
        """The core's field by name (flow.hpp's MixtureField); dopri5 also takes each Sigma_k's
        eigendecomposition (computed once, on first use)."""
        field = {"weights": self.weights_, "means": self.means_, "covariances": self.covariances_}
        if not adaptive:
            return field
        if getattr(self, "_eigen", None) is None:
            values, vectors = np.linalg.eigh(self.covariances_)
            self._eigen = {
                "eigenvalues": np.ascontiguousarray(np.maximum(values, 0.0)),
                "eigenvectors": np.ascontiguousarray(vectors),
            }
        return {**field, **self._eigen}

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None, path=LINEAR) -> np.ndarray:
        return _core.flow.velocity(self._engine(), path, t, x, False, check_n_threads(n_threads))

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None, path=LINEAR) -> np.ndarray:
        return _core.flow.velocity(self._engine(), path, t, x, True, check_n_threads(n_threads))[1]

    def __repr__(self) -> str:
        return f"GaussianMixture(k={len(self.weights_)}, dim={self.dim})"

    def _save_state(self):
        return {}, {}, {"target": self.target}  # the field is a function of its GMM or KDE

    @classmethod
    def _load_state(cls, params, arrays, children):
        return cls(children["target"])


class Empirical(GaussianMixture):
    """The exact marginal velocity toward the data themselves (or their Gaussian KDE).

    ``p_1`` is the empirical distribution of the rows of ``X`` (with optional ``weights``),
    or with ``bandwidth = h > 0`` its Gaussian KDE with covariance ``h^2 I``. Then
    ``u_t(x) = xbar + b (x - t xbar)``, ``xbar = sum_i w_i x_i`` with ``w`` a softmax of
    ``-|x - t x_i|^2 / (2 s^2)``, ``s^2 = t^2 h^2 + (1 - t)^2``, ``b = (t h^2 - (1 - t)) / s^2``:
    attention over the dataset, computed in tiles with a running maximum, O(n d) memory.
    Integrating it carries N(0, I) onto the training points (``bandwidth=0``). At t = 1
    with ``bandwidth=0`` the field is singular and returns the limit ``u = x``; the Euler
    and midpoint solvers never evaluate there.

    >>> import numpy as np, gensample as gs
    >>> X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    >>> x1 = gs.Flow(gs.fields.Empirical(X), "midpoint", 400).sample(5, rng=0)
    >>> bool(np.abs(np.abs(x1[:, 0]) - 1).max() < 0.01)     # every particle lands on a data point
    True
    """

    def __init__(self, X, weights=None, bandwidth=0.0):
        from ._validation import as_dataset, as_sample_weights

        X = as_dataset(X, squares=True)
        w = np.full(len(X), 1.0 / len(X)) if weights is None else as_sample_weights(weights, len(X))
        bandwidth = check_real(bandwidth, "bandwidth", 0.0)
        keep = w > 0
        self.target = X
        self.bandwidth = bandwidth
        self.weights_ = np.ascontiguousarray(w[keep])
        self.means_ = np.ascontiguousarray(X[keep])

    @property
    def covariances_(self) -> np.ndarray:
        """``h^2 I`` per point, (n, d, d) (built on demand: the engine never needs it)."""
        d = self.dim
        return np.broadcast_to(self.bandwidth**2 * np.eye(d), (len(self.means_), d, d))

    def _engine(self, adaptive: bool = False, dtype=None) -> dict:
        return {"weights": self.weights_, "means": self.means_, "bandwidth": self.bandwidth}

    def __repr__(self) -> str:
        return f"Empirical(n={len(self.weights_)}, dim={self.dim}, bandwidth={self.bandwidth})"

    def _save_state(self):
        return {"bandwidth": self.bandwidth}, {"data": self.means_, "weights": self.weights_}, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        field = cls(arrays["data"], weights=arrays["weights"], bandwidth=params["bandwidth"])
        if len(field.weights_) != len(arrays["weights"]):
            raise ValueError("stored weights must be positive")
        field.weights_ = np.array(arrays["weights"], dtype=np.float64)  # the stored bits, not renormalised
        return field


class Callable(_Field):
    """Any batched velocity ``fn(t, x) -> (n, d)``: a NumPy function, a wrapped network.

    The solver calls ``fn`` once per stage with all particles (``t`` a Python float, ``x``
    an (n, d) array in the sample's float type) and checks what comes back: shape, dtype
    kind and finiteness, naming the step and time of a failure. ``divergence``, when
    given, is ``div(t, x) -> (n,)`` and makes :meth:`gensample.Flow.logpdf` available.

    >>> import numpy as np, gensample as gs
    >>> spin = gs.fields.Callable(lambda t, x: x[:, ::-1] * [1.0, -1.0], dim=2,
    ...                           divergence=lambda t, x: np.zeros(len(x)))
    >>> x1 = gs.Flow(spin, steps=200).integrate([[1.0, 0.0]])   # one radian of rotation
    >>> np.round(x1, 6).tolist() == np.round([[np.cos(1.0), -np.sin(1.0)]], 6).tolist()
    True
    """

    def __init__(self, fn, dim, divergence=None):
        if not callable(fn):
            raise TypeError(f"fn must be callable as fn(t, x), got {type(fn).__name__}")
        if divergence is not None and not callable(divergence):
            raise TypeError(f"divergence must be callable as div(t, x), got {type(divergence).__name__}")
        from ._validation import check_positive_int

        self.fn = fn
        self.divergence_fn = divergence
        self._dim = check_positive_int(dim, "dim")

    @property
    def dim(self) -> int:
        return self._dim

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None, path=None) -> np.ndarray:
        u = np.asarray(self.fn(t, x))
        if u.shape != x.shape or u.dtype.kind != "f":
            raise ValueError(f"the field returned {u.dtype} {u.shape} at {where}, expected float {x.shape}")
        bad = ~np.isfinite(u).all(axis=1)
        if bad.any():
            raise FloatingPointError(
                f"the field returned NaN or inf at {where} for {int(bad.sum())} of {len(x)} "
                f"particles (the first: row {int(np.flatnonzero(bad)[0])})"
            )
        return u.astype(x.dtype, copy=False)

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None, path=None) -> np.ndarray:
        if self.divergence_fn is None:
            raise TypeError("this Callable field has no divergence: pass divergence=div(t, x) to use logpdf")
        d = np.asarray(self.divergence_fn(t, x), dtype=np.float64)
        if d.shape != (len(x),) or not np.isfinite(d).all():
            raise ValueError(
                f"the divergence returned {d.shape} or non-finite values at {where}, expected ({len(x)},) finite"
            )
        return d

    def __repr__(self) -> str:
        return f"Callable({getattr(self.fn, '__name__', 'fn')}, dim={self.dim})"


class Guided(_Field):
    """Classifier-free guidance: ``u = u_uncond + w (u_cond - u_uncond)``.

    ``conditional`` and ``unconditional`` are fields of the same dimension (``w = 1`` is the
    conditional field, ``w = 0`` the unconditional one, ``w > 1`` pushes further toward the
    condition). The divergence combines the same way, so a guided flow keeps ``logpdf``
    when both fields have one. Closed-form conditional fields come from
    :meth:`gensample.GMM.condition` (a continuous condition) or from one mixture per class.

    >>> import numpy as np, gensample as gs
    >>> gmm = gs.GMM.from_parameters([0.5, 0.5], [[-2.0, -2.0], [2.0, 2.0]], np.stack([0.3 * np.eye(2)] * 2))
    >>> cond = gs.GMM.from_parameters([1.0], [[2.0, 2.0]], [0.3 * np.eye(2)])          # "class 1" only
    >>> field = gs.fields.Guided(gs.fields.GaussianMixture(cond), gs.fields.GaussianMixture(gmm), guidance=1.5)
    >>> x = gs.Flow(field, steps=32).sample(1000, rng=0)
    >>> bool((x.mean(axis=0) > 1.9).all())
    True
    """

    def __init__(self, conditional, unconditional, guidance=1.0):
        for name, f in (("conditional", conditional), ("unconditional", unconditional)):
            if not isinstance(f, _Field):
                raise TypeError(f"{name} must be a gensample.fields field, got {type(f).__name__}")
        if conditional.dim != unconditional.dim:
            raise ValueError(f"the fields' dimensions differ: {conditional.dim} and {unconditional.dim}")
        self.conditional, self.unconditional = conditional, unconditional
        self.guidance = check_real(guidance, "guidance")

    @property
    def dim(self) -> int:
        return self.conditional.dim

    def _combine(self, a, b):
        return b + self.guidance * (a - b)

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None, path=LINEAR) -> np.ndarray:
        return self._combine(
            self.conditional._call(t, x, where, n_threads, path), self.unconditional._call(t, x, where, n_threads, path)
        )

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None, path=LINEAR) -> np.ndarray:
        return self._combine(
            self.conditional._div(t, x, where, n_threads, path), self.unconditional._div(t, x, where, n_threads, path)
        )

    def __repr__(self) -> str:
        return f"Guided({self.conditional!r}, {self.unconditional!r}, guidance={self.guidance})"

    def _save_state(self):
        return {"guidance": self.guidance}, {}, {"conditional": self.conditional, "unconditional": self.unconditional}

    @classmethod
    def _load_state(cls, params, arrays, children):
        return cls(children["conditional"], children["unconditional"], params["guidance"])


ACTIVATIONS: tuple[str, ...] = _network.ACTIVATIONS  # flow.hpp's Activation, exported from C++


class MLP(_Field):
    """A velocity network of Linear layers, evaluated in C++ from NumPy copies of its weights.

    ``weights[i]`` is (out, in) and ``biases[i]`` (out,), as in ``torch.nn.Linear``;
    ``activations[i]`` follows layer ``i`` (the last is usually ``"identity"``): one of
    ``ACTIVATIONS``, or a list of steps, each a name or a dict with its parameters
    (``{"op": "leaky_relu", "param": 0.2}``; ``{"op": "layer_norm", "gamma", "beta", "eps"}``).
    The input is ``inputs``, a string of ``"x"`` (the d coordinates), ``"t"`` (the time)
    and optionally ``"y"`` (a condition vector, the remaining columns), in the order the
    network was trained with; the output has d columns. A network with a condition is used
    through :meth:`condition`, which folds ``y`` into the first bias.

    Particles ride in SIMD lanes through each layer (eight outputs at a time, activations
    fused); the divergence is exact, by forward mode (d tangents beside the values, through
    LayerNorm's dense Jacobian too), so a :class:`~gensample.Flow` on an MLP has ``logpdf``
    for small d. float32 input gives float32 weights and math. ReLU, LeakyReLU, SiLU,
    Sigmoid and LayerNorm are vectorised; tanh, GELU, Softplus and ELU call the C library
    per lane (slower). The products are fused multiply-adds, each rounded once whatever the
    CPU (in hardware on x86-64-v3, AVX-512 and arm64; exact in software elsewhere), so the
    results are the same bits across threads, batches and machines (tanh, GELU, Softplus
    and ELU up to the C library's own rounding).

    >>> import numpy as np, gensample as gs
    >>> rng = np.random.default_rng(0)
    >>> mlp = gs.fields.MLP([rng.normal(size=(16, 3)), rng.normal(size=(2, 16))],
    ...                     [np.zeros(16), np.zeros(2)], ["silu", "identity"])
    >>> mlp.velocity(0.5, [[0.0, 0.0]]).shape
    (1, 2)
    """

    def __init__(self, weights, biases, activations, inputs="xt"):
        W, b, steps = _network.check_layers(weights, biases, activations)
        d = W[-1].shape[0]
        if not isinstance(inputs, str) or sorted(inputs) not in (["t", "x"], ["t", "x", "y"]):
            raise ValueError(f"inputs must order 'x', 't' and optionally 'y', like 'xt' or 'xty', got {_short(inputs)}")
        cond = W[0].shape[1] - d - 1
        if cond < 0 or (cond > 0) != ("y" in inputs):
            raise ValueError(
                f"the first layer, weights[0], takes {W[0].shape[1]} inputs: with d = {d} outputs and inputs="
                f"{inputs!r} it should take {d + 1}" + (" or more" if "y" in inputs else "")
            )
        width = {"x": d, "t": 1, "y": cond}
        start, at = {"y": 0}, 0
        for name in inputs:
            start[name] = at
            at += width[name]
        cols = lambda name: W[0][:, start[name] : start[name] + width[name]]  # noqa: E731
        W[0] = np.ascontiguousarray(np.concatenate([cols("x"), cols("t"), cols("y")], axis=1))  # [x, t, y]
        self.weights_, self.biases_, self.steps_ = W, b, steps
        names = _network.simple(steps)
        self.activations = tuple(names) if names is not None else tuple(steps)
        self.cond_dim = cond
        self._dim = d
        self._cache = {}

    @classmethod
    def from_torch(cls, module, inputs="xt", activation=None):
        """An MLP from a ``torch.nn.Sequential`` of ``Linear`` layers, activations (ReLU,
        LeakyReLU, SiLU, GELU, Tanh, Sigmoid, Softplus, ELU) and LayerNorm (Identity and
        Dropout are skipped; nested Sequentials flatten; any other module is named in the
        error), or from a state dict of Linear layers with one ``activation`` between them.
        torch is needed only here, never at sampling time.

        >>> import torch, gensample as gs
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.SiLU(), torch.nn.Linear(64, 2))
        >>> gs.Flow(gs.fields.MLP.from_torch(net), steps=32).sample(1000, rng=0).shape
        (1000, 2)
        """
        if isinstance(module, dict) or hasattr(module, "keys") and not hasattr(module, "forward"):
            if activation not in ACTIVATIONS:
                raise ValueError(f"a state dict carries no activations: pass activation= one of {ACTIVATIONS}")
            weights, biases, acts = [], [], []
            keys = [k for k in module.keys() if k.endswith("weight") and getattr(module[k], "ndim", 0) == 2]
            for k in keys:
                weights.append(_network.as_numpy(module[k]))
                bias = k[: -len("weight")] + "bias"
                biases.append(_network.as_numpy(module[bias]) if bias in module else np.zeros(weights[-1].shape[0]))
                acts.append(activation)
            if not keys:
                raise ValueError("the state dict has no 2-D weights")
            acts[-1] = "identity"
            return cls(weights, biases, acts, inputs)
        if activation is not None:
            raise ValueError("activation= is for state dicts; a module's activations are read from it")
        weights, biases, steps = _network.from_torch(module)
        return cls(weights, biases, steps, inputs)

    @property
    def dim(self) -> int:
        return self._dim

    def condition(self, y) -> MLP:
        """The network with its condition input fixed to ``y`` (folded into the first bias)."""
        if self.cond_dim == 0:
            raise ValueError("this network takes no condition")
        y = as_array(y, "y", np.float64)
        if y.shape != (self.cond_dim,) or not np.isfinite(y).all():
            raise ValueError(f"y must be {self.cond_dim} finite numbers, got shape {y.shape}")
        d = self.dim
        W, b = list(self.weights_), list(self.biases_)
        b[0] = b[0] + W[0][:, d + 1 :] @ y
        W[0] = W[0][:, : d + 1]
        return MLP(W, b, self.steps_, "xt")

    def _engine(self, adaptive: bool = False, dtype=None) -> dict:
        if self.cond_dim:
            raise ValueError(f"this network takes a condition of {self.cond_dim} values: use mlp.condition(y)")
        dtype = np.dtype(dtype or np.float64)
        if dtype not in self._cache:
            layers = _network.engine_layers(self.weights_, self.biases_, self.steps_, dtype)
            self._cache[dtype] = {"layers": layers, "dim": self.dim}
        return self._cache[dtype]

    def _call(self, t: float, x: np.ndarray, where: str, n_threads=None, path=LINEAR) -> np.ndarray:
        return _core.flow.velocity(self._engine(False, x.dtype), path, t, x, False, check_n_threads(n_threads))

    def _div(self, t: float, x: np.ndarray, where: str, n_threads=None, path=LINEAR) -> np.ndarray:
        return _core.flow.velocity(self._engine(False, x.dtype), path, t, x, True, check_n_threads(n_threads))[1]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}  # per-dtype copies of the weights: rebuilt on first use
        return state

    def _save_state(self):
        arrays = {}
        for i, (w, b) in enumerate(zip(self.weights_, self.biases_)):
            arrays[f"weight{i}"], arrays[f"bias{i}"] = w, b
        params = {"layers": len(self.weights_), "conditioned": self.cond_dim > 0}
        names = _network.simple(self.steps_)
        if names is not None:
            params["activations"] = names
        else:
            params["steps"], norms = _network.save_steps(self.steps_)
            arrays.update(norms)
        return params, arrays, {}

    @classmethod
    def _load_state(cls, params, arrays, children):
        layers = params["layers"]
        if not isinstance(layers, int) or layers < 1:
            raise ValueError(f"layers must be a positive integer, got {layers!r}")
        W = [arrays[f"weight{i}"] for i in range(layers)]
        b = [arrays[f"bias{i}"] for i in range(layers)]
        steps = params["activations"] if "activations" in params else _network.load_steps(params["steps"], arrays)
        return cls(W, b, steps, "xty" if params["conditioned"] else "xt")  # stored in [x, t, y] order

    def __repr__(self) -> str:
        return f"MLP({_network.describe(self.weights_, self.steps_)})"
