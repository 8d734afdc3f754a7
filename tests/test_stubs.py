"""The type stubs of the compiled core (python/gensample/_core/*.pyi) are generated from it by
pybind11-stubgen and checked in; this test regenerates them and fails when they differ, so
they cannot go stale. To refresh them after changing a binding:

    python -m pybind11_stubgen gensample._core -o python --numpy-array-use-type-var
"""

import subprocess
import sys
from pathlib import Path

import gensample

STUBS = Path(gensample.__file__).parent / "_core"


def test_core_stubs_are_generated_from_the_core(tmp_path):
    command = [sys.executable, "-m", "pybind11_stubgen", "gensample._core", "-o", str(tmp_path)]
    subprocess.run([*command, "--numpy-array-use-type-var"], check=True, capture_output=True)
    fresh = {p.name: p.read_text() for p in (tmp_path / "gensample" / "_core").glob("*.pyi")}
    committed = {p.name: p.read_text() for p in STUBS.glob("*.pyi")}
    assert sorted(fresh) == sorted(committed), "a submodule was added or removed: regenerate the stubs (module doc)"
    stale = sorted(name for name in fresh if fresh[name] != committed[name])
    assert not stale, f"stale stubs {stale}: regenerate them (this module's docstring says how)"
