"""gs.generate: chunked generation into memory and files, identical bytes for every chunk
size, crash-safe writes and resumption, and clear errors."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gensample as gs

GMM = gs.GMM.from_parameters([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], np.stack([0.3 * np.eye(2)] * 2))
SCENE = gs.datasets.hostage_scene(160, 120)
MODELS = {
    "box": gs.Box([0, 0, 0], [1, 2, 3]),
    "gmm": GMM,
    "kde": gs.KDE(0.2, kernel="epanechnikov").fit(np.random.default_rng(0).normal(size=(200, 2))),
    "scene": SCENE,
    "difference": gs.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)]) - gs.Box([0, 0], [1, 4]),
    "moons": gs.datasets.moons(),
    "flow": gs.Flow(gs.fields.GaussianMixture(GMM), steps=8),
    "flow-sde": gs.Flow(gs.fields.GaussianMixture(GMM), steps=8, sde=0.5),
}


def npy_bytes(x) -> bytes:
    b = io.BytesIO()
    np.save(b, x)
    return b.getvalue()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_in_memory_equals_sample_for_any_chunk(name):
    model = MODELS[name]
    ref = model.sample(1001, rng=7)
    for chunk in (1, 13, 1000, 5000):
        np.testing.assert_array_equal(gs.generate(model, 1001, rng=7, chunk=chunk), ref)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 3000), chunk=st.integers(1, 4000), f32=st.booleans())
def test_npy_bytes_equal_np_save_of_sample(tmp_path_factory, n, chunk, f32):
    dtype = np.float32 if f32 else np.float64
    out = tmp_path_factory.mktemp("npy") / "x.npy"
    path = gs.generate(SCENE, n, rng=11, out=out, chunk=chunk, dtype=dtype)
    assert path == out and sorted(os.listdir(out.parent)) == ["x.npy"]  # no leftovers
    assert out.read_bytes() == npy_bytes(SCENE.sample(n, rng=11, dtype=dtype))


def test_parquet_one_column_per_dimension_one_row_group_per_chunk(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the test extra")
    ref = GMM.sample(10_007, rng=3, dtype=np.float32)
    gs.generate(GMM, 10_007, rng=3, out=tmp_path / "g.parquet", chunk=1000, dtype=np.float32)
    f = pq.ParquetFile(tmp_path / "g.parquet")
    assert f.num_row_groups == 11 and f.schema_arrow.names == ["x0", "x1"]
    table = f.read()
    np.testing.assert_array_equal(np.column_stack([table["x0"].to_numpy(), table["x1"].to_numpy()]), ref)
    meta = json.loads(f.schema_arrow.metadata[b"gensample"])
    assert meta["rows"] == 10_007 and meta["dtype"] == "float32" and "GMM" in meta["model"]
    assert sorted(os.listdir(tmp_path)) == ["g.parquet"]


def test_parquet_names_lon_lat_for_geomasks(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the test extra")
    cap = gs.GeoMask(np.eye(18, 36, dtype=bool))
    gs.generate(cap, 100, rng=0, out=tmp_path / "c.parquet")
    assert pq.ParquetFile(tmp_path / "c.parquet").schema_arrow.names == ["lon", "lat"]


def test_zarr_round_trip(tmp_path):
    zarr = pytest.importorskip("zarr", reason="zarr is in the test extra")
    gs.generate(SCENE, 5000, rng=1, out=tmp_path / "s.zarr", chunk=700)
    arr = zarr.open_array(store=str(tmp_path / "s.zarr"), mode="r")
    assert arr.chunks == (700, 2) and arr.attrs["gensample"]["rows"] == 5000
    np.testing.assert_array_equal(arr[:], SCENE.sample(5000, rng=1))


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_read_and_inspect_every_format(tmp_path, suffix):
    path = gs.generate(GMM, 999, rng=2, out=tmp_path / f"g{suffix}", chunk=100)
    info = gs.scale.inspect(path)
    assert (info["rows"], info["dim"]) == (999, 2)
    np.testing.assert_array_equal(gs.scale.read(path), GMM.sample(999, rng=2))
    np.testing.assert_array_equal(gs.scale.read(path, max_rows=10), GMM.sample(10, rng=2))


class Interrupting(gs.Distribution):
    """A Box that counts the chunks it draws and raises Ctrl-C at chunk ``stop_at``."""

    dim = 2

    def __init__(self, stop_at=None):
        self.box, self.stop_at, self.calls = gs.Box([0, 0], [1, 1]), stop_at, []

    def sample(self, n, rng=None, dtype=np.float64, n_threads=None):
        return self.box.sample(n, rng, dtype, n_threads)

    def logpdf(self, x, n_threads=None):
        return self.box.logpdf(x)

    def _sample_rows(self, key, r0, out, n_threads):
        if len(self.calls) == self.stop_at:
            raise KeyboardInterrupt
        self.calls.append(r0)
        self.box._sample_rows(key, r0, out, n_threads)

    def __repr__(self):
        return "Interrupting()"


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_resume_after_interrupt_computes_only_missing_chunks(tmp_path, suffix):
    out = tmp_path / f"x{suffix}"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=3), 1000, rng=5, out=out, chunk=100)
    assert not out.exists() and (tmp_path / f"x{suffix}.partial").is_dir()
    again = Interrupting()
    gs.generate(again, 1000, rng=5, out=out, chunk=100, resume=True)
    assert again.calls == list(range(300, 1000, 100))
    np.testing.assert_array_equal(gs.scale.read(out), gs.Box([0, 0], [1, 1]).sample(1000, rng=5))
    assert sorted(os.listdir(tmp_path)) == [f"x{suffix}"]


def test_resume_without_a_seed_reuses_the_first_runs_stream(tmp_path):
    out = tmp_path / "x.npy"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=2), 500, out=out, chunk=100)
    key = json.loads((tmp_path / "x.npy.partial" / "state.json").read_text())["key"]
    gs.generate(Interrupting(), 500, out=out, chunk=100, resume=True)
    x = np.load(out)
    ref = np.empty((500, 2))
    gs.Box([0, 0], [1, 1])._sample_rows(key, 0, ref, 0)
    np.testing.assert_array_equal(x, ref)


@pytest.mark.parametrize("suffix, chunk_file", [(".parquet", "part-000000002.parquet"), (".zarr", "data.zarr/c/2/0")])
def test_a_removed_chunk_file_is_computed_again(tmp_path, suffix, chunk_file):
    out = tmp_path / f"x{suffix}"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=4), 1000, rng=5, out=out, chunk=100)
    os.remove(tmp_path / f"x{suffix}.partial" / chunk_file)
    again = Interrupting()
    gs.generate(again, 1000, rng=5, out=out, chunk=100, resume=True)
    assert again.calls == [200] + list(range(400, 1000, 100))
    np.testing.assert_array_equal(gs.scale.read(out), gs.Box([0, 0], [1, 1]).sample(1000, rng=5))


SLOW_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import gensample as gs

    class Slow(gs.Distribution):
        dim = 2
        def __init__(self):
            self.box = gs.Box([0, 0], [1, 1])
        def sample(self, n, rng=None, dtype=np.float64, n_threads=None):
            return self.box.sample(n, rng, dtype, n_threads)
        def logpdf(self, x, n_threads=None):
            return self.box.logpdf(x)
        def _sample_rows(self, key, r0, out, n_threads):
            self.box._sample_rows(key, r0, out, n_threads)
            out[: len(out) // 2] = 0.5  # half a chunk written: the rest arrives after a pause
            time.sleep(float(sys.argv[3]))
            self.box._sample_rows(key, r0, out, n_threads)
        def __repr__(self):
            return "Slow()"

    gs.generate(Slow(), 4000, rng=9, out=sys.argv[1], chunk=500, resume=sys.argv[2] == "resume", progress=False)
""")


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_resume_after_the_process_is_killed_mid_write(tmp_path, suffix):
    script = tmp_path / "slow.py"
    script.write_text(SLOW_SCRIPT)
    out = tmp_path / f"x{suffix}"
    proc = subprocess.Popen([sys.executable, str(script), str(out), "fresh", "0.15"])
    log = tmp_path / f"x{suffix}.partial" / "done.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 3):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-chunk: the next one is half written
    proc.wait(timeout=30)
    done_before = log.read_text().count("\n")
    assert 3 <= done_before < 8 and not out.exists()
    subprocess.run([sys.executable, str(script), str(out), "resume", "0"], check=True, timeout=120)
    np.testing.assert_array_equal(gs.scale.read(out), gs.Box([0, 0], [1, 1]).sample(4000, rng=9))
    if suffix == ".npy":
        assert out.read_bytes() == npy_bytes(gs.Box([0, 0], [1, 1]).sample(4000, rng=9))


@pytest.mark.parametrize(
    "suffix, container", [(".npy", "data.npy"), (".parquet", "metadata.json"), (".zarr", "data.zarr")]
)
def test_a_lost_container_starts_over_with_the_same_stream(tmp_path, suffix, container):
    import shutil

    out = tmp_path / f"x{suffix}"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=2), 500, out=out, chunk=100)
    key = json.loads((tmp_path / f"x{suffix}.partial" / "state.json").read_text())["key"]
    lost = tmp_path / f"x{suffix}.partial" / container
    shutil.rmtree(lost) if lost.is_dir() else lost.unlink()
    again = Interrupting()
    gs.generate(again, 500, out=out, chunk=100, resume=True)
    assert again.calls == [0, 100, 200, 300, 400]
    ref = np.empty((500, 2))
    gs.Box([0, 0], [1, 1])._sample_rows(key, 0, ref, 0)
    np.testing.assert_array_equal(gs.scale.read(out), ref)


def test_a_torn_log_line_does_not_count(tmp_path):
    out = tmp_path / "x.npy"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=2), 500, rng=1, out=out, chunk=100)
    with open(tmp_path / "x.npy.partial" / "done.log", "a") as f:
        f.write("3")  # cut short by a kill: no newline
    again = Interrupting()
    gs.generate(again, 500, rng=1, out=out, chunk=100, resume=True)
    assert again.calls == [200, 300, 400]


def test_resume_with_other_arguments_is_refused(tmp_path):
    out = tmp_path / "x.npy"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=2), 500, rng=1, out=out, chunk=100)
    for kwargs, what in [
        ({"n": 600}, "n"),
        ({"chunk": 50}, "chunk"),
        ({"rng": 2}, "key"),
        ({"dtype": np.float32}, "dtype"),
    ]:
        args = {"n": 500, "rng": 1, "chunk": 100, **kwargs}
        with pytest.raises(ValueError, match=f"other arguments.*{what}"):
            gs.generate(Interrupting(), args.pop("n"), out=out, resume=True, **args)
    with pytest.raises(ValueError, match="model"):
        gs.generate(gs.Box([0, 0], [1, 2]), 500, rng=1, out=out, chunk=100, resume=True)
    # without resume the leftover is discarded, with a warning, and the run starts over
    fresh = Interrupting()
    with pytest.warns(UserWarning, match=r"discarding 2 finished chunks .* same arguments .* resume=True would"):
        gs.generate(fresh, 500, rng=1, out=out, chunk=100)
    assert fresh.calls == [0, 100, 200, 300, 400]


def test_starting_over_says_what_it_discards(tmp_path):
    out = tmp_path / "x.npy"
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=3), 500, rng=1, out=out, chunk=100)
    with pytest.warns(UserWarning, match=r"discarding 3 finished chunks .* other arguments") as record:
        gs.generate(Interrupting(), 500, rng=2, out=out, chunk=100)
    assert record[0].filename == __file__  # points at the caller's line
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=0), 500, rng=1, out=out, chunk=100, overwrite=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing finished, nothing to say
        gs.generate(Interrupting(), 500, rng=1, out=out, chunk=100, overwrite=True)


def test_existing_output_needs_overwrite_and_survives_a_failed_run(tmp_path):
    out = tmp_path / "x.npy"
    np.save(out, np.zeros((2, 2)))
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        gs.generate(GMM, 10, rng=0, out=out)
    with pytest.raises(KeyboardInterrupt):
        gs.generate(Interrupting(stop_at=1), 300, rng=0, out=out, chunk=100, overwrite=True)
    assert out.read_bytes() == before  # replaced only once the new file is complete
    with pytest.warns(UserWarning, match="discarding 1 finished chunks"):
        gs.generate(GMM, 10, rng=0, out=out, overwrite=True)
    np.testing.assert_array_equal(np.load(out), GMM.sample(10, rng=0))


def test_zarr_store_is_replaced_with_overwrite(tmp_path):
    pytest.importorskip("zarr", reason="zarr is in the test extra")
    gs.generate(GMM, 100, rng=0, out=tmp_path / "g.zarr")
    with pytest.raises(FileExistsError):
        gs.generate(GMM, 100, rng=1, out=tmp_path / "g.zarr")
    gs.generate(GMM, 50, rng=1, out=tmp_path / "g.zarr", overwrite=True)
    np.testing.assert_array_equal(gs.scale.read(tmp_path / "g.zarr"), GMM.sample(50, rng=1))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_zarr_store_is_swapped_in_one_step(tmp_path, monkeypatch):
    """Readers see the old store or the new one, never neither: no rename leaves final empty."""
    pytest.importorskip("zarr", reason="zarr is in the test extra")
    out = tmp_path / "g.zarr"
    gs.generate(GMM, 100, rng=0, out=out)
    real_replace, real_exchange, seen = os.replace, gs.scale.exchange, []

    def replace(src, dst):
        assert os.fspath(dst) != os.fspath(out), "final was renamed over, not swapped"
        real_replace(src, dst)

    def exchange(a, b):
        seen.append(os.path.isdir(b))
        done = real_exchange(a, b)
        seen.append(done and gs.scale.read(b).shape == (50, 2))
        return done

    monkeypatch.setattr(gs.scale.os, "replace", replace)
    monkeypatch.setattr(gs.scale, "exchange", exchange)
    gs.generate(GMM, 50, rng=1, out=out, overwrite=True)
    assert seen == [True, True]
    np.testing.assert_array_equal(gs.scale.read(out), GMM.sample(50, rng=1))
    assert sorted(os.listdir(tmp_path)) == ["g.zarr"]


def test_zarr_overwrite_killed_while_swapping_keeps_both_stores_whole(tmp_path, monkeypatch):
    """Where the system cannot swap two folders in one step: two renames, and a kill
    between them leaves both stores whole."""
    pytest.importorskip("zarr", reason="zarr is in the test extra")
    out = tmp_path / "g.zarr"
    gs.generate(GMM, 100, rng=0, out=out)
    monkeypatch.setattr(gs.scale, "exchange", lambda a, b: False)
    real_replace = os.replace

    def killed_at_the_swap(src, dst):  # the run dies as the new store is moved into place
        if os.path.basename(src) == "data.zarr":
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(gs.scale.os, "replace", killed_at_the_swap)
    with pytest.raises(KeyboardInterrupt):
        gs.generate(GMM, 50, rng=1, out=out, overwrite=True)
    monkeypatch.setattr(gs.scale.os, "replace", real_replace)
    partial = tmp_path / "g.zarr.partial"
    np.testing.assert_array_equal(gs.scale.read(partial / "replaced.zarr"), GMM.sample(100, rng=0))
    gs.generate(GMM, 50, rng=1, out=out, overwrite=True, resume=True)  # finishes the swap
    np.testing.assert_array_equal(gs.scale.read(out), GMM.sample(50, rng=1))
    assert not partial.exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        gs.generate(GMM, -1)
    with pytest.raises(TypeError, match="n must be"):
        gs.generate(GMM, 2.5)
    for chunk in (0, -5):
        with pytest.raises(ValueError, match="chunk must be a positive integer"):
            gs.generate(GMM, 10, chunk=chunk)
    with pytest.raises(TypeError, match="dist must be a gensample Distribution"):
        gs.generate(np.ones(3), 10)
    with pytest.raises(ValueError, match="out must end in one of .npy, .parquet, .zarr"):
        gs.generate(GMM, 10, out=tmp_path / "x.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gs.generate(GMM, 10, out=tmp_path / "no" / "such" / "x.npy")
    (tmp_path / "afile").write_text("")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gs.generate(GMM, 10, out=tmp_path / "afile" / "x.npy")
    with pytest.raises(OSError, match="GiB free"):
        gs.generate(GMM, 10**16, out=tmp_path / "x.npy")
    with pytest.raises(MemoryError, match="draw it in chunks"):
        gs.generate(GMM, 10**16)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        gs.generate(GMM, 10, dtype=np.int32)
    assert sorted(os.listdir(tmp_path)) == ["afile"]  # nothing written by any refused call


def test_models_without_row_ranges_are_refused():
    class Plain(gs.Distribution):
        dim = 1

        def sample(self, n, rng=None, dtype=np.float64, n_threads=None):
            return np.zeros((n, 1))

        def logpdf(self, x, n_threads=None):
            return np.zeros(len(x))

    with pytest.raises(TypeError, match="define _sample_rows"):
        gs.generate(Plain(), 10)


def test_progress_bar_on_a_terminal(tmp_path, monkeypatch, capsys):
    pytest.importorskip("tqdm", reason="tqdm is in the test extra")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    gs.generate(GMM, 5000, rng=0, out=tmp_path / "x.npy", chunk=1000)
    assert "5.00k/5.00k" in term.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    gs.generate(GMM, 5000, rng=0, out=tmp_path / "y.npy", chunk=1000, progress=False)
    assert quiet.getvalue() == ""


def test_npy_chunks_are_mapped_one_at_a_time(tmp_path, monkeypatch):
    """Only the chunk being filled is mapped: the output never has to fit in memory."""
    seen = []
    real = np.memmap

    def spy(*args, **kwargs):
        m = real(*args, **kwargs)
        seen.append(m.shape)
        return m

    monkeypatch.setattr(np, "memmap", spy)
    gs.generate(GMM, 10_000, rng=0, out=tmp_path / "x.npy", chunk=3000)
    assert seen == [(3000, 2), (3000, 2), (3000, 2), (1000, 2)]


# ---- one writer per output ------------------------------------------------------------------


def sample_cmd(out, n: int, chunk: int, *extra: str) -> list:
    """``gensample sample unit-square`` into ``out``, as a command line."""
    words = f"sample unit-square -n {n} --chunk {chunk} --no-progress".split()
    return [sys.executable, "-m", "gensample", *words, "-o", str(out), *extra]


def start_mid_run(cmd: list, out) -> subprocess.Popen:
    """A writer, once it has set up its output (or ended): its done.log exists."""
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = Path(f"{out}.partial") / "done.log"
    deadline = time.monotonic() + 60
    while not started.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    return run


def clean_copy(tmp_path, suffix: str, seed: int, n: int, chunk: int) -> dict:
    """Every file of a clean run's output, as bytes (a .zarr store is a folder)."""
    ref = tmp_path / f"clean{suffix}"
    subprocess.run(sample_cmd(ref, n, chunk, "--seed", str(seed)), check=True, capture_output=True)
    return tree_bytes(ref)


def tree_bytes(path) -> dict:
    path = Path(path)
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    return {"": path.read_bytes()}


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="pauses the first run with SIGSTOP")
@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_two_processes_racing_on_one_output(tmp_path, suffix):
    """The second run fails at once, naming the first; the first finishes and its file is a
    clean run's, byte for byte. (Before the lock, the second deleted the first's partial
    folder and the output held chunks of both seeds.)"""
    n, chunk = 400_000, 20_000
    out = tmp_path / f"u{suffix}"
    cmd = sample_cmd(out, n, chunk, "--threads", "1")
    first = start_mid_run(cmd + ["--seed", "0"], out)
    first.send_signal(signal.SIGSTOP)  # mid-run, for as long as the second run takes
    try:
        assert first.poll() is None, "the first run ended before the race: make it larger"
        second = subprocess.run(cmd + ["--seed", "1"], capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert second.returncode == 2
    assert f"is being written by process {first.pid}" in second.stderr and str(out) in second.stderr
    assert "Traceback" not in second.stderr
    assert tree_bytes(out) == clean_copy(tmp_path, suffix, 0, n, chunk)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, f"clean{suffix}"])


class Gated:
    """A Box whose first chunk waits for a gate: a run held open at a known point."""

    def __new__(cls, started: threading.Event, gate: threading.Event):
        box = gs.Box([0, 0], [1, 1])

        class _Gated(gs.Box):
            def _sample_rows(self, key, r0, out, n_threads):
                started.set()
                assert gate.wait(60)
                box._sample_rows(key, r0, out, n_threads)

            def __repr__(self):
                return repr(box)  # the same model, so the same metadata as a clean run

        return _Gated([0, 0], [1, 1])


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_two_threads_racing_on_one_output(tmp_path, suffix):
    out = tmp_path / f"u{suffix}"
    started, gate, result = threading.Event(), threading.Event(), {}

    def first():
        try:
            result["path"] = gs.generate(Gated(started, gate), 1000, rng=0, out=out, chunk=300)
        except BaseException as exc:  # reported below
            result["error"] = exc

    t = threading.Thread(target=first)
    t.start()
    try:
        assert started.wait(60)
        with pytest.raises(gs.OutputInUseError, match=rf"{out.name} is being written by process {os.getpid()}"):
            gs.generate(gs.Box([0, 0], [1, 1]), 1000, rng=1, out=out, chunk=300, overwrite=True)
    finally:
        gate.set()
        t.join(60)
    assert "error" not in result, result.get("error")
    assert tree_bytes(out) == tree_bytes(
        gs.generate(gs.Box([0, 0], [1, 1]), 1000, rng=0, chunk=300, out=tmp_path / f"clean{suffix}")
    )
    gs.generate(gs.Box([0, 0], [1, 1]), 10, rng=1, out=out, overwrite=True)  # the lock is free again
    assert not (tmp_path / f"u{suffix}.lock").exists()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX")
def test_a_killed_writer_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "u.npy"
    cmd = sample_cmd(out, 400_000, 20_000, "--seed", "3")
    run = start_mid_run(cmd, out)
    run.kill()
    run.communicate()
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(out), gs.Box([0, 0], [1, 1]).sample(400_000, rng=3))
