"""The docstring examples of the installed package run and give what they show."""

import doctest

import pytest

import gensample
import gensample.compat.scipy
import gensample.compat.sklearn
import gensample.dask
import gensample.fields
import gensample.flow
import gensample.gmm
import gensample.io
import gensample.kde
import gensample.metrics
import gensample.plot
import gensample.random
import gensample.regions
import gensample.scale
import gensample.threads

MODULES = [gensample, gensample.compat.scipy, gensample.compat.sklearn, gensample.dask, gensample.fields, gensample.flow,
           gensample.gmm, gensample.io, gensample.kde, gensample.metrics, gensample.plot, gensample.random, gensample.regions,
           gensample.scale, gensample.threads]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
