"""The samples files ``gs.generate`` writes and the command line reads back: ``.npy``,
``.parquet`` and ``.zarr`` (the formats are described in :mod:`gensample.scale`).

Writers fill the ``<out>.partial/`` folder of a run one chunk at a time (``create`` once,
``write`` per chunk, ``finish`` to the final path); ``inspect`` and ``read`` open a finished
file.
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


class _NpyWriter:
    """``data.npy``: the header, then each chunk filled in place through its own memory map."""

    _flush: Any = None  # the background flush in flight (a Future), if any

    def __init__(self, partial: Path, state: dict):
        self.path = partial / "data.npy"
        self.dtype = np.dtype(state["dtype"])
        self.n, self.dim = state["n"], state["dim"]
        self.row_bytes = self.dim * self.dtype.itemsize

    @staticmethod
    def check_available() -> None:
        pass

    def _header(self) -> dict:
        return {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.n, self.dim)}

    def create(self, metadata: dict) -> None:
        with open(self.path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, self._header())  # what np.save writes for this shape
            f.truncate(f.tell() + self.n * self.row_bytes)  # sparse: blocks appear as chunks land

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

    def commit(self, i: int, r0: int, buf: np.ndarray) -> None:
        """The rows are in the file's pages already: start writing them to the disk in the
        background (one flush at a time), so the final flush has little left to do."""
        if self._flush is None or self._flush.done():
            if not hasattr(self, "_pool"):
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(1, thread_name_prefix="gensample-flush")
            self._flush = self._pool.submit(fsync, self.path)

    def finish(self) -> Path:
        if hasattr(self, "_pool"):
            self._pool.shutdown(wait=True)
            self._flush.result()
        return self.path


class _ParquetWriter:
    """One ``part-<i>.parquet`` per chunk (so a killed run keeps what it wrote), joined at
    the end into one file with one row group per chunk."""

    def __init__(self, partial: Path, state: dict):
        self.partial, self.state = partial, state
        self.dtype = np.dtype(state["dtype"])

    @staticmethod
    def check_available() -> None:
        require("pyarrow.parquet", "writing .parquet", "parquet")

    def _part(self, i: int) -> Path:
        return self.partial / f"part-{i:09d}.parquet"

    def _schema(self, metadata=None):
        import pyarrow as pa

        kind = pa.float32() if self.dtype == np.float32 else pa.float64()
        meta = None if metadata is None else {b"gensample": json.dumps(metadata).encode()}
        return pa.schema([(c, kind) for c in self.state["columns"]], metadata=meta)

    def create(self, metadata: dict) -> None:
        write_atomic(self.partial / "metadata.json", json.dumps(metadata).encode())

    def intact(self) -> bool:
        return (self.partial / "metadata.json").exists()

    def has_chunk(self, i: int) -> bool:
        return self._part(i).exists()

    def buffer(self, r0: int, r1: int) -> np.ndarray:
        return np.empty((r1 - r0, self.state["dim"]), dtype=self.dtype)

    def commit(self, i: int, r0: int, buf: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_arrays(
            [pa.array(np.ascontiguousarray(buf[:, j])) for j in range(buf.shape[1])], schema=self._schema()
        )
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


class _ZarrWriter:
    """A Zarr array with one Zarr chunk per chunk."""

    def __init__(self, partial: Path, state: dict):
        self.path = partial / "data.zarr"
        self.state = state

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

    def intact(self) -> bool:
        return (self.path / "zarr.json").exists()

    def has_chunk(self, i: int) -> bool:
        return (self.path / "c" / str(i) / "0").exists()  # Zarr 3's default chunk key

    def buffer(self, r0: int, r1: int) -> np.ndarray:
        return np.empty((r1 - r0, self.state["dim"]), dtype=self.state["dtype"])

    def commit(self, i: int, r0: int, buf: np.ndarray) -> None:
        import zarr

        if not hasattr(self, "array"):
            self.array = zarr.open_array(store=str(self.path), mode="r+", config={"write_empty_chunks": True})
        self.array[r0 : r0 + len(buf)] = buf

    def finish(self) -> Path:
        return self.path


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
            return {"format": "npy", "rows": arr.shape[0], "dim": arr.shape[1], "dtype": arr.dtype.name}
        if fmt == ".parquet":
            import pyarrow.parquet as pq

            f = pq.ParquetFile(path)
            meta = f.schema_arrow.metadata or {}
            extra = json.loads(meta[b"gensample"]) if b"gensample" in meta else {}
            kinds = {str(t) for t in f.schema_arrow.types}
            return {
                "format": "parquet",
                "rows": f.metadata.num_rows,
                "dim": len(f.schema_arrow.names),
                "dtype": ", ".join(sorted(kinds)),
                "columns": f.schema_arrow.names,
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
