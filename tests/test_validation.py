"""The input checks' pass over an array (cpp/src/validation.cpp) against its NumPy twin,
and the errors the public API raises from it."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gensample as gs
from gensample import _core
from gensample.reference import validation as ref

# around the vector widths (2-16 lanes, two vectors a step) and the 2^16-value tasks
LENGTHS = [0, 1, 2, 15, 16, 17, 31, 32, 33, 65535, 65536, 65537, 3 * 65536 + 5]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", LENGTHS)
def test_scan_matches_reference(n, dtype):
    rng = np.random.default_rng(n)
    x = (rng.standard_cauchy(n) * 10).astype(dtype)
    assert _core.validation.scan_values(x, 0) == ref.scan_values(x)
    for bad in (np.nan, np.inf, -np.inf):
        for where in {0, n // 2, n - 1} if n else ():
            y = x.copy()
            y[where] = bad
            assert not _core.validation.scan_values(y, 0)[0] and not ref.scan_values(y)[0], (bad, where)


@given(
    values=st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), max_size=80),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_scan_matches_reference_on_any_values(values, dtype):
    """Signed zeros, subnormals, the largest finite values, NaN and inf anywhere."""
    x = np.array(values, dtype=dtype)
    finite, largest = _core.validation.scan_values(x, 0)
    want_finite, want_largest = ref.scan_values(x)
    assert finite == want_finite
    if finite:
        assert largest == want_largest


def test_scan_any_shape_any_thread_count():
    x = np.random.default_rng(0).normal(size=(1000, 3, 7)) * 1e300
    want = ref.scan_values(x)
    assert all(_core.validation.scan_values(x, t) == want for t in (1, 2, 3, 8))


def test_scan_refuses_what_it_cannot_read_in_place():
    x = np.ones((10, 4))
    with pytest.raises(ValueError, match="x: expected a C-contiguous float32 or float64 array"):
        _core.validation.scan_values(x[:, ::2], 0)
    with pytest.raises(ValueError, match="x: expected a C-contiguous float32 or float64 array"):
        _core.validation.scan_values(np.ones(5, np.int64), 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_public_api_refuses_non_finite_points(bad, dtype):
    g = gs.GMM.from_parameters([1.0], np.zeros((1, 3)), np.eye(3)[None])
    kde = gs.KDE(bandwidth=1.0).fit(np.random.default_rng(1).normal(size=(50, 3)))
    x = np.zeros((70000, 3), dtype)
    x[-1, 2] = bad
    for evaluate in (g.logpdf, kde.logpdf):
        with pytest.raises(ValueError, match="x must be finite"):
            evaluate(x)
    with pytest.raises(ValueError, match="must be finite"):
        gs.KDE(bandwidth=1.0).fit(x)


def test_public_api_refuses_values_whose_squares_overflow():
    ok = np.zeros((5, 2)) + np.arange(5)[:, None]
    for dtype, big, limit in [(np.float64, 1e200, r"1e\+150"), (np.float32, 1e30, r"1e\+17")]:
        x = ok.astype(dtype)
        x[3, 1] = -big
        with pytest.raises(ValueError, match=rf"x must have \|values\| <= {limit} as {np.dtype(dtype)} .* got 1e\+"):
            gs.metrics.energy_distance(x, ok.astype(dtype))
    kde = gs.KDE(bandwidth=1.0).fit(ok)
    with pytest.raises(ValueError, match=r"divided by the bandwidth\) must have \|values\| <= 1e\+150"):
        kde.grad_logpdf(np.array([[0.0, 1e200]]))


def _entry_points(value):
    """The same array argument, given to every area that takes one."""
    eye = np.stack([np.eye(2)] * 2)
    return {
        "Box low": lambda: gs.Box(value, [1.0, 1.0]),
        "GMM means": lambda: gs.GMM.from_parameters([0.5, 0.5], value, eye),
        "GMM weights": lambda: gs.GMM.from_parameters(value, [[0.0, 0.0], [1.0, 1.0]], eye),
        "KDE bandwidth": lambda: gs.KDE(bandwidth=value).fit(np.random.default_rng(0).normal(size=(20, 2))),
        "Polygon ring": lambda: gs.Polygon(value),
        "RasterMask weights": lambda: gs.RasterMask(np.ones((2, 2), dtype=bool), weights=value),
        "KDE.logpdf x": lambda: gs.KDE().fit(np.random.default_rng(0).normal(size=(20, 2))).logpdf(value),
    }


@pytest.mark.parametrize(
    "value, error",
    [
        (np.array([["a", "b"], ["c", "d"]]), TypeError),  # not numbers: the kind of value is wrong
        (np.array([[1 + 1j, 0], [0, 1]]), TypeError),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), ValueError),  # numbers, wrong values
    ],
)
def test_one_exception_class_per_kind_of_mistake(value, error):
    for where, call in _entry_points(value).items():
        with pytest.raises(error) as info:
            call()
        assert info.type is error or issubclass(info.type, error), where


def test_models_cross_the_boundary_by_name():
    """A model dict with a field missing or of the wrong dtype or shape names the model and
    the field (bindings/common.hpp's Named), whatever the area."""
    g = gs.GMM.from_parameters([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], np.stack([np.eye(2)] * 2))
    x = np.zeros((3, 2))
    engine = dict(g._engine(np.float64))
    del engine["log_coef"]
    with pytest.raises(ValueError, match=r"mixture\[log_coef\]: missing"):
        _core.gmm.log_density(engine, x, 1)
    engine = {**g._engine(np.float64), "offset": np.zeros((3, 2))}
    with pytest.raises(ValueError, match=r"mixture\[offset\]: wrong shape \(3, 2\)"):
        _core.gmm.log_density(engine, x, 1)
    engine = {**g._engine(np.float64), "mean": np.zeros((2, 2), np.float32)}
    with pytest.raises(ValueError, match=r"mixture\[mean\]: expected a C-contiguous array of float64"):
        _core.gmm.log_density(engine, x, 1)
    with pytest.raises(ValueError, match=r"path\[kind\]: missing"):
        _core.flow.path_coefficients({"beta_min": 0.1, "beta_max": 20.0}, 0.5)


def test_enums_come_from_the_core():
    """Python never mirrors a code: the names of kernels, paths, solvers, activations and
    pair kernels are the C++ enums' own (py::native_enum)."""
    assert gs.kde.KERNELS == tuple(_core.kde.Kernel.__members__)
    assert gs.fields.PATHS == ("linear", "cosine", "vp")
    assert gs.flow.SOLVERS == ("euler", "midpoint", "heun", "rk4", "dopri5")
    assert gs.fields.ACTIVATIONS == tuple(_core.flow.Activation.__members__)
    assert [s.value for s in _core.flow.Status] == [0, 1, 2, 3]
