import numpy as np
import pytest

import gensample as gs
from gensample.__main__ import main


def test_sample_writes_npy(tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", "unit-square", "-n", "1000", "--seed", "3", "-o", str(out)]) == 0
    x = np.load(out)
    np.testing.assert_array_equal(x, gs.Box([0, 0], [1, 1]).sample(1000, rng=3))
    assert "wrote 1000 samples" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "nope", "-n", "3", "-o", "x.npy"], "unknown model 'nope'"),
        (["sample", "unit-square", "-n", "-3", "-o", "x.npy"], "-n must be non-negative"),
        (["sample", "unit-square", "-n", "3", "-o", "x.csv"], "must be a .npy file"),
        (["sample", "unit-square", "-n", str(2**62), "-o", "x.npy"], "draw it in chunks"),
        (["sample", "unit-square", "-n", "3", "--threads", "0", "-o", "x.npy"], "n_threads must be a positive"),
    ],
)
def test_user_errors_exit_2_without_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_sample_builtin_datasets(tmp_path):
    from gensample.__main__ import main

    for name in ("hostage-scene", "moons", "checkerboard"):
        out = tmp_path / f"{name}.npy"
        assert main(["sample", name, "-n", "100", "--seed", "3", "-o", str(out)]) == 0
        assert np.load(out).shape == (100, 2)
