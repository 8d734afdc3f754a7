"""Input checks shared by the public API: done once, at the edge, before any work starts."""

from __future__ import annotations

import numbers
import operator
import os

import numpy as np

from . import _core

FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


INT64_MAX = 2**63 - 1


def _short(value) -> str:
    """A value for a message: its repr cut short (an array's may be huge)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:50]}..."


def _integer(value, name: str, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {_short(value)}")
    value = operator.index(value)
    if value > INT64_MAX:
        raise ValueError(f"{name} must be {what} below 2**63, got {value}")
    return value


def check_count(n, name: str = "n") -> int:
    """A non-negative integer count below 2**63 (Python or NumPy int, not bool or float)."""
    n = _integer(n, name, "a non-negative integer")
    if n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {n}")
    return n


def check_positive_int(value, name: str) -> int:
    """A positive integer below 2**63 (Python or NumPy int, not bool or float)."""
    value = _integer(value, name, "a positive integer")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {_short(value)}")
    return bool(value)


def check_choice(value, choices, name: str) -> str:
    """One of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {_short(value)}")
    return value


def check_real(
    value,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    finite: bool = True,
) -> float:
    """A real number (a 0-d numeric array too) in [low, high] (or (low, high] with open_low)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {_short(value)}")
    v = float(value)
    if np.isnan(v) or (finite and not np.isfinite(v)):
        raise ValueError(f"{name} must be a finite number, got {v}")
    below = low is not None and (v < low or (open_low and v == low))
    if below or (high is not None and v > high):
        if high is None:
            wanted = (
                "a positive finite number"
                if low == 0 and open_low
                else f"a finite number {'>' if open_low else '>='} {low:g}"
            )
        else:
            wanted = (
                f"a finite number <= {high:g}"
                if low is None
                else f"a finite number in {'(' if open_low else '['}{low:g}, {high:g}]"
            )
        raise ValueError(f"{name} must be {wanted}, got {v}")
    return v


def as_path(path, name: str = "path"):
    """A file path (str or os.PathLike) as a pathlib.Path."""
    from pathlib import Path

    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {type(path).__name__}") from None
    if not text:
        raise ValueError(f"{name} must not be empty")
    return Path(text)


def is_symmetric(a: np.ndarray, rtol: float) -> bool:
    """Whether each matrix in the last two axes equals its transpose to rtol times its largest
    entry: Q diag(l) Q.T computed in floating point is symmetric only to rounding, and an
    entry-wise relative test would reject its near-zero entries."""
    scale = np.abs(a).max(axis=(-2, -1), keepdims=True)
    return bool((np.abs(a - np.swapaxes(a, -1, -2)) <= rtol * scale).all())


def as_array(a, name: str, dtype=None) -> np.ndarray:
    """``np.asarray(a, dtype)`` whose failures (ragged lists, things that are not numbers)
    name the argument."""
    try:
        return np.asarray(a, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"{name} must be an array of numbers: {exc}") from None


def real_array(a, name: str) -> np.ndarray:
    """``a`` as an array of real numbers (not converted yet), or a TypeError naming it.

    The one rule for arrays everywhere: values of the wrong kind (strings, objects, complex,
    booleans) are a TypeError; real numbers of the wrong shape, NaN or inf, or out of range
    are a ValueError.
    """
    arr = as_array(a, name)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr


def as_real_array(a, name: str, shape: tuple | None = None, *, expected: str | None = None,
                  nonnegative: bool = False) -> np.ndarray:  # fmt: skip
    """``a`` as a finite C-contiguous float64 array (a copy: never the caller's memory).

    ``shape``: a tuple whose None entries take any size, e.g. ``(None, 2)``; ``expected``:
    how a message says it (default: the tuple with ``n`` for None). Errors as
    :func:`real_array` says, checked in its order: kind, shape, NaN or inf, sign.
    """
    arr = real_array(a, name)
    if shape is not None and (
        arr.ndim != len(shape) or any(want is not None and got != want for got, want in zip(arr.shape, shape))
    ):
        sizes = ", ".join("n" if size is None else str(size) for size in shape)
        expected = expected or f"({sizes}{',' if len(shape) == 1 else ''})"
        raise ValueError(f"{name} must have shape {expected}, got {arr.shape}")
    arr = np.array(arr, dtype=np.float64, order="C", copy=True)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if nonnegative and (arr < 0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {float(arr.min())}")
    return arr


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be float64 or float32, got {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float64 or float32, got {dt}")
    return dt


# Set in a child made by os.fork() (threads.py): GNU OpenMP cannot run a parallel region in
# a child forked after the parent ran one (the child hangs), so there every call runs on one
# thread, whatever it asks for. Results do not depend on it.
def check_n_threads(n_threads) -> int:
    """None -> 0 (the library default, gensample.threads); else a positive integer."""
    return 0 if n_threads is None else check_positive_int(n_threads, "n_threads")


def available_memory() -> int | None:
    """Bytes this process may still fill: MemAvailable (Linux), else the physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_allocation(nbytes: int, what: str, hint: str = "") -> None:
    """Refuse, before trying, an allocation larger than the memory available now."""
    total = available_memory()
    if total is not None and nbytes > total:
        raise MemoryError(
            f"{what} needs {nbytes / 2**30:.1f} GiB, more than the {total / 2**30:.1f} GiB of memory available{hint}"
        )


def empty_output(n: int, dim: int, dtype: np.dtype, what: str = "n") -> np.ndarray:
    """An uninitialised (n, dim) C-contiguous output; refuses sizes beyond available memory.

    The kernels fill it from several threads, which also spreads the page faults.
    """
    check_allocation(
        n * dim * dtype.itemsize,
        f"{what}={n} with dim={dim} as {dtype}",
        "; draw it in chunks (sample(n, rng)[a:b] equals the rows a:b of any larger draw) "
        "or write it to disk with gs.generate",
    )
    return np.empty((n, dim), dtype=dtype)


def scan_values(arr: np.ndarray) -> tuple[bool, float]:
    """(every value finite, max |value|) of a C-contiguous float64 or float32 array: one
    pass in the core, on all threads, answering Ctrl-C (twin: reference/validation.py)."""
    return _core.validation.scan_values(arr, check_n_threads(None))


def check_squares(arr: np.ndarray, name: str, largest: float | None = None) -> None:
    """Refuse values whose squared distances overflow (the densities' and fields' math
    would turn them into NaN): |x| <= 1e150 in float64, 1e17 in float32. ``largest``:
    max |x| if already known."""
    limit = 1e150 if arr.dtype == np.float64 else 1e17
    if largest is None:
        largest = scan_values(arr)[1]
    if largest > limit:
        raise ValueError(
            f"{name} must have |values| <= {limit:g} as {arr.dtype} (squared distances of larger "
            f"ones overflow), got {largest:g}"
        )


def _check_finite(arr: np.ndarray, name: str, squares: bool) -> None:
    """No NaN or inf and, with ``squares``, check_squares: one pass for both."""
    finite, largest = scan_values(arr)
    if not finite:
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if squares:
        check_squares(arr, name, largest)


def as_points(x, dim: int, dtype=None, name: str = "x", squares: bool = False) -> np.ndarray:
    """Points as a C-contiguous (n, dim) float array, finite; a 1-D array is one point.

    float32 input stays float32 unless dtype says otherwise; anything else becomes float64.
    ``squares``: also bounded for squared distances (``check_squares``).
    """
    arr = real_array(x, name)
    if dtype is None:
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.ndim == 1 and dim == arr.shape[0]:
        arr = arr.reshape(1, dim)
    elif arr.ndim == 1 and dim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {np.shape(x)}")
    _check_finite(arr, name, squares)
    return arr


def as_vector(v, dim: int | None, name: str) -> np.ndarray:
    """A finite 1-D float64 vector (a scalar is broadcast when dim is given)."""
    arr = np.array(real_array(v, name), dtype=np.float64, order="C", copy=True)
    if arr.ndim == 0 and dim is not None:
        arr = np.full(dim, float(arr))
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(f"{name} must have length {dim}, got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def output_array(out, n: int, dim: int, dtype: np.dtype) -> np.ndarray:
    """``out`` checked to be a writable C-contiguous (n, dim) array of dtype, or a new one."""
    if out is None:
        return empty_output(n, dim, dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != (n, dim) or out.dtype != dtype:
        raise ValueError(f"out must have shape (n, dim) = {(n, dim)} and dtype {dtype}, got {out.shape} {out.dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writable")
    return out


def as_dataset(X, dtype=np.float64, name: str = "X", squares: bool = False) -> np.ndarray:
    """Training data as a C-contiguous (n, dim) float array, n, dim >= 1, finite.

    A 1-D array is n points in one dimension.
    """
    arr = real_array(X, name)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, dim), got shape {np.shape(X)}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sample and one dimension, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    _check_finite(arr, name, squares)
    return arr


def as_sample_weights(weights, n: int, name: str = "weights", data: str = "X") -> np.ndarray:
    """Non-negative finite weights, one per sample, normalised to sum to 1."""
    w = as_real_array(weights, name, (n,), expected=f"({n},): one value per row of {data}", nonnegative=True)
    if not (w > 0).any():
        raise ValueError(f"{name} must have a positive sum (got all zeros)")
    w = w / w.max()  # the sum of huge weights must not overflow
    return w / np.sum(w)


def require(module: str, what: str, extra: str):
    """Import an optional dependency, or raise an ImportError that names the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f'{what} needs {module.split(".")[0]}: pip install "gensample[{extra}]" '
            f'(from a source checkout: pip install ".[{extra}]")'
        ) from exc
