"""Progress on long work: a tqdm bar on a terminal, plain lines in logs (no terminal, no
tqdm), nothing for quick work without a terminal, and never a changed result."""

import io
import sys

import numpy as np
import pytest

import gensample as gs
from gensample import _progress

GMM = gs.GMM.from_parameters([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]], np.stack([0.3 * np.eye(2)] * 2))


class Log:
    """What reached stderr so far (pytest's capture is not a terminal)."""

    def __init__(self, capsys):
        self.capsys, self.text = capsys, ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def log(monkeypatch, capsys):
    """stderr as a batch log (not a terminal), with a line at every update."""
    monkeypatch.setattr(_progress, "INTERVAL", 0.0)
    return Log(capsys)


def test_generate_logs_lines_without_a_terminal(tmp_path, log):
    gs.generate(GMM, 5000, rng=0, out=tmp_path / "x.npy", chunk=1000)
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("gensample: x.npy: 1,000 of 5,000 rows (20 %), ")
    assert "left" in lines[0] and lines[-1].startswith("gensample: x.npy: done, 5,000 rows in ")
    assert len(lines) == 5  # 4 updates before the end, then done


def test_quick_work_prints_nothing_in_a_log(tmp_path, capsys):
    gs.generate(GMM, 5000, rng=0, out=tmp_path / "x.npy", chunk=1000)  # far below 10 s
    assert capsys.readouterr().err == ""


def test_without_tqdm_a_terminal_gets_lines(tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(_progress, "INTERVAL", 0.0)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    gs.generate(GMM, 3000, rng=0, out=tmp_path / "x.npy", chunk=1000)
    assert "gensample: x.npy: 1,000 of 3,000 rows" in term.getvalue()


def test_interrupted_work_says_where_it_stopped(log):
    bar = _progress.Progress(10, True, "job", unit="steps")
    bar.update(3)
    bar.close()
    assert log.getvalue().splitlines()[-1] == "gensample: job: stopped at 3 of 10 steps"


def test_long_library_calls_report_progress_when_asked(log):
    flow = gs.Flow(gs.fields.GaussianMixture(GMM), steps=8)
    quiet = flow.sample(1000, rng=3)
    assert log.getvalue() == ""  # off by default in the API
    np.testing.assert_array_equal(flow.sample(1000, rng=3, progress=True), quiet)
    assert "gensample: Flow.sample: 10 of 1,000 rows (1 %)" in log.getvalue()

    x, y = GMM.sample(300, rng=1), GMM.sample(300, rng=2) + 0.1
    assert gs.metrics.mmd_test(x, y, n_permutations=20, rng=0, progress=True) == gs.metrics.mmd_test(
        x, y, n_permutations=20, rng=0
    )
    assert "gensample: mmd_test: 1 of 20 permutations" in log.getvalue()

    X = GMM.sample(2000, rng=4)
    with_bar = gs.GMM(2, rng=0).fit(X, progress=True)
    np.testing.assert_array_equal(with_bar.means_, gs.GMM(2, rng=0).fit(X).means_)
    assert "gensample: GMM.fit: 1 of 100 EM iterations (1 %)" in log.getvalue()
    assert ", lower_bound -" in log.getvalue()
    with pytest.raises(TypeError, match="progress"):
        flow.sample(10, progress="yes")
