"""The samples files ``gs.generate`` writes and the command line reads back: ``.npy``,
``.parquet`` and ``.zarr`` (the formats are described in :mod:`gensample.scale`).

Writers fill the ``<out>.partial/`` folder of a run one chunk at a time (``create`` once,
``commit`` per chunk, ``finish`` to the final path); ``inspect`` and ``read`` open a finished
file. A labelled model's labels (:class:`gensample.Conditional`) go beside the rows: a
``label`` column in parquet, a second file ``<name>.labels.npy`` or ``<name>.labels.zarr``
(:func:`labels_path`) beside an ``.npy`` or a ``.zarr``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._files import fsync, write_atomic
from ._validation import check_count, require

FORMATS = (".npy", ".parquet", ".zarr")
LABEL_COLUMN = "label"


def labels_path(path: Path) -> Path:
    """Where the labels of the samples file ``path`` (``.npy`` or ``.zarr``) live."""
    return path.with_name(f"{path.stem}.labels{path.suffix}")


class _Labels:
    """A run's labels as ``state.json`` records them: the class values in code order. The
    samplers give codes; files hold the values (strings in zarr as codes, with the classes
    in the array's attributes: zarr 3 has no stable string type)."""

    def __init__(self, state: dict):
        spec = state.get("labels")
        self.values = None if spec is None else np.asarray(spec["classes"], dtype=np.dtype(spec["dtype"]))

    def __bool__(self) -> bool:
        return self.values is not None

    def of(self, codes: np.ndarray) -> np.ndarray:
        assert self.values is not None
        return self.values[codes]

    @property
    def dtype(self) -> np.dtype:
        assert self.values is not None
        return self.values.dtype


class _NpyWriter:
    """``data.npy``: the header, then each chunk filled in place through its own memory map."""

    _flush: Any = None  # the background flush in flight (a Future), if any

    def __init__(self, partial: Path, state: dict):
        self.path = partial / "data.npy"
        self.dtype = np.dtype(state["dtype"])
        self.n, self.dim = state["n"], state["dim"]
        self.row_bytes = self.dim * self.dtype.itemsize
        self.labels = _Labels(state)
        self.labels_path = partial / "labels.npy"

    @staticmethod
    def check_available() -> None:
        pass

    def _header(self) -> dict:
        return {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.n, self.dim)}

    def create(self, metadata: dict) -> None:
        with open(self.path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, self._header())  # what np.save writes for this shape
            f.truncate(f.tell() + self.n * self.row_bytes)  # sparse: blocks appear as chunks land
        if self.labels:
            np.lib.format.open_memmap(self.labels_path, mode="w+", dtype=self.labels.dtype, shape=(self.n,))

    def _offset(self) -> int:
        with open(self.path, "rb") as f:
            np.lib.format.read_magic(f)
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            if shape != (self.n, self.dim) or fortran or dtype != self.dtype:
                raise ValueError(f"{self.path} holds another array: {shape} {dtype}")
            return f.tell()

    def intact(self) -> bool:
        """The file is there, with a header for this shape and room for every row."""
        try:
            if self.labels and np.load(self.labels_path, mmap_mode="r").shape != (self.n,):
                return False
            return self.path.stat().st_size == self._offset() + self.n * self.row_bytes
        except (OSError, ValueError):
            return False

    def has_chunk(self, i: int) -> bool:
        return True  # the file holds every chunk's place; done.log says which are filled

    def buffer(self, r0: int, r1: int) -> np.ndarray:
        if not hasattr(self, "offset"):
            self.offset = self._offset()
        return np.memmap(
            self.path, dtype=self.dtype, mode="r+", offset=self.offset + r0 * self.row_bytes, shape=(r1 - r0, self.dim)
        )

    def commit(self, i: int, r0: int, buf: np.ndarray, codes=None) -> None:
        """The rows are in the file's pages already: start writing them to the disk in the
        background (one flush at a time), so the final flush has little left to do."""
        if self.labels:
            mm = np.load(self.labels_path, mmap_mode="r+")
            mm[r0 : r0 + len(buf)] = self.labels.of(codes)
            mm.flush()
            del mm
        if self._flush is None or self._flush.done():
            if not hasattr(self, "_pool"):
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(1, thread_name_prefix="gensample-flush")
            self._flush = self._pool.submit(fsync, self.path)

    def finish(self) -> Path:
        if hasattr(self, "_pool"):
            self._pool.shutdown(wait=True)
            self._flush.result()
        if self.labels:
            fsync(self.labels_path)
        return self.path

    def finish_labels(self) -> Path | None:
        return self.labels_path if self.labels else None


class _ParquetWriter:
    """One ``part-<i>.parquet`` per chunk (so a killed run keeps what it wrote), joined at
    the end into one file with one row group per chunk."""

    def __init__(self, partial: Path, state: dict):
        self.partial, self.state = partial, state
        self.dtype = np.dtype(state["dtype"])
        self.labels = _Labels(state)

    @staticmethod
    def check_available() -> None:
        require("pyarrow.parquet", "writing .parquet", "parquet")

    def _part(self, i: int) -> Path:
        return self.partial / f"part-{i:09d}.parquet"

    def _schema(self, metadata=None):
        import pyarrow as pa

        kind = pa.float32() if self.dtype == np.float32 else pa.float64()
        meta = None if metadata is None else {b"gensample": json.dumps(metadata).encode()}
        fields = [(c, kind) for c in self.state["columns"]]
        if self.labels:
            fields.append((LABEL_COLUMN, pa.from_numpy_dtype(self.labels.dtype)))
        return pa.schema(fields, metadata=meta)

    def create(self, metadata: dict) -> None:
        write_atomic(self.partial / "metadata.json", json.dumps(metadata).encode())

    def intact(self) -> bool:
        return (self.partial / "metadata.json").exists()

    def has_chunk(self, i: int) -> bool:
        return self._part(i).exists()

    def buffer(self, r0: int, r1: int) -> np.ndarray:
        return np.empty((r1 - r0, self.state["dim"]), dtype=self.dtype)

    def commit(self, i: int, r0: int, buf: np.ndarray, codes=None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = [pa.array(np.ascontiguousarray(buf[:, j])) for j in range(buf.shape[1])]
        if self.labels:
            columns.append(pa.array(self.labels.of(codes)))
        table = pa.Table.from_arrays(columns, schema=self._schema())
        tmp = self._part(i).with_suffix(".tmp")
        pq.write_table(table, tmp, compression="none", use_dictionary=False)  # floats: a dictionary only costs
        os.replace(tmp, self._part(i))

    def finish(self) -> Path:
        import pyarrow.parquet as pq

        metadata = json.loads((self.partial / "metadata.json").read_text())
        path = self.partial / "data.parquet"
        n_chunks = -(-self.state["n"] // self.state["chunk"])
        with pq.ParquetWriter(path, self._schema(metadata), use_dictionary=False) as writer:
            for i in range(n_chunks):
                table = pq.read_table(self._part(i))
                writer.write_table(
                    table.replace_schema_metadata(writer.schema.metadata), row_group_size=max(1, len(table))
                )
                self._part(i).unlink()
        return path

    def finish_labels(self) -> Path | None:
        return None  # a column of the file


class _ZarrWriter:
    """A Zarr array with one Zarr chunk per chunk."""

    def __init__(self, partial: Path, state: dict):
        self.path = partial / "data.zarr"
        self.state = state
        self.labels = _Labels(state)
        self.labels_path = partial / "labels.zarr"
        self.label_codes = self.labels and self.labels.dtype.kind not in "biuf"  # strings: codes + attributes

    @staticmethod
    def check_available() -> None:
        require("zarr", "writing .zarr", "dask")

    def create(self, metadata: dict) -> None:
        import zarr

        s = self.state
        arr = zarr.create_array(
            store=str(self.path),
            shape=(s["n"], s["dim"]),
            chunks=(s["chunk"], s["dim"]),
            dtype=s["dtype"],
            zarr_format=3,
            config={"write_empty_chunks": True},  # type: ignore[arg-type]  # a TypedDict in zarr's stubs
        )
        arr.attrs["gensample"] = metadata
        if self.labels:
            assert self.labels.values is not None
            labels = zarr.create_array(
                store=str(self.labels_path),
                shape=(s["n"],),
                chunks=(s["chunk"],),
                dtype=np.int64 if self.label_codes else self.labels.dtype,
                zarr_format=3,
                config={"write_empty_chunks": True},  # type: ignore[arg-type]
            )
            labels.attrs["gensample"] = metadata
            if self.label_codes:
                labels.attrs["classes"] = self.labels.values.tolist()

    def intact(self) -> bool:
        return (self.path / "zarr.json").exists() and (not self.labels or (self.labels_path / "zarr.json").exists())

    def has_chunk(self, i: int) -> bool:
        chunk = (self.path / "c" / str(i) / "0").exists()  # Zarr 3's default chunk key
        return chunk and (not self.labels or (self.labels_path / "c" / str(i)).exists())

    def buffer(self, r0: int, r1: int) -> np.ndarray:
        return np.empty((r1 - r0, self.state["dim"]), dtype=self.state["dtype"])

    def commit(self, i: int, r0: int, buf: np.ndarray, codes=None) -> None:
        import zarr

        if not hasattr(self, "array"):
            self.array = zarr.open_array(store=str(self.path), mode="r+", config={"write_empty_chunks": True})
        if self.labels:  # first: a chunk counts as there once its rows are
            labels = zarr.open_array(store=str(self.labels_path), mode="r+", config={"write_empty_chunks": True})
            labels[r0 : r0 + len(buf)] = codes if self.label_codes else self.labels.of(codes)
        self.array[r0 : r0 + len(buf)] = buf

    def finish(self) -> Path:
        return self.path

    def finish_labels(self) -> Path | None:
        return self.labels_path if self.labels else None


WRITERS: dict[str, Any] = {".npy": _NpyWriter, ".parquet": _ParquetWriter, ".zarr": _ZarrWriter}

# ---- reading samples files back (the command line's fit, info and plot) -----------------


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: a samples file ends in one of {', '.join(FORMATS)}")
    return suffix


def inspect(path) -> dict:
    """Format, rows, columns, dtype and gensample's metadata of a samples file, without
    reading its data."""
    path = Path(os.fspath(path))
    fmt = _format_of(path)
    if fmt == ".parquet":
        require("pyarrow.parquet", "reading .parquet", "parquet")
    elif fmt == ".zarr":
        require("zarr", "reading .zarr", "dask")
    try:
        if fmt == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if isinstance(arr, np.lib.npyio.NpzFile):
                arr.close()
                raise ValueError("it is an .npz archive (a model file?) named .npy")
            if arr.ndim != 2:
                raise ValueError(f"expected a 2-D array, got shape {arr.shape}")
            return {
                "format": "npy",
                "rows": arr.shape[0],
                "dim": arr.shape[1],
                "dtype": arr.dtype.name,
                "labels": labels_path(path).exists(),
            }
        if fmt == ".parquet":
            import pyarrow.parquet as pq

            f = pq.ParquetFile(path)
            meta = f.schema_arrow.metadata or {}
            extra = json.loads(meta[b"gensample"]) if b"gensample" in meta else {}
            names = [c for c in f.schema_arrow.names if c != LABEL_COLUMN]
            kinds = {str(f.schema_arrow.field(c).type) for c in names}
            return {
                "format": "parquet",
                "rows": f.metadata.num_rows,
                "dim": len(names),
                "dtype": ", ".join(sorted(kinds)),
                "columns": names,
                "labels": LABEL_COLUMN in f.schema_arrow.names,
                "row_groups": f.num_row_groups,
                "metadata": extra,
            }
        import zarr

        arr = zarr.open_array(store=str(path), mode="r")
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D array, got shape {arr.shape}")
        return {
            "format": "zarr",
            "rows": arr.shape[0],
            "dim": arr.shape[1],
            "dtype": str(arr.dtype),
            "chunks": arr.chunks,
            "labels": labels_path(path).exists(),
            "metadata": dict(meta) if isinstance(meta := arr.attrs.get("gensample", {}), dict) else {},
        }
    except ImportError:
        raise
    except Exception as exc:  # a reader's own error types: one clear message
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable {fmt[1:]} samples file: {exc}") from exc


def read(path, max_rows=None) -> np.ndarray:
    """The rows of a samples file (``.npy``, ``.parquet``, ``.zarr``) as an (n, d) float array;
    the first ``max_rows`` of them when given."""
    path = Path(os.fspath(path))
    info = inspect(path)
    stop = info["rows"] if max_rows is None else min(info["rows"], check_count(max_rows, "max_rows"))
    if info["format"] == "npy":
        arr = np.asarray(np.load(path, mmap_mode="r", allow_pickle=False)[:stop])
    elif info["format"] == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path).slice(0, stop)
        table = table.drop_columns([LABEL_COLUMN]) if LABEL_COLUMN in table.column_names else table
        arr = (
            np.column_stack([table.column(c).to_numpy() for c in table.column_names])
            if table.num_columns
            else np.empty((stop, 0))
        )
    else:
        import zarr

        arr = np.asarray(zarr.open_array(store=str(path), mode="r")[:stop])
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{path} holds {arr.dtype} values, not numbers")
    return arr


def read_labels(path, max_rows=None) -> np.ndarray:
    """The labels written beside the rows of a samples file (module docstring), as the
    class values; the first ``max_rows`` of them when given."""
    path = Path(os.fspath(path))
    info = inspect(path)
    if not info["labels"]:
        raise ValueError(f"{path} has no labels: only a labelled model's samples (gs.Conditional) have them")
    stop = info["rows"] if max_rows is None else min(info["rows"], check_count(max_rows, "max_rows"))
    if info["format"] == "parquet":
        import pyarrow.parquet as pq

        values = pq.read_table(path, columns=[LABEL_COLUMN]).column(0).slice(0, stop).to_numpy(zero_copy_only=False)
        return values.astype(str) if values.dtype == object else values
    if info["format"] == "npy":
        return np.asarray(np.load(labels_path(path), mmap_mode="r", allow_pickle=False)[:stop])
    import zarr

    arr = zarr.open_array(store=str(labels_path(path)), mode="r")
    values = np.asarray(arr[:stop])
    classes = arr.attrs.get("classes")
    return np.asarray(classes)[values] if classes is not None else values
