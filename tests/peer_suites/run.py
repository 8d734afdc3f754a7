"""Run the peers' own test suites against ``gensample.compat``, one import changed.

Each suite is copied from the installed scipy or scikit-learn into a temporary folder (never
committed), patched by the smallest mechanical change that points the peer's class at
gensample's drop-in, and run by pytest with the expected failures of ``expected.py`` marked
``xfail(strict=True)``: a listed test that starts to pass fails the run too, so the list
stays true. A peer release that moves the patched line fails loudly instead of skipping.

    python tests/peer_suites/run.py                      # the three suites
    python tests/peer_suites/run.py --mode float32       # SKLEARN_RUN_FLOAT32_TESTS=1
    python tests/peer_suites/run.py --mode array-api     # SCIPY_ARRAY_API=1 (torch CPU tensors)
    python tests/peer_suites/run.py --baseline           # unpatched: the peers on themselves
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _installed(module: str, relative: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SystemExit(f"peer suites: {module} is not installed (pip install 'gensample[test]')")
    path = Path(spec.origin).parent / relative
    if not path.exists():
        raise SystemExit(f"peer suites: {path} is missing from the installed {module}")
    return path


def _replace(text: str, pattern: str, replacement: str, *, name: str) -> str:
    patched, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count == 0:
        raise SystemExit(f"peer suites: the patch of {name} no longer applies ({pattern!r} not found)")
    return patched


def _patch_scipy_kde(text: str) -> str:
    # every use goes through ``stats.gaussian_kde``; the name alone points at the drop-in
    text = _replace(text, r"\bstats\.gaussian_kde\b", "gaussian_kde", name="test_kdeoth.py")
    return _replace(
        text,
        r"^import pytest$",
        "import pytest\nfrom gensample.compat.scipy import gaussian_kde",
        name="test_kdeoth.py",
    )


def _after_import(text: str, line: str, name: str, new_import: str) -> str:
    return _replace(text, rf"^{re.escape(line)}$", f"{line}\n{new_import}", name=name)


def _patch_sklearn_kde(text: str) -> str:
    return _after_import(
        text,
        "from sklearn.neighbors import KDTree, KernelDensity, NearestNeighbors",
        "test_kde.py",
        "from gensample.compat.sklearn import KernelDensity",
    )


def _patch_sklearn_gmm(text: str) -> str:
    return _after_import(
        text,
        "from sklearn.mixture import GaussianMixture",
        "test_gaussian_mixture.py",
        "from gensample.compat.sklearn import GaussianMixture",
    )


SUITES = {
    "scipy_kde": ("scipy.stats", "tests/test_kdeoth.py", _patch_scipy_kde),
    "sklearn_kde": ("sklearn.neighbors", "tests/test_kde.py", _patch_sklearn_kde),
    "sklearn_gmm": ("sklearn.mixture", "tests/test_gaussian_mixture.py", _patch_sklearn_gmm),
}

CONFTEST = """
import pytest
from expected import EXPECTED

MODE = {mode!r}
BASELINE = {baseline!r}


def pytest_collection_modifyitems(config, items):
    if BASELINE:
        return
    expected = dict(EXPECTED["all"])
    expected.update(EXPECTED.get(MODE, {{}}))
    seen = set()
    for item in items:
        module = item.path.stem.removeprefix("test_")
        for key in (f"{{module}}::{{item.name}}", f"{{module}}::{{item.originalname}}"):
            if key in expected:
                seen.add(key)
                item.add_marker(pytest.mark.xfail(reason=expected[key], strict=True))
                break
    suites = {{item.path.stem.removeprefix("test_") for item in items}}
    stale = sorted(k for k in expected if k.split("::")[0] in suites and k not in seen)
    if stale:
        raise pytest.UsageError("expected failures that name no collected test: " + ", ".join(stale))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["default", "float32", "array-api"], default="default")
    parser.add_argument("--baseline", action="store_true", help="run the peers' suites unpatched")
    parser.add_argument("--suite", choices=sorted(SUITES), action="append", help="one suite (repeatable)")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    if args.mode == "float32":
        env["SKLEARN_RUN_FLOAT32_TESTS"] = "1"
    elif args.mode == "array-api":
        env["SCIPY_ARRAY_API"] = "1"

    with tempfile.TemporaryDirectory(prefix="gensample-peers-") as tmp:
        folder = Path(tmp)
        shutil.copy(HERE / "expected.py", folder / "expected.py")
        (folder / "conftest.py").write_text(CONFTEST.format(mode=args.mode, baseline=args.baseline))
        for name in args.suite or sorted(SUITES):
            module, relative, patch = SUITES[name]
            text = _installed(module, relative).read_text()
            (folder / f"test_{name}.py").write_text(text if args.baseline else patch(text))
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "sklearn.conftest",
            "--rootdir", str(folder), "-c", os.devnull, "-W", "ignore::pytest.PytestUnknownMarkWarning",
            str(folder), *args.pytest_args,
        ]  # fmt: skip
        return subprocess.call(command, cwd=folder, env=env)


if __name__ == "__main__":
    sys.exit(main())
