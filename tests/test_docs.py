"""The docstring examples of the installed package run and give what they show."""

import doctest
from pathlib import Path

import pytest

import gensample
import gensample.compat.scipy
import gensample.compat.sklearn
import gensample.conditional
import gensample.dask
import gensample.datasets
import gensample.fields
import gensample.flow
import gensample.gmm
import gensample.io
import gensample.kde
import gensample.latent
import gensample.mcmc
import gensample.metrics
import gensample.plot
import gensample.polygon
import gensample.random
import gensample.raster
import gensample.regions
import gensample.scale
import gensample.threads
from gensample import _files, _formats, _network, _progress, _tiles

# Every module of the package (a new one fails test_every_module_is_listed until it is here).
MODULES = [
    gensample,
    gensample.compat.scipy,
    gensample.compat.sklearn,
    gensample.dask,
    gensample.datasets,
    gensample.fields,
    gensample.flow,
    gensample.gmm,
    gensample.io,
    gensample.kde,
    gensample.latent,
    gensample.conditional,
    gensample.mcmc,
    gensample.metrics,
    gensample.plot,
    gensample.polygon,
    gensample.random,
    gensample.raster,
    gensample.regions,
    gensample.scale,
    gensample.threads,
    _progress,
    _tiles,
]
# file-system primitives and samples files (tested in test_scale); the network translator (test_decoder)
WITHOUT_EXAMPLES = {_files, _formats, _network}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_every_module_is_listed():
    package = Path(gensample.__file__).parent
    names = {".".join(p.relative_to(package.parent).with_suffix("").parts) for p in package.rglob("*.py")}
    names = {n[: -len(".__init__")] if n.endswith(".__init__") else n for n in names}
    names -= {"gensample.__main__"} | {n for n in names if n.startswith("gensample.reference")}
    names -= {"gensample.compat", "gensample.distribution", "gensample._validation", "gensample._typing"}  # no examples
    assert names == {m.__name__ for m in MODULES} | {m.__name__ for m in WITHOUT_EXAMPLES}


def test_no_example_is_skipped():
    """Every example runs: none marked +SKIP."""
    package = Path(gensample.__file__).parent
    skipped = [str(p) for p in package.rglob("*.py") if "doctest: +SKIP" in p.read_text()]
    assert skipped == []
