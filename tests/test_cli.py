"""The command line: sample, fit, info, plot and bench; round trips and user errors."""

import io
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gensample as gs
from gensample.__main__ import main

REPO = Path(__file__).resolve().parents[1]


def npy_bytes(x) -> bytes:
    b = io.BytesIO()
    np.save(b, x)
    return b.getvalue()


def test_sample_writes_npy(tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", "unit-square", "-n", "1000", "--seed", "3", "-o", str(out)]) == 0
    assert out.read_bytes() == npy_bytes(gs.Box([0, 0], [1, 1]).sample(1000, rng=3))
    assert "wrote 1000 samples of unit-square (2-D, float64, seed 3)" in capsys.readouterr().out


def test_without_a_seed_the_seed_used_is_printed(tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", "moons", "-n", "500", "-o", str(out), "--dtype", "float32"]) == 0
    seed = int(capsys.readouterr().out.split("seed ")[1].split(")")[0])
    np.testing.assert_array_equal(np.load(out), gs.datasets.moons().sample(500, rng=seed, dtype=np.float32))


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".zarr"])
def test_sample_any_format_any_chunk_same_rows(tmp_path, suffix):
    ref = gs.datasets.hostage_scene().sample(5000, rng=1)
    for chunk in ("700", "5000"):
        out = tmp_path / f"s{chunk}{suffix}"
        assert (
            main(
                [
                    "sample",
                    "hostage-scene",
                    "-n",
                    "5000",
                    "--seed",
                    "1",
                    "--chunk",
                    chunk,
                    "--threads",
                    "1",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        np.testing.assert_array_equal(gs.scale.read(out), ref)


def test_sample_builtin_datasets(tmp_path):
    for name in (
        "hostage-scene",
        "moons",
        "checkerboard",
        "circles",
        "eight-gaussians",
        "spirals",
        "pinwheel",
        "unit-cube",
    ):
        out = tmp_path / f"{name}.npy"
        assert main(["sample", name, "-n", "100", "--seed", "3", "-o", str(out)]) == 0
        assert np.load(out).shape[0] == 100


def test_fit_save_sample_info_round_trip(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(2000, 2)) * [1.0, 3.0]
    np.save(tmp_path / "data.npy", X)
    assert (
        main(
            [
                "fit",
                "gmm",
                str(tmp_path / "data.npy"),
                "--components",
                "3",
                "--seed",
                "1",
                "-o",
                str(tmp_path / "gmm.npz"),
            ]
        )
        == 0
    )
    assert "GMM (3 full components" in capsys.readouterr().out
    gmm = gs.load(tmp_path / "gmm.npz")
    ref = gs.GMM(3, "full", rng=1).fit(X)
    np.testing.assert_array_equal(gmm.means_, ref.means_)
    assert main(["sample", str(tmp_path / "gmm.npz"), "-n", "3000", "--seed", "2", "-o", str(tmp_path / "s.npy")]) == 0
    assert (tmp_path / "s.npy").read_bytes() == npy_bytes(ref.sample(3000, rng=2))
    capsys.readouterr()
    assert main(["info", str(tmp_path / "gmm.npz")]) == 0
    text = capsys.readouterr().out
    assert "gensample model file, format version 1" in text and "means: float64 (3, 2)" in text
    assert main(["info", str(tmp_path / "s.npy")]) == 0
    assert "npy samples, 3000 rows x 2 columns, float64" in capsys.readouterr().out

    assert (
        main(
            [
                "fit",
                "kde",
                str(tmp_path / "s.npy"),
                "--bandwidth",
                "0.25",
                "--kernel",
                "epanechnikov",
                "-o",
                str(tmp_path / "kde.npz"),
            ]
        )
        == 0
    )
    kde = gs.load(tmp_path / "kde.npz")
    assert kde.kernel == "epanechnikov" and np.allclose(kde.bandwidth_, 0.0625 * np.eye(2))


def test_fit_reads_parquet_and_zarr(tmp_path):
    for suffix in (".parquet", ".zarr"):
        gs.generate(gs.datasets.moons(), 500, rng=0, out=tmp_path / f"d{suffix}")
        assert main(["fit", "kde", str(tmp_path / f"d{suffix}"), "-o", str(tmp_path / f"k{suffix}.npz")]) == 0
        np.testing.assert_array_equal(
            gs.load(tmp_path / f"k{suffix}.npz").data_, gs.datasets.moons().sample(500, rng=0)
        )


def test_info_on_parquet_shows_what_gensample_recorded(tmp_path, capsys):
    assert main(["sample", "moons", "-n", "100", "--seed", "1", "-o", str(tmp_path / "m.parquet")]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "m.parquet")]) == 0
    out = capsys.readouterr().out
    assert "parquet samples, 100 rows x 2 columns" in out and "model: Moons(noise=0.1)" in out


def test_resume_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "x.npy"
    args = ["sample", "moons", "-n", "4000", "--seed", "3", "--chunk", "1000", "-o", str(out)]
    calls = []
    real = gs.datasets.Moons._sample_rows

    def interrupted(self, key, r0, buf, n_threads):
        if r0 == 2000:
            raise KeyboardInterrupt
        calls.append(r0)
        real(self, key, r0, buf, n_threads)

    gs.datasets.Moons._sample_rows = interrupted
    try:
        assert main(args) == 1
        assert "interrupted (gensample sample --resume carries on)" in capsys.readouterr().err
    finally:
        gs.datasets.Moons._sample_rows = real
    assert main(args + ["--resume"]) == 0
    assert out.read_bytes() == npy_bytes(gs.datasets.moons().sample(4000, rng=3))
    assert calls == [0, 1000]


def test_plot_writes_a_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is in the test extra")
    from PIL import Image

    gs.generate(gs.datasets.moons(), 2000, rng=0, out=tmp_path / "m.npy")
    for source in (str(tmp_path / "m.npy"), "pinwheel"):
        png = tmp_path / f"{Path(source).stem}.png"
        assert main(["plot", source, "-o", str(png), "-n", "2000"]) == 0
        pixels = np.asarray(Image.open(png).convert("L"))
        assert pixels.min() < 128 and pixels.max() > 200  # points on a light background: not blank


def test_bench_lists_and_refuses_unknown_areas(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["bench", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    areas = {line.split()[0] for line in lines}
    assert {"random", "regions", "kde", "gmm", "flows", "scale", "metrics", "contention"} <= areas
    assert all(len(line.split()) > 3 for line in lines)  # each with what it measures
    assert main(["bench", "nope"]) == 2
    assert "unknown bench area 'nope'" in capsys.readouterr().err


def test_bench_outside_a_checkout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--list", "--dir", str(tmp_path)]) == 2
    assert "no bench/ suites found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "nope", "-n", "3", "-o", "x.npy"], "unknown model 'nope'"),
        (["sample", "unit-square", "-n", "-3", "-o", "x.npy"], "-n must be non-negative"),
        (["sample", "unit-square", "-n", "3", "-o", "x.csv"], "-o must end in one of .npy, .parquet, .zarr"),
        (["sample", "unit-square", "-n", str(2**62), "-o", "x.npy"], "GiB free"),
        (["sample", "unit-square", "-n", "3", "--threads", "0", "-o", "x.npy"], "--threads must be a positive"),
        (["sample", "unit-square", "-n", "3", "--chunk", "0", "-o", "x.npy"], "--chunk must be a positive"),
        (["info", "model.npy"], "is an .npz archive (a model file?) named .npy"),
        (["info", "notes.npz"], "notes.npz is not a gensample model file: not an .npz archive"),
        (["sample", "unit-square", "-n", "3", "-o", "no/such/folder/x.npy"], "does not exist"),
        (["fit", "gmm", "missing.npy", "-o", "m.npz"], "missing.npy"),
        (["fit", "kde", "data.npy", "--bandwidth", "wide", "-o", "m.npz"], "--bandwidth must be"),
        (["info", "missing.npz"], "missing.npz does not exist"),
    ],
)
def test_user_errors_exit_2_without_traceback(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("data.npy", np.ones((10, 2)))
    with open("model.npy", "wb") as f:
        np.savez(f, a=np.ones(2))  # a zip archive named .npy
    Path("notes.npz").write_text("not an archive")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_existing_outputs_need_overwrite(tmp_path, capsys):
    out = tmp_path / "x.npy"
    np.save(out, np.zeros(3))
    before = out.read_bytes()
    assert main(["sample", "moons", "-n", "10", "-o", str(out)]) == 2
    assert "exists: pass --overwrite to replace it" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["sample", "moons", "-n", "10", "-o", str(out), "--overwrite"]) == 0
    np.save(tmp_path / "d.npy", np.random.default_rng(0).normal(size=(50, 2)))
    (tmp_path / "m.npz").write_bytes(b"keep me")
    assert main(["fit", "kde", str(tmp_path / "d.npy"), "-o", str(tmp_path / "m.npz")]) == 2
    assert "--overwrite" in capsys.readouterr().err and (tmp_path / "m.npz").read_bytes() == b"keep me"


def test_corrupt_model_file_is_a_clear_error_and_nothing_is_written(tmp_path, capsys):
    path = gs.datasets.moons().save(tmp_path / "m.npz")
    (tmp_path / "bad.npz").write_bytes(path.read_bytes()[:100])
    out = tmp_path / "s.npy"
    assert main(["sample", str(tmp_path / "bad.npz"), "-n", "10", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.npz is not a gensample model file (corrupt or truncated?)" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "s.npy.partial").exists()
    assert main(["info", str(tmp_path / "bad.npz")]) == 2


def test_entry_point_and_help():
    done = subprocess.run([sys.executable, "-m", "gensample", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and all(c in done.stdout for c in ("sample", "fit", "info", "plot", "bench"))
    done = subprocess.run(
        [sys.executable, "-m", "gensample", "sample", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "--resume" in done.stdout and "--chunk" in done.stdout
    done = subprocess.run([sys.executable, "-m", "gensample", "frobnicate"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_counts_as_people_write_them(tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", "unit-square", "-n", "1e3", "--chunk", "2.5e2", "--seed", "1", "-o", str(out)]) == 0
    assert out.read_bytes() == npy_bytes(gs.Box([0, 0], [1, 1]).sample(1000, rng=1))
    for bad in ("2.5", "1e3.5", "ten", "1e30"):
        with pytest.raises(SystemExit) as exit_:
            main(["sample", "unit-square", "-n", bad, "-o", str(tmp_path / "t.npy")])
        assert exit_.value.code == 2
        assert "expected a whole number such as 1000000 or 1e6" in capsys.readouterr().err


def test_cli_words_name_flags_not_keywords(tmp_path, capsys):
    """The library says resume=True; the command line says --resume."""
    from gensample.__main__ import _cli_words

    assert _cli_words("x exists: pass overwrite=True to replace it") == "x exists: pass --overwrite to replace it"
    assert (
        _cli_words("other arguments (n differ); pass resume=False to start over")
        == "other arguments (n differ); run without --resume to start over"
    )
    assert _cli_words("discarding 2 finished chunks ...; resume=True would have kept them").endswith(
        "--resume would have kept them"
    )
    out = tmp_path / "s.npy"
    partial = tmp_path / "s.npy.partial"
    partial.mkdir()  # a run left unfinished, then started again without --resume
    (partial / "state.json").write_text("{}")
    (partial / "done.log").write_text("0\n1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest: shown, not raised
        assert main(["sample", "unit-square", "-n", "1000", "--chunk", "100", "--seed", "1", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("gensample: warning: discarding 2 finished chunks") and "Traceback" not in err
    assert main(["sample", "unit-square", "-n", "10", "-o", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["sample", "unit-square", "-n", "10", "--chunk", "5", "-o", str(out), "--overwrite"]) == 0
    (partial).mkdir()
    (partial / "state.json").write_text('{"format": "gensample-partial"}')
    assert main(["sample", "unit-square", "-n", "10", "-o", str(out), "--overwrite", "--resume"]) == 2
    assert "run without --resume to start over" in capsys.readouterr().err


def test_bench_passes_size_threads_and_repeats_through(tmp_path, capfd):
    (tmp_path / "bench_echo.py").write_text('"""Echoes its arguments."""\nimport sys\nprint("argv", sys.argv[1:])\n')
    assert main(["bench", "echo", "--dir", str(tmp_path), "--n", "1e3", "--threads", "2", "--repeats", "1"]) == 0
    assert "argv ['--n=1000', '--threads=2', '--repeats=1']" in capfd.readouterr().out
    assert main(["bench", "--list", "--dir", str(tmp_path)]) == 0
    assert "echo         Echoes its arguments." in capfd.readouterr().out
