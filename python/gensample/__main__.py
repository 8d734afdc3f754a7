"""The ``gensample`` command line (also ``python -m gensample``).

    gensample sample MODEL -n N -o FILE [--seed S] [--dtype] [--chunk] [--threads] [--resume]
    gensample fit kde|gmm DATA -o MODEL.npz [--labels LABELS.npy] [options]
    gensample info FILE
    gensample plot FILE -o OUT.png
    gensample bench [AREA]

Exit codes: 0 done, 1 interrupted (Ctrl-C; ``sample --resume`` carries on), 2 a user
mistake (reported on stderr in one line, without a traceback).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .distribution import Distribution

from . import datasets
from .regions import Box

# Built-in models by name.
MODELS: dict[str, Callable[[], Distribution]] = {
    "unit-square": lambda: Box([0.0, 0.0], [1.0, 1.0]),
    "unit-cube": lambda: Box([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    "world-land": datasets.world_land,
    "horse": datasets.horse,
    "hostage-scene": datasets.hostage_scene,
    "moons": datasets.moons,
    "circles": datasets.circles,
    "checkerboard": datasets.checkerboard,
    "eight-gaussians": datasets.eight_gaussians,
    "spirals": datasets.spirals,
    "pinwheel": datasets.pinwheel,
}


class UsageError(Exception):
    """A user mistake: reported on stderr without a traceback, exit code 2."""


def _count(text: str) -> int:
    """A row count as people write it: 1000000, 1e6, 1_000_000 (a whole number)."""
    try:
        return int(text.replace("_", ""))
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number such as 1000000 or 1e6, got {text!r}") from None
    if not value.is_integer() or abs(value) >= 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number such as 1000000 or 1e6, got {text!r}")
    return int(value)


# The library's messages name its keywords; the command line's name its flags.
_FLAGS = [
    (re.compile(r"\bpass overwrite=True\b"), "pass --overwrite"),
    (re.compile(r"\bpass resume=False\b"), "run without --resume"),
    (re.compile(r"\bresume=True\b"), "--resume"),
    (re.compile(r"\boverwrite=True\b"), "--overwrite"),
    (re.compile(r"\bon_failure='return'\b"), "a model whose on_failure is 'return'"),
    (re.compile(r"^n must\b"), "-n must"),
    (re.compile(r"^chunk must\b"), "--chunk must"),
    (re.compile(r"^n_threads must\b"), "--threads must"),
    (re.compile(r"^out must\b"), "-o must"),
]


def _cli_words(message: str) -> str:
    for pattern, flag in _FLAGS:
        message = pattern.sub(flag, message)
    return message


def _model(name: str):
    """A built-in model by name, or a model file by path."""
    if name in MODELS:
        return MODELS[name]()
    if os.path.exists(name):
        from .io import load

        return load(name)
    raise UsageError(
        f"unknown model {name!r}: not a model file, and not one of the built-in models: {', '.join(sorted(MODELS))}"
    )


def _sample(args) -> int:
    from .scale import generate, label_values, labels_path

    if args.n < 0:
        raise UsageError(f"-n must be non-negative, got {args.n}")
    if args.chunk is not None and args.chunk < 1:
        raise UsageError(f"--chunk must be a positive number of rows, got {args.chunk}")
    seed = secrets.randbits(63) if args.seed is None else args.seed
    model = _model(args.model)
    path = generate(
        model,
        args.n,
        rng=seed,
        out=args.output,
        chunk=args.chunk,
        dtype=np.dtype(args.dtype),
        progress=not args.no_progress,
        n_threads=args.threads,
        overwrite=args.overwrite,
        resume=args.resume,
    )
    print(f"wrote {args.n} samples of {args.model} ({model.dim}-D, {args.dtype}, seed {seed}) to {path}")
    if label_values(model) is not None:
        where = "its 'label' column" if path.suffix.lower() == ".parquet" else labels_path(path)
        print(f"wrote their labels to {where}")
    return 0


def _bandwidth(text: str):
    if text in ("scott", "silverman"):
        return text
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--bandwidth must be 'scott', 'silverman' or a number, got {text!r}") from None


def _labels(path: str, n: int) -> np.ndarray:
    """--labels: a .npy of one label per row of the data (numbers or strings)."""
    if Path(path).suffix.lower() != ".npy":
        raise UsageError(f"--labels must be a .npy file of labels, one per row of DATA, got {path}")
    if not os.path.exists(path):
        raise UsageError(f"--labels: {path} does not exist")
    y = np.load(path, allow_pickle=False)
    if y.ndim != 1 or len(y) != n:
        raise UsageError(f"--labels must hold one label per row of DATA ({n}), got shape {y.shape}")
    return y


def _fit(args) -> int:
    from .conditional import Conditional
    from .gmm import GMM
    from .kde import KDE
    from .scale import read

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise UsageError(f"{out} exists: pass --overwrite to replace it")
    X = read(args.data)
    y = None if args.labels is None else _labels(args.labels, len(X))
    model: Distribution
    if args.model == "kde":
        estimator = KDE(bandwidth=_bandwidth(args.bandwidth), kernel=args.kernel)
        summary = f"KDE ({args.kernel} kernel, bandwidth {args.bandwidth})"
    else:
        estimator = GMM(args.components, args.covariance, max_iter=args.max_iter, n_init=args.n_init, rng=args.seed)
        summary = f"GMM ({args.components} {args.covariance} components"
    if y is None:
        model = estimator.fit(X) if isinstance(estimator, KDE) else estimator.fit(X, n_threads=args.threads)
        if isinstance(model, GMM):
            summary += f", {model.n_iter_} EM iterations, {'converged' if model.converged_ else 'not converged'})"
        summary += f" of {len(X)} points"
    else:
        model = Conditional(estimator).fit(X, y)
        if isinstance(estimator, GMM):
            summary += ")"
        summary += f" per label, {len(model.classes_)} labels, of {len(X)} points"
    model.save(out, overwrite=args.overwrite)
    print(f"wrote {summary} in {X.shape[1]}-D to {out}")
    return 0


def _info(args) -> int:
    from .scale import inspect

    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if path.suffix.lower() in (".npy", ".parquet", ".zarr"):
        info = inspect(path)
        labelled = ", with labels" if info.get("labels") else ""
        print(
            f"{path}: {info['format']} samples, {info['rows']} rows x {info['dim']} columns, {info['dtype']}{labelled}"
        )
        for k, v in info.get("metadata", {}).items():
            print(f"  {k}: {v}")
        return 0
    from .io import describe

    for line in describe(path):
        print(line)
    return 0


def _plot(args) -> int:
    try:
        import matplotlib
    except ImportError:
        raise UsageError("plot needs matplotlib: pip install 'gensample[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import scatter
    from .scale import read

    path = Path(args.file)
    if path.suffix.lower() in (".npy", ".parquet", ".zarr"):
        data, title = read(path, max_rows=args.n), f"{path.name}"
    else:
        data, title = _model(str(path)), f"{path.name}: {args.n} samples"
    fig, ax = plt.subplots(figsize=(6, 6), dpi=120)
    scatter(data, n=args.n, ax=ax, rng=args.seed)
    ax.set_title(title)
    fig.savefig(args.output, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.output}")
    return 0


def _bench_dir(given) -> Path | None:
    """bench/ of a source checkout: the one given, the current folder's, or beside the package."""
    here = Path(__file__).resolve().parents[2] / "bench"
    for d in [Path(given)] if given else [Path.cwd() / "bench", here]:
        if d.is_dir() and any(d.glob("bench_*.py")):
            return d
    return None


def _bench(args) -> int:
    folder = _bench_dir(args.dir)
    if folder is None:
        raise UsageError(
            "no bench/ suites found: they live in gensample's source checkout (not in the wheel); "
            "run from the checkout or pass --dir PATH/TO/bench"
        )
    suites = {p.stem[len("bench_") :]: p for p in sorted(folder.glob("bench_*.py"))}
    if args.list:
        for name, path in suites.items():
            print(f"{name:<12} {_first_line(path)}")
        return 0
    if args.area is not None and args.area not in suites:
        raise UsageError(f"unknown bench area {args.area!r}; areas in {folder}: {', '.join(suites)}")
    passed = [f"--{k}={v}" for k in ("n", "threads", "repeats") if (v := getattr(args, k)) is not None]
    status = 0
    for area in [args.area] if args.area else list(suites):
        print(f"== bench {area} ({suites[area]}) {' '.join(passed)}", flush=True)
        status = max(status, subprocess.call([sys.executable, str(suites[area]), *passed], cwd=folder.parent))
    return status


def _first_line(path: Path) -> str:
    """The first line of a suite's docstring: what it measures against what."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().split("\n")[0]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gensample",
        description="Fast sampling for generative modelling.",
        epilog="Run 'gensample COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "sample",
        help="draw samples of a model into a file (.npy, .parquet, .zarr)",
        description="Draw N samples of MODEL into FILE, in chunks (bounded memory). The same seed "
        "gives the same bytes for any --chunk and --threads.",
    )
    p.add_argument("model", metavar="MODEL", help=f"a model file (.npz) or one of: {', '.join(sorted(MODELS))}")
    p.add_argument("-n", type=_count, required=True, help="number of samples (1000000 or 1e6)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file: .npy, .parquet or .zarr")
    p.add_argument("--seed", type=int, default=None, help="seed (default: a fresh one, printed)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--chunk", type=_count, default=None, help="rows per chunk (default: 32 MiB)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads (default: gensample's rules: OMP_NUM_THREADS, else all cores)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    p.add_argument("--resume", action="store_true", help="carry on from an interrupted run's FILE.partial/")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_sample)

    p = sub.add_parser(
        "fit",
        help="fit a KDE or a GMM to data and save it as a model file",
        description="Fit a KDE or a GMM to the rows of DATA (.npy, .parquet or .zarr) and save "
        "it as a model file that 'gensample sample' and gensample.load read.",
    )
    p.add_argument("model", choices=["kde", "gmm"])
    p.add_argument("data", metavar="DATA", help="training data: (n, d) rows")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz")
    p.add_argument("--overwrite", action="store_true", help="replace the model file if it exists")
    p.add_argument(
        "--labels",
        default=None,
        metavar="LABELS.npy",
        help="one label per row of DATA: fit p(x | label) per label (gensample.Conditional); "
        "its samples then carry their labels",
    )
    p.add_argument("--bandwidth", default="scott", help="kde: 'scott', 'silverman' or a number (default: scott)")
    p.add_argument(
        "--kernel",
        default="gaussian",
        choices=["gaussian", "tophat", "epanechnikov", "exponential", "linear", "cosine"],
        help="kde",
    )
    p.add_argument("--components", type=int, default=8, help="gmm: number of components (default: 8)")
    p.add_argument("--covariance", default="full", choices=["full", "diag", "spherical", "tied"], help="gmm")
    p.add_argument("--max-iter", type=int, default=100, help="gmm: EM iterations at most")
    p.add_argument("--n-init", type=int, default=1, help="gmm: initialisations")
    p.add_argument("--seed", type=int, default=0, help="gmm: seed of the initialisation (default: 0)")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(run=_fit)

    p = sub.add_parser(
        "info",
        help="describe a model file or a samples file",
        description="Describe a model file (type, dimension, parameters) or a samples file "
        "(format, rows, columns, dtype and what gensample recorded in it).",
    )
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=_info)

    p = sub.add_parser("plot", help="scatter plot of a samples file or of a model's samples (needs matplotlib)")
    p.add_argument("file", metavar="FILE", help="a samples file, a model file, or a built-in model's name")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png")
    p.add_argument("-n", type=int, default=20_000, help="points to draw at most (default: 20000)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_plot)

    p = sub.add_parser("bench", help="run the bench/ suites of a source checkout (peers side by side)")
    p.add_argument("area", nargs="?", help="one suite (see --list); default: all")
    p.add_argument("--list", action="store_true", help="list the suites and what each measures")
    p.add_argument("--dir", default=None, help="the bench/ folder (default: ./bench or the checkout's)")
    p.add_argument("--n", type=_count, default=None, help="the suite's size (its --n; see its --help)")
    p.add_argument("--threads", type=int, default=None, help="gensample's threads in the suite")
    p.add_argument("--repeats", type=int, default=None, help="runs per case (the best or the median counts)")
    p.set_defaults(run=_bench)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"gensample: warning: {_cli_words(str(message))}", file=sys.stderr)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return args.run(args)
    except KeyboardInterrupt:
        hint = " (gensample sample --resume carries on)" if args.command == "sample" else ""
        print(f"gensample: interrupted{hint}", file=sys.stderr)
        return 1
    except (UsageError, ValueError, TypeError, OSError, MemoryError, ImportError, RuntimeError) as exc:
        print(f"gensample: error: {_cli_words(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
