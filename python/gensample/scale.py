"""Synthetic data at scale: any number of rows of a model, in chunks, into memory or a file.

Row ``i`` of every gensample model is a pure function of (seed, i), so a draw can be cut
into chunks anywhere and each chunk computed on its own: ``generate`` writes them one at a
time (bounded memory), and an interrupted run resumes by computing only the chunks it has
not finished. The file is the same, byte for byte, whatever the chunk size, and the same
as :func:`gensample.dask.sample` computes on a cluster.

Output formats, chosen by the suffix of ``out``:

``.npy``
    NumPy's format. The header is written first, then each chunk straight into its place
    in the file through a memory map of that chunk alone (no copy, and only one chunk of
    the file is mapped at a time).
``.parquet``
    One column per dimension (``x0``, ``x1``, ...; ``lon``, ``lat`` for a GeoMask), one row
    group per chunk (needs ``pyarrow``: ``pip install "gensample[parquet]"``).
``.zarr``
    A Zarr store with one Zarr chunk per chunk (needs ``zarr``: ``pip install "gensample[dask]"``).

While it runs, the output lives in ``<out>.partial/`` beside the target: the data, a
``state.json`` with the arguments and a ``done.log`` of finished chunks. On success it is
renamed to ``out`` (so ``out`` is complete or absent) and the folder removed. A killed or
interrupted run leaves the folder; ``resume=True`` with the same arguments carries on from
it (``rng=None`` then reuses the stream of the first run).

One run at a time writes an output: a run holds an exclusive lock on ``<out>.lock`` from
start to finish, and a second run (another process, or another thread) fails at once with
:class:`OutputInUseError` naming the first. The lock dies with its process, so a killed
run never blocks the next. An existing ``.zarr`` store is replaced in one atomic swap
where the system can (Linux); readers see the old store or the new one, never neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from ._files import OutputInUseError, OutputLock, exchange, fsync, write_atomic
from ._formats import FORMATS, WRITERS, inspect, labels_path, read, read_labels  # reading back: this module's API
from ._progress import Progress
from ._typing import Count, DTypeLike, RngLike
from ._validation import (
    as_path,
    check_bool,
    check_count,
    check_float_dtype,
    check_n_threads,
    check_positive_int,
    empty_output,
)
from .distribution import Distribution
from .random import key_from_rng

__all__ = ["FORMATS", "OutputInUseError", "default_chunk", "generate", "inspect", "read", "read_labels"]

_CHUNK_BYTES = 32 << 20  # default chunk: 32 MiB of output
_STATE_VERSION = 1


def default_chunk(dim: int, dtype) -> int:
    """Rows per chunk by default: 32 MiB of output."""
    return max(1, _CHUNK_BYTES // (dim * np.dtype(dtype).itemsize))


def check_model(dist) -> Distribution:
    """``dist`` as a model whose rows can be drawn range by range (``_sample_rows``)."""
    if not isinstance(dist, Distribution):
        raise TypeError(f"dist must be a gensample Distribution, got {type(dist).__name__}")
    if type(dist)._sample_rows is Distribution._sample_rows:
        dist._sample_rows(0, 0, np.empty((0, 0)), 0)  # raises the TypeError that says what to define
    return dist


def label_values(dist) -> np.ndarray | None:
    """The classes of a labelled model (whose rows come with labels), else None."""
    from .conditional import Conditional

    return dist.classes_ if isinstance(dist, Conditional) else None


def draw(dist, key: int, r0: int, out: np.ndarray, n_threads: int, labelled: bool) -> np.ndarray | None:
    """Rows ``r0 ..`` of ``dist`` into ``out``; with ``labelled`` their label codes, returned."""
    if not labelled:
        dist._sample_rows(key, r0, out, n_threads)
        return None
    codes = np.empty(len(out), dtype=np.int64)
    dist._sample_rows(key, r0, out, n_threads, codes)
    return codes


def column_names(dist, dim: int) -> list[str]:
    """Column names for table formats: the model's own (``lon``, ``lat``), else x0, x1, ..."""
    names = getattr(dist, "column_names", None)
    return list(names) if names is not None and len(names) == dim else [f"x{j}" for j in range(dim)]


def fingerprint(dist) -> str:
    """A digest of the model (its model-file contents; else its type and repr): a resumed run
    must draw from the same model."""
    from .io import _node

    h = hashlib.sha256()
    arrays: dict = {}
    try:
        node = _node(dist, "model", arrays)  # the model file's tree, without the writer's version
    except TypeError:
        h.update(f"{type(dist).__qualname__}:{dist!r}".encode())
        return h.hexdigest()
    h.update(json.dumps(node, sort_keys=True).encode())
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def generate(
    dist,
    n: Count,
    rng: RngLike = None,
    out=None,
    chunk=None,
    dtype: DTypeLike = np.float64,
    progress=True,
    n_threads: int | None = None,
    overwrite=False,
    resume=False,
):
    """Draw ``n`` rows of ``dist`` in chunks: an ``(n, dim)`` array, or a file at ``out``.

    Parameters
    ----------
    dist : Distribution
        Any gensample model (regions, KDE, GMM, Flow, datasets, loaded model files).
    n : int
        Rows to draw.
    rng : seed, SeedSequence, Generator or None
        As for ``sample``: the result equals ``dist.sample(n, rng)`` row for row.
    out : None or path
        None returns the array; a path ending in ``.npy``, ``.parquet`` or ``.zarr`` writes
        that format (module docstring) and returns the path. A labelled model
        (:class:`gensample.Conditional`) gives ``(X, labels)`` in memory, and its files hold
        the labels beside the rows (a ``label`` column in parquet; ``<name>.labels.npy`` or
        ``<name>.labels.zarr`` beside an ``.npy`` or a ``.zarr``; :func:`read_labels` reads them).
    chunk : int, optional
        Rows per chunk (default: 32 MiB of output). Memory beyond the result is one chunk;
        the output does not depend on it.
    dtype : float64 or float32
    progress : bool
        Show progress on stderr: a tqdm bar on a terminal (when tqdm is installed), else a
        line every 10 s, so that batch logs show it too.
    n_threads : int, optional
        Threads for each chunk (default: :func:`gensample.get_num_threads`).
    overwrite : bool
        Replace an existing ``out`` (only once the new file is complete). A run killed while it
        swaps a ``.zarr`` store leaves the old one whole in ``<out>.partial/replaced.zarr``;
        ``resume=True`` finishes the swap.
    resume : bool
        Carry on from ``<out>.partial/`` left by an interrupted run with the same arguments,
        computing only the chunks it had not finished; without it a leftover is discarded.

    >>> import gensample as gs, numpy as np, tempfile, os
    >>> box = gs.Box([0, 0], [1, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "box.npy")
    >>> gs.generate(box, 10_000, rng=0, out=path, chunk=3000).name
    'box.npy'
    >>> bool((np.load(path) == box.sample(10_000, rng=0)).all())
    True
    """
    dist = check_model(dist)
    n = check_count(n)
    dtype = check_float_dtype(dtype)
    threads = check_n_threads(n_threads)
    dim = dist.dim
    classes = label_values(dist)
    chunk = default_chunk(dim, dtype) if chunk is None else check_positive_int(chunk, "chunk")
    progress, overwrite, resume = (
        check_bool(v, k) for v, k in ((progress, "progress"), (overwrite, "overwrite"), (resume, "resume"))
    )
    if out is None:
        result = empty_output(n, dim, dtype)
        labels = None if classes is None else np.empty(n, dtype=np.int64)
        key = key_from_rng(rng)
        with Progress(n, progress, "sampling") as bar:
            for r0 in range(0, n, chunk):
                part = result[r0 : r0 + chunk]
                codes = draw(dist, key, r0, part, threads, labels is not None)
                if labels is not None and codes is not None:
                    labels[r0 : r0 + len(part)] = codes
                bar.update(len(part))
        return result if classes is None else (result, classes[labels])
    job = _Job.open(as_path(out, "out"), dist, n, dim, dtype, chunk, rng, overwrite, resume)
    with job.lock, Progress(n, progress, job.final.name) as bar:
        bar.update(sum(job.rows(i)[1] - job.rows(i)[0] for i in job.done))
        for i in job.todo():
            r0, r1 = job.rows(i)
            buf = job.writer.buffer(r0, r1)
            codes = draw(dist, job.key, r0, buf, threads, classes is not None)
            job.writer.commit(i, r0, buf, codes)
            del buf  # an npy chunk's memory map closes here
            job.mark_done(i)
            bar.update(r1 - r0)
        return job.finish()


class _Job:
    """One file being generated: its lock, the partial folder, its state and its writer."""

    def __init__(self, final: Path, partial: Path, state: dict, writer, done: set, lock: OutputLock):
        self.final, self.partial, self.state, self.writer, self.done = final, partial, state, writer, done
        self.key, self.n, self.chunk = state["key"], state["n"], state["chunk"]
        self.lock = lock

    @classmethod
    def open(cls, final: Path, dist, n: int, dim, dtype, chunk, rng, overwrite, resume) -> _Job:
        suffix = final.suffix.lower()
        if suffix not in FORMATS:
            raise ValueError(f"out must end in one of {', '.join(FORMATS)}, got {str(final)!r}")
        writer_cls = WRITERS[suffix]
        writer_cls.check_available()
        parent = final.parent
        if not parent.is_dir():
            raise FileNotFoundError(f"cannot write {final}: folder {parent} does not exist")
        lock = OutputLock(final.with_name(final.name + ".lock"), str(final))
        try:
            return cls._open_locked(final, writer_cls, dist, n, dim, dtype, chunk, rng, overwrite, resume, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, final, writer_cls, dist, n, dim, dtype, chunk, rng, overwrite, resume, lock) -> _Job:
        suffix = final.suffix.lower()
        if final.exists() and not overwrite:
            raise FileExistsError(f"{final} exists: pass overwrite=True to replace it")
        parent = final.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write {final}: folder {parent} is not writable")
        _check_disk_space(parent, n * dim * dtype.itemsize, final)
        partial = final.with_name(final.name + ".partial")
        state = {
            "format": "gensample-partial",
            "version": _STATE_VERSION,
            "out": suffix,
            "n": n,
            "dim": dim,
            "dtype": dtype.name,
            "chunk": chunk,
            "model": fingerprint(dist),
            "columns": column_names(dist, dim),
        }
        classes = label_values(dist)
        if classes is not None:
            state["labels"] = {"classes": classes.tolist(), "dtype": classes.dtype.str}
            if final.suffix.lower() != ".parquet" and labels_path(final).exists() and not overwrite:
                raise FileExistsError(f"{labels_path(final)} exists: pass overwrite=True to replace it")
        if resume and (partial / "state.json").exists():
            old = cls._read_state(partial)
            state["key"] = old.get("key") if rng is None else key_from_rng(rng)
            diff = [k for k in state if old.get(k) != state[k]]
            if diff:
                raise ValueError(
                    f"cannot resume {final}: the run in {partial} had other arguments ({', '.join(diff)} "
                    "differ); pass resume=False to start over"
                )
            writer = writer_cls(partial, state)
            if writer.intact():
                done = {i for i in cls._read_done(partial) if writer.has_chunk(i)}  # a removed chunk: again
                return cls(final, partial, state, writer, done, lock)
        state.setdefault("key", key_from_rng(rng))
        if partial.exists():
            cls._warn_discarded(partial, state, resume, seeded=rng is not None)
            shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
        partial.mkdir()
        write_atomic(partial / "state.json", json.dumps(state, indent=1).encode())
        writer = writer_cls(partial, state)
        writer.create(_metadata(dist, state))
        (partial / "done.log").touch()
        return cls(final, partial, state, writer, set(), lock)

    @classmethod
    def _warn_discarded(cls, partial: Path, state: dict, resume: bool, seeded: bool) -> None:
        """Starting over throws away the finished chunks of an earlier run: say so (an
        unseeded run counts as the same when all else is: resume would reuse its stream)."""
        if resume or not (partial / "state.json").exists():
            return
        done = len(cls._read_done(partial))
        if done == 0:
            return
        try:
            old = json.loads((partial / "state.json").read_text())
        except (OSError, ValueError):
            old = {}
        same = all(old.get(k) == v for k, v in state.items() if k != "key" or seeded)
        what = "the same arguments" if same else "other arguments"
        keep = "; resume=True would have kept them" if same else ""
        warnings.warn(
            f"discarding {done} finished chunks of an earlier unfinished run with {what} in {partial}{keep}",
            UserWarning,
            stacklevel=5,
        )

    @staticmethod
    def _read_state(partial: Path) -> dict:
        try:
            state = json.loads((partial / "state.json").read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"cannot resume: {partial / 'state.json'} is unreadable ({exc}); pass resume=False to start over"
            ) from exc
        if not isinstance(state, dict) or state.get("format") != "gensample-partial":
            raise ValueError(f"cannot resume: {partial} is not a gensample partial output")
        return state

    @staticmethod
    def _read_done(partial: Path) -> set:
        """Chunks finished, from whole lines only (a line cut short by a kill does not count)."""
        try:
            text = (partial / "done.log").read_text()
        except FileNotFoundError:
            return set()
        lines = text.split("\n")[:-1]  # the last piece has no newline: unfinished
        return {int(v) for v in lines if v.isdigit()}

    def rows(self, i: int) -> tuple[int, int]:
        return i * self.chunk, min(self.n, (i + 1) * self.chunk)

    def todo(self) -> list[int]:
        n_chunks = -(-self.n // self.chunk)
        return [i for i in range(n_chunks) if i not in self.done]

    def mark_done(self, i: int) -> None:
        with open(self.partial / "done.log", "a") as f:
            f.write(f"{i}\n")
        self.done.add(i)

    def finish(self) -> Path:
        data = self.writer.finish()
        fsync(data)
        labels = self.writer.finish_labels()
        if labels is not None:  # first: the rows at final mean their labels are there too
            self._place(labels, labels_path(self.final), "replaced.labels.zarr")
        self._place(data, self.final, "replaced.zarr")
        fsync(self.final.parent)
        shutil.rmtree(self.partial)  # with the replaced stores
        return self.final

    def _place(self, data: Path, final: Path, aside: str) -> None:
        if final.suffix.lower() == ".zarr" and final.is_dir() and not final.is_symlink():
            # A folder cannot be renamed over an existing one. Swap the two in one step where the
            # system can; else move the old one aside whole first, so a kill never leaves a
            # half-deleted store at final (resume=True finishes that swap).
            if not exchange(data, final):
                os.replace(final, self.partial / aside)
                os.replace(data, final)
        else:
            os.replace(data, final)


def _metadata(dist, state) -> dict:
    from . import __version__

    return {
        "gensample": __version__,
        "model": repr(dist),
        "rows": state["n"],
        "dim": state["dim"],
        "dtype": state["dtype"],
        "key": state["key"],
    }


def _check_disk_space(folder: Path, nbytes: int, final: Path) -> None:
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise OSError(
            f"cannot write {final}: it needs {nbytes / 2**30:.2f} GiB and {folder} has {free / 2**30:.2f} GiB free"
        )
