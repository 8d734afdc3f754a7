"""The ``gensample`` command line: ``gensample sample MODEL -n N -o FILE``."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import datasets
from .regions import Box

# Built-in models by name; later areas add theirs here.
MODELS = {
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


def _sample(args) -> int:
    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; built-in models: {', '.join(sorted(MODELS))}")
    if args.n < 0:
        raise UsageError(f"-n must be non-negative, got {args.n}")
    if not args.output.endswith(".npy"):
        raise UsageError(f"output must be a .npy file, got {args.output!r}")
    model = MODELS[args.model]()
    x = model.sample(args.n, rng=args.seed, dtype=np.dtype(args.dtype), n_threads=args.threads)
    np.save(args.output, x)
    print(f"wrote {x.shape[0]} samples of {args.model} ({x.shape[1]}-D, {x.dtype}) to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gensample", description="Fast sampling for generative modelling.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sample", help="draw samples from a built-in model and save them as .npy")
    p.add_argument("model", help=f"one of: {', '.join(sorted(MODELS))}")
    p.add_argument("-n", type=int, required=True, help="number of samples")
    p.add_argument("-o", "--output", required=True, help="output file (.npy)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: fresh entropy)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.set_defaults(run=_sample)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, ValueError, TypeError, OSError, MemoryError, ImportError) as exc:
        print(f"gensample: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
