"""README.md's tour runs as written: every ```python block, top to bottom, in one namespace,
as a script would run them (``__name__ == "__main__"``), in a fresh folder."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of each ```python fence."""
    blocks, lines, start, code = [], text.splitlines(), None, []
    for i, line in enumerate(lines, 1):
        if start is None and re.fullmatch(r"```python\s*", line):
            start, code = i + 1, []
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(code)))
            start = None
        elif start is not None:
            code.append(line)
    assert start is None, f"README.md: the block from line {start} is not closed"
    return blocks


def test_the_tour_runs_as_written(tmp_path, monkeypatch):
    pytest.importorskip("global_land_mask", reason="the tour loads the world's land (datasets extra, in test)")
    pytest.importorskip("distributed", reason="the tour starts a LocalCluster (dask extra, in test)")
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for line, code in blocks:
        try:
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"README.md, the block from line {line} failed: {exc!r}") from exc
    assert {"land.npy", "gmm.parquet", "kde.zarr", "gmm.npz", "gmm-dask.zarr"} <= set(os.listdir(tmp_path))


def test_blocks_are_found():
    blocks = python_blocks("text\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = 2\nc = 3\n```\n")
    assert blocks == [(3, "a = 1"), (9, "b = 2\nc = 3")]
