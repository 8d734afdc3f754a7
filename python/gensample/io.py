"""Model files: every gensample model saves to one versioned ``.npz`` and loads without pickle.

Format (version 1)
------------------
A NumPy ``.npz`` archive (``numpy.savez``, uncompressed) holding

- ``__gensample__``: a uint8 array, the UTF-8 text of a JSON object
  ``{"format": "gensample-model", "version": 1, "gensample": "<version that wrote it>",
  "model": NODE}``;
- one array per array of the model, named by its place in the tree (``model.weights``,
  ``model.field.means``, ...).

A ``NODE`` is ``{"type": NAME, "params": {...}, "arrays": {NAME: ARCHIVE_KEY}, "children":
{NAME: NODE}}``: the class (one of :data:`MODEL_TYPES`), its JSON parameters, its arrays and
the models it is built on (a Flow's field, the two sides of a region difference). Loading
reads the archive with ``allow_pickle=False``, rebuilds each node through its class's own
validating constructor and refuses anything it does not know: a corrupt, truncated or
hand-edited file raises ``ValueError`` naming the file, never crashes, never runs code.

Every model also pickles (Dask ships models to its workers that way).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ._validation import as_path, check_bool

__all__ = ["FORMAT_VERSION", "MODEL_TYPES", "load", "save"]

FORMAT_VERSION = 1
_MAGIC = "gensample-model"
_META = "__gensample__"


# Where each model class lives: the types a model file may hold.
_HOMES = {
    "regions": ("Box", "Union", "Intersection", "Difference"),
    "raster": ("RasterMask", "GeoMask"),
    "polygon": ("Polygon", "MultiPolygon"),
    "kde": ("KDE",),
    "gmm": ("GMM",),
    "latent": ("PPCA", "FactorAnalysis", "Decoder"),
    "conditional": ("Conditional",),
    "flow": ("Flow",),
    "fields": ("GaussianMixture", "Empirical", "MLP", "Guided"),
    "datasets": ("Moons", "Circles", "EightGaussians", "Swirl"),
}
MODEL_TYPES = tuple(name for names in _HOMES.values() for name in names)


def _registry() -> dict:
    """Class name -> class (imported late: the model modules import this one)."""
    import importlib

    return {
        name: getattr(importlib.import_module(f"gensample.{home}"), name)
        for home, names in _HOMES.items()
        for name in names
    }


def _node(model, prefix: str, arrays: dict) -> dict:
    """The JSON node of ``model``; its arrays go into ``arrays`` under ``prefix.name``."""
    kind = type(model).__name__
    state = getattr(model, "_save_state", None)
    if kind not in MODEL_TYPES or state is None:
        raise TypeError(
            f"cannot save a {kind}: model files hold {', '.join(MODEL_TYPES)}"
            + (" (a Callable field is arbitrary Python code: pickle the model instead)" if kind == "Callable" else "")
        )
    params, own, children = state()
    keys = {}
    for name, value in own.items():
        key = f"{prefix}.{name}"
        arrays[key] = np.ascontiguousarray(value)
        keys[name] = key
    return {
        "type": kind,
        "params": params,
        "arrays": keys,
        "children": {name: _node(child, f"{prefix}.{name}", arrays) for name, child in children.items()},
    }


def to_arrays(model) -> dict:
    """The archive's contents for ``model``: ``{key: array}`` with the JSON header under
    ``__gensample__`` (what :func:`save` writes; also a stable fingerprint of the model)."""
    from . import __version__

    arrays: dict = {}
    meta = {
        "format": _MAGIC,
        "version": FORMAT_VERSION,
        "gensample": __version__,
        "model": _node(model, "model", arrays),
    }
    text = json.dumps(meta, sort_keys=True, allow_nan=False)
    arrays[_META] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return arrays


def save(model, path, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path``, a ``.npz`` model file (another suffix is an error: a zip
    archive named ``.npy`` would fool every reader of ``.npy`` files).

    The file appears complete or not at all: it is written under a temporary name and
    renamed. An existing file is replaced only with ``overwrite=True``.

    >>> import gensample as gs, tempfile, os
    >>> gmm = gs.GMM.from_parameters([1.0], [[0.0, 0.0]], [[[1.0, 0.0], [0.0, 1.0]]])
    >>> path = os.path.join(tempfile.mkdtemp(), "gmm.npz")
    >>> _ = gmm.save(path)
    >>> bool((gs.load(path).sample(5, rng=0) == gmm.sample(5, rng=0)).all())
    True
    """
    path = as_path(path)
    if path.suffix.lower() != ".npz":
        raise ValueError(
            f"path must end in .npz (a model file is an .npz archive), got {str(path)!r}: "
            f"use {str(path.with_suffix('.npz'))!r}"
        )
    if path.exists() and not check_bool(overwrite, "overwrite"):
        raise FileExistsError(f"{path} exists: pass overwrite=True to replace it")
    arrays = to_arrays(model)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class _Archive:
    """An archive's arrays by key, with an error that names a missing one."""

    def __init__(self, arrays: dict):
        self._arrays = arrays

    def array(self, key: str) -> np.ndarray:
        if not isinstance(key, str) or key not in self._arrays:
            raise ValueError(f"the model file lacks array {key!r}")
        return self._arrays[key]


def _build(node, archive: _Archive, registry: dict, where: str):
    if not isinstance(node, dict) or not {"type", "params", "arrays", "children"} <= node.keys():
        raise ValueError(f"{where}: malformed model node")
    cls = registry.get(node["type"]) if isinstance(node["type"], str) else None
    if cls is None:
        raise ValueError(f"{where}: unknown model type {node['type']!r} (known: {', '.join(MODEL_TYPES)})")
    if not (
        isinstance(node["params"], dict) and isinstance(node["arrays"], dict) and isinstance(node["children"], dict)
    ):
        raise ValueError(f"{where}: malformed model node of type {node['type']}")
    arrays = {name: archive.array(key) for name, key in node["arrays"].items()}
    children = {name: _build(child, archive, registry, f"{where}.{name}") for name, child in node["children"].items()}
    try:
        return cls._load_state(node["params"], arrays, children)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: invalid {node['type']} in the model file: {exc}") from exc


def _read(path: Path) -> tuple[dict, dict]:
    """(header, arrays) of a model file, read whole: any fault of the archive is a ValueError."""
    where = str(path)
    with open(path, "rb") as f:  # our own handle: closed whatever the archive's state
        magic = f.read(6)
        f.seek(0)
        if not magic.startswith(b"PK\x03\x04") and magic != b"\x93NUMPY":
            raise ValueError(f"{where} is not a gensample model file: not an .npz archive")
        try:
            z = np.load(f, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("it is a single .npy array, not a gensample model file")
            with z:
                if _META not in z.files:
                    raise ValueError("no __gensample__ header: not a gensample model file")
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(bytes(arrays.pop(_META)).decode("utf-8"))
        except MemoryError:
            raise
        except ValueError as exc:
            if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                raise ValueError(f"{where} holds Python objects, which a model file never does") from exc
            raise ValueError(f"{where}: {exc}") from exc
        except Exception as exc:  # zipfile, zlib and the npy reader each raise their own types
            raise ValueError(
                f"{where} is not a gensample model file (corrupt or truncated?): {type(exc).__name__}: {exc}"
            ) from exc
    if not isinstance(meta, dict) or meta.get("format") != _MAGIC:
        raise ValueError(f"{where}: the header is not a gensample model header")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ValueError(
            f"{where}: format version {version!r}; this gensample reads versions 1 to {FORMAT_VERSION}"
            " (a newer gensample wrote it?)"
        )
    return meta, arrays


def load(path):
    """The model saved at ``path`` by :meth:`~gensample.Distribution.save` (or :func:`save`).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for anything that is
    not a complete gensample model file of a version this gensample reads.
    """
    path = as_path(path)
    meta, arrays = _read(path)
    try:
        return _build(meta.get("model"), _Archive(arrays), _registry(), "model")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


# ---- helpers the classes' _load_state use ------------------------------------------------


def float_array(a, name: str, ndim: int | None = None) -> np.ndarray:
    """A stored array as float64 (a copy), of the given rank, finite."""
    a = np.asarray(a)
    if a.dtype.kind not in "iuf" or (ndim is not None and a.ndim != ndim):
        raise ValueError(f"{name} must be a {ndim}-D numeric array, got {a.dtype} {a.shape}")
    a = np.array(a, dtype=np.float64, copy=True)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    return a


def int_array(a, name: str, dtype=np.int64) -> np.ndarray:
    """A stored 1-D integer array as ``dtype`` (a copy), values representable in it."""
    a = np.asarray(a)
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D integer array, got {a.dtype} {a.shape}")
    info = np.iinfo(dtype)
    if a.size and (int(a.min()) < info.min or int(a.max()) > info.max):
        raise ValueError(f"{name} holds values outside {np.dtype(dtype)}")
    return np.array(a, dtype=dtype, copy=True)


def describe(path) -> list[str]:
    """Lines that describe a model file: format version, writer, and the model tree with its
    parameters and array shapes (what ``gensample info`` prints). Loads the model to check it."""
    path = as_path(path)
    model = load(path)  # a file that does not load is not described
    meta, arrays = _read(path)
    shapes = {k: (a.dtype.name, a.shape) for k, a in arrays.items()}
    lines = [
        f"{path}: gensample model file, format version {meta['version']} (written by gensample "
        f"{meta.get('gensample', '?')})",
        f"  {model!r}, {model.dim}-D",
    ]

    def walk(node, depth):
        pad = "  " * depth
        params = ", ".join(f"{k}={v!r}" for k, v in node["params"].items())
        lines.append(f"{pad}{node['type']}({params})")
        for name, key in node["arrays"].items():
            dtype, shape = shapes[key]
            lines.append(f"{pad}  {name}: {dtype} {shape}")
        for name, child in node["children"].items():
            lines.append(f"{pad}  {name}:")
            walk(child, depth + 2)

    walk(meta["model"], 1)
    return lines
