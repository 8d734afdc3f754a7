"""Input checks shared by the public API: done once, at the edge, before any work starts."""

from __future__ import annotations

import numbers
import os
import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def check_count(n, name: str = "n") -> int:
    """A non-negative integer count (Python or NumPy int, not bool or float)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {type(n).__name__} {n!r}")
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {n}")
    return n


def check_positive_int(value, name: str) -> int:
    """A positive integer (Python or NumPy int, not bool or float)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__} {value!r}")
    value = operator.index(value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be float64 or float32, got {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float64 or float32, got {dt}")
    return dt


# Set in a child made by os.fork() (threads.py): GNU OpenMP cannot run a parallel region in
# a child forked after the parent ran one (the child hangs), so there every call runs on one
# thread, whatever it asks for. Results do not depend on it.
FORKED_CHILD = False


def check_n_threads(n_threads) -> int:
    """None -> 0 (the library default); else a positive integer. 1 in a forked child."""
    n = 0 if n_threads is None else check_positive_int(n_threads, "n_threads")
    return 1 if FORKED_CHILD else n


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def empty_output(n: int, dim: int, dtype: np.dtype, what: str = "n") -> np.ndarray:
    """An uninitialised (n, dim) C-contiguous output; refuses sizes beyond physical memory.

    The kernels fill it from several threads, which also spreads the page faults.
    """
    nbytes = n * dim * dtype.itemsize
    total = _physical_memory()
    if total is not None and nbytes > total:
        raise MemoryError(
            f"{what}={n} with dim={dim} needs {nbytes / 2**30:.1f} GiB as {dtype}, more than this "
            f"machine's {total / 2**30:.1f} GiB of memory; draw it in chunks (rows of a larger draw "
            "are reproducible: sample(n, rng)[a:b] equals the rows a:b of any larger draw)"
        )
    return np.empty((n, dim), dtype=dtype)


def as_points(x, dim: int, dtype=None, name: str = "x") -> np.ndarray:
    """Points as a C-contiguous (n, dim) float array, finite; a 1-D array is one point.

    float32 input stays float32 unless dtype says otherwise; anything else becomes float64.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if dtype is None:
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.ndim == 1 and dim == arr.shape[0]:
        arr = arr.reshape(1, dim)
    elif arr.ndim == 1 and dim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {np.shape(x)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def as_vector(v, dim: int | None, name: str) -> np.ndarray:
    """A finite 1-D float64 vector (a scalar is broadcast when dim is given)."""
    arr = np.asarray(v)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numbers, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64, order="C", copy=True)
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
        raise ValueError(f"out must have shape {(n, dim)} and dtype {dtype}, got {out.shape} {out.dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writable")
    return out


def as_dataset(X, dtype=np.float64, name: str = "X") -> np.ndarray:
    """Training data as a C-contiguous (n, dim) float array, n, dim >= 1, finite.

    A 1-D array is n points in one dimension.
    """
    arr = np.asarray(X)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, dim), got shape {np.shape(X)}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sample and one dimension, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def as_sample_weights(weights, n: int, name: str = "weights") -> np.ndarray:
    """Non-negative finite weights, one per sample, normalised to sum to 1."""
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numbers, got dtype {w.dtype}")
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must have one value per sample ({n}), got shape {np.shape(weights)}")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative; weights[{int(np.argmin(w))}] = {float(w.min())}")
    total = float(np.sum(w))
    if not total > 0:
        raise ValueError(f"{name} must have a positive sum (got all zeros)")
    return w / total
