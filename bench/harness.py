"""Side-by-side benchmarks: gensample and its peers in one process, reported as ratios.

Each case times the peer and gensample alternately (so drift on a shared machine hits both),
keeps the best of `repeats` runs of each, and reports peer_time / gensample_time.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class Case:
    name: str
    gensample: Callable[[], object]
    peer: Callable[[], object]
    peer_name: str
    work: float  # items produced per call, for throughput
    peer_work: float | None = None  # when the peer is too slow for the full size: ratio per item
    note: Callable[[], str] | None = None  # after timing: e.g. the accuracy of each side


def collect(*builders) -> list:
    """The cases of each builder (a callable returning a list of Case). A builder whose peer
    is not installed is skipped with a line saying which module it needs, so a run without
    one optional peer still measures the others."""
    cases = []
    for build in builders:
        try:
            cases += build()
        except ModuleNotFoundError as exc:
            name = getattr(build, "__name__", None) or getattr(getattr(build, "func", None), "__name__", str(build))
            print(f'skipped {name}: its peer needs {exc.name}, which is not installed (pip install ".[bench]")')
    return cases


def optional(module: str):
    """A peer's module, or None with a line saying it is skipped."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        print(f'skipped the {module} peers: {module} is not installed (pip install ".[bench]")')
        return None


def machine() -> dict:
    import gensample
    from gensample import _core

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gensample": gensample.__version__,
        "gensample_threads": gensample.get_num_threads(),
        "gensample_simd": _core.random.simd_isa(),
        "openmp": _core.threads.have_openmp(),
        "peers": peer_versions(),
    }


PEERS = (
    "scipy",
    "scikit-learn",
    "torch",
    "KDEpy",
    "torchdiffeq",
    "flow_matching",
    "geopandas",
    "shapely",
    "global-land-mask",
    "dask",
    "pyarrow",
    "zarr",
)


def peer_versions() -> dict:
    """The installed version of every peer a suite may run (absent ones left out)."""
    from importlib import metadata

    found = {}
    for name in PEERS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def timed(fn) -> float:
    """Seconds one call of fn takes, after a garbage collection."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    del result
    return elapsed


def run(suite: str, cases: list[Case], repeats: int = 3, out_dir: Path | None = None) -> dict:
    info = machine()
    print(
        f"# {suite} on {info['cpu']} ({info['cores']} cores), gensample {info['gensample']} "
        f"[{info['gensample_simd']}, {info['gensample_threads']} threads], numpy {info['numpy']}"
    )
    header = f"{'case':<34} {'peer':<28} {'peer s':>8} {'gs s':>8} {'ratio':>7} {'gs items/s':>11}"
    print(header)
    print("-" * len(header))
    rows = []
    for case in cases:
        case.gensample(), case.peer()  # warm up (imports, first-touch of code pages)
        peer_t, gs_t = [], []
        for _ in range(repeats):
            peer_t.append(timed(case.peer))
            gs_t.append(timed(case.gensample))
        p, g = min(peer_t), min(gs_t)
        peer_work = case.peer_work or case.work
        ratio = (p / peer_work) / (g / case.work)  # time per item, peer over gensample
        row = {
            "case": case.name,
            "peer": case.peer_name,
            "peer_s": p,
            "gensample_s": g,
            "ratio": ratio,
            "gensample_items_per_s": case.work / g,
            "peer_items_per_s": peer_work / p,
            "peer_items": peer_work,
            "gensample_items": case.work,
            "peer_all_s": peer_t,
            "gensample_all_s": gs_t,
        }
        rows.append(row)
        note = "" if peer_work == case.work else f"  (peer on {peer_work:.0e} items)"
        if case.note is not None:
            row["note"] = case.note()
            note += "  " + row["note"]
        print(f"{case.name:<34} {case.peer_name:<28} {p:8.3f} {g:8.3f} {ratio:6.1f}x {case.work / g:11.3g}{note}")
    result = {"suite": suite, "machine": info, "repeats": repeats, "results": rows}
    out_dir = out_dir or Path(__file__).parent / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{suite}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return result
