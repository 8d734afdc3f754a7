"""Networks for the C++ engine (flow.hpp's Network): Linear layers, each followed by its
steps (activations, LayerNorm), checked once here and translated from torch modules.

Shared by :class:`gensample.fields.MLP` (a velocity network) and
:class:`gensample.Decoder` (a map from latent points). A layer's steps are a list of
dicts: ``{"op": name}`` with the activation's parameters (``"param"``: LeakyReLU's negative
slope, Softplus's beta, ELU's alpha; ``"param2"``: Softplus's threshold) or ``{"op":
"layer_norm", "gamma", "beta", "eps"}``.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import _short, as_array

ACTIVATIONS: tuple[str, ...] = tuple(_core.flow.Activation.__members__)  # flow.hpp's Activation, exported from C++

# Parameters of the activations that take some, and their defaults (torch's).
_DEFAULTS = {"leaky_relu": (0.01, 0.0), "softplus": (1.0, 20.0), "elu": (1.0, 0.0)}


def _step(step, layer: int, width: int) -> dict:
    """One step of layer ``layer`` (``width`` outputs) in the canonical form."""
    if isinstance(step, str):
        step = {"op": step}
    if not isinstance(step, dict) or not isinstance(step.get("op"), str):
        raise TypeError(f"activations[{layer}]: a step is a name or a dict with 'op', got {_short(step)}")
    op = step["op"]
    if op == "layer_norm":
        gamma = np.array(as_array(step.get("gamma", np.ones(width)), f"activations[{layer}] gamma", np.float64))
        beta = np.array(as_array(step.get("beta", np.zeros(width)), f"activations[{layer}] beta", np.float64))
        eps = step.get("eps", 1e-5)
        if gamma.shape != (width,) or beta.shape != (width,):
            raise ValueError(
                f"activations[{layer}]: layer_norm's gamma and beta must have the layer's {width} outputs, "
                f"got {gamma.shape} and {beta.shape}"
            )
        if not (np.isfinite(gamma).all() and np.isfinite(beta).all() and np.isfinite(eps) and eps > 0):
            raise ValueError(f"activations[{layer}]: layer_norm needs finite gamma and beta and eps > 0")
        return {"op": op, "gamma": gamma, "beta": beta, "eps": float(eps)}
    if op not in ACTIVATIONS:
        raise ValueError(f"activations[{layer}] must be one of {ACTIVATIONS} or 'layer_norm', got {_short(op)}")
    p0, p1 = _DEFAULTS.get(op, (0.0, 0.0))
    param, param2 = step.get("param", p0), step.get("param2", p1)
    for v in (param, param2):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise ValueError(f"activations[{layer}]: {op}'s parameters must be finite numbers, got {_short(v)}")
    if op == "softplus" and not param > 0:
        raise ValueError(f"activations[{layer}]: softplus's beta must be positive, got {param}")
    return {"op": op, "param": float(param), "param2": float(param2)}


def steps_of(activation, layer: int, width: int) -> list[dict]:
    """The steps after layer ``layer``: one name (``"silu"``), or a list of names and dicts."""
    if isinstance(activation, (str, dict)):
        activation = [activation]
    if not isinstance(activation, (list, tuple)):
        raise TypeError(f"activations[{layer}] must be a name or a list of steps, got {_short(activation)}")
    return [s for s in (_step(a, layer, width) for a in activation) if s["op"] != "identity"]


def check_layers(weights, biases, activations) -> tuple[list, list, list]:
    """Weights (out, in), biases (out,) and each layer's steps, copied as float64 and checked."""
    for name, v in (("weights", weights), ("biases", biases), ("activations", activations)):
        if (
            isinstance(v, (str, bytes, dict))
            or not hasattr(v, "__len__")
            or not hasattr(v, "__getitem__")
            or (isinstance(v, np.ndarray) and v.ndim == 0)
        ):
            raise TypeError(f"{name} must be a list with one entry per layer, got {type(v).__name__}")
    if not (len(weights) == len(biases) == len(activations)) or len(weights) == 0:
        raise ValueError("weights, biases and activations must be non-empty and of one length")
    W = [np.array(as_array(w, f"weights[{i}]", np.float64), copy=True) for i, w in enumerate(weights)]
    b = [np.array(as_array(v, f"biases[{i}]", np.float64), copy=True) for i, v in enumerate(biases)]
    for i, (w, v) in enumerate(zip(W, b)):
        if w.ndim != 2 or v.shape != (w.shape[0],) or not (np.isfinite(w).all() and np.isfinite(v).all()):
            raise ValueError(
                f"layer {i}: weights[{i}] must be finite (out, in) and biases[{i}] finite (out,), "
                f"got {w.shape} and {v.shape}"
            )
        if i > 0 and w.shape[1] != W[i - 1].shape[0]:
            raise ValueError(f"weights[{i}] takes {w.shape[1]} inputs but weights[{i - 1}] gives {W[i - 1].shape[0]}")
    steps = [steps_of(a, i, w.shape[0]) for i, (a, w) in enumerate(zip(activations, W))]
    return W, b, steps


def simple(steps: list[list[dict]]) -> list[str] | None:
    """Each layer's single activation by name, when the steps are no more than that (the
    form model files kept before steps had parameters), else None."""
    names = []
    for layer in steps:
        if len(layer) > 1 or any(s["op"] in _DEFAULTS or s["op"] == "layer_norm" for s in layer):
            return None
        names.append(layer[0]["op"] if layer else "identity")
    return names


def describe(W, steps) -> str:
    """``3-64-2, activations=['silu', 'identity']`` (steps in short: ``layer_norm+silu``)."""
    widths = [W[0].shape[1]] + [w.shape[0] for w in W]
    names = simple(steps)
    acts = names if names is not None else ["+".join(s["op"] for s in layer) or "identity" for layer in steps]
    return f"{'-'.join(map(str, widths))}, activations={acts}"


def engine_layers(W, b, steps, dtype) -> list[dict]:
    """The core's layers (register_flow.cpp's layers_of) in ``dtype``."""
    layers = []
    for w, v, ops in zip(W, b, steps):
        engine_ops = []
        for s in ops:
            if s["op"] == "layer_norm":
                engine_ops.append(
                    {
                        "gamma": np.ascontiguousarray(s["gamma"], dtype),
                        "beta": np.ascontiguousarray(s["beta"], dtype),
                        "eps": s["eps"],
                    }
                )
            else:
                engine_ops.append(
                    {"activation": _core.flow.Activation[s["op"]], "param": s["param"], "param2": s["param2"]}
                )
        layers.append(
            {"weight": np.ascontiguousarray(w, dtype), "bias": np.ascontiguousarray(v, dtype), "ops": engine_ops}
        )
    return layers


def save_steps(steps) -> tuple[list, dict]:
    """Steps as JSON (layer norms' arrays by name, in the returned dict)."""
    out, arrays = [], {}
    for i, layer in enumerate(steps):
        row = []
        for k, s in enumerate(layer):
            if s["op"] == "layer_norm":
                arrays[f"gamma{i}_{k}"], arrays[f"beta{i}_{k}"] = s["gamma"], s["beta"]
                row.append({"op": "layer_norm", "eps": s["eps"]})
            else:
                row.append(dict(s))
        out.append(row)
    return out, arrays


def load_steps(saved, arrays) -> list:
    if not isinstance(saved, list):
        raise ValueError(f"steps must be a list per layer, got {_short(saved)}")
    steps = []
    for i, layer in enumerate(saved):
        if not isinstance(layer, list) or not all(isinstance(s, dict) for s in layer):
            raise ValueError(f"steps[{i}] must be a list of steps")
        steps.append(
            [
                {**s, "gamma": arrays[f"gamma{i}_{k}"], "beta": arrays[f"beta{i}_{k}"]}
                if s.get("op") == "layer_norm"
                else s
                for k, s in enumerate(layer)
            ]
        )
    return steps


# ---- torch --------------------------------------------------------------------------------


def as_numpy(v) -> np.ndarray:
    """A torch tensor (or any array) as a float64 NumPy array."""
    return v.detach().cpu().double().numpy() if hasattr(v, "detach") else np.asarray(v, np.float64)


_TORCH_SIMPLE = {"ReLU": "relu", "SiLU": "silu", "Tanh": "tanh", "Sigmoid": "sigmoid"}
_TORCH_SKIPPED = ("Identity", "Dropout", "Flatten")


def from_torch(module) -> tuple[list, list, list]:
    """(weights, biases, steps) of a torch ``nn.Sequential`` (nested ones flatten) of Linear
    layers, the activations the engine has (ReLU, LeakyReLU, SiLU, GELU, Tanh, Sigmoid,
    Softplus, ELU) and LayerNorm over a layer's outputs; Identity, Dropout and Flatten are
    skipped (inference). Any other module is named in a TypeError."""
    weights: list = []
    biases: list = []
    steps: list = []

    def add(step, where, kind):
        if not steps:
            raise TypeError(f"{where} ({kind}) comes before any Linear layer: the engine applies steps after one")
        steps[-1].append(step)

    def walk(m, where):
        kind = type(m).__name__
        if kind == "Sequential":
            for name, child in m._modules.items():  # named_children() skips a module used twice
                walk(child, f"{where}.{name}" if where else name)
        elif kind == "Linear":
            weights.append(as_numpy(m.weight))
            biases.append(as_numpy(m.bias) if m.bias is not None else np.zeros(m.out_features))
            steps.append([])
        elif kind in _TORCH_SIMPLE:
            add(_TORCH_SIMPLE[kind], where, kind)
        elif kind == "GELU":
            add("gelu_tanh" if m.approximate == "tanh" else "gelu", where, kind)
        elif kind == "LeakyReLU":
            add({"op": "leaky_relu", "param": float(m.negative_slope)}, where, kind)
        elif kind == "Softplus":
            add({"op": "softplus", "param": float(m.beta), "param2": float(m.threshold)}, where, kind)
        elif kind == "ELU":
            add({"op": "elu", "param": float(m.alpha)}, where, kind)
        elif kind == "LayerNorm":
            shape = tuple(m.normalized_shape)
            if not steps or shape != (weights[-1].shape[0],):
                raise TypeError(
                    f"{where} (LayerNorm over {shape}) must normalise the outputs of the Linear layer before it"
                )
            gamma = as_numpy(m.weight) if m.weight is not None else np.ones(shape)
            beta = as_numpy(m.bias) if getattr(m, "bias", None) is not None else np.zeros(shape)
            add({"op": "layer_norm", "gamma": gamma, "beta": beta, "eps": float(m.eps)}, where, kind)
        elif kind in _TORCH_SKIPPED:
            return
        else:
            raise TypeError(
                f"cannot translate {where or 'the module'} ({kind}): the engine takes Sequential stacks of Linear, "
                "ReLU, LeakyReLU, SiLU, GELU, Tanh, Sigmoid, Softplus, ELU and LayerNorm (Identity, Dropout and "
                "Flatten are skipped)"
            )

    walk(module, "")
    if not weights:
        raise ValueError("the module has no Linear layer")
    return weights, biases, steps
