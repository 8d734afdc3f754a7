"""gensample.random against its NumPy twin, across thread counts, slices and statistics."""

import _thread
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import gensample as gs
from gensample import _core
from gensample.reference import random as ref

DTYPES = [np.float64, np.float32]


def ulps_ok(actual, expected, ulps):
    """|actual - expected| within `ulps` ulps of max(1, |expected|).

    Box-Muller's error is relative to the radius r, so near zero crossings of cos/sin an
    absolute bound scaled by max(1, |z|) is the honest measure.
    """
    eps = np.finfo(expected.dtype).eps
    return np.all(np.abs(actual - expected) <= ulps * eps * np.maximum(1.0, np.abs(expected)))


# --- exact agreement with the reference ------------------------------------------------


@given(n=st.integers(0, 300), dim=st.integers(1, 9), seed=st.integers(0, 2**64 - 1))
def test_uniform_f64_matches_reference_exactly(n, dim, seed):
    key = gs.random.key_from_rng(seed)
    np.testing.assert_array_equal(gs.random.uniform(n, dim, rng=seed), ref.uniform(key, n, dim))


@given(n=st.integers(0, 300), dim=st.integers(1, 9), seed=st.integers(0, 2**32))
def test_uniform_f32_matches_reference_exactly(n, dim, seed):
    key = gs.random.key_from_rng(seed)
    out = gs.random.uniform(n, dim, rng=seed, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref.uniform(key, n, dim, np.float32))


@given(n=st.integers(0, 300), dim=st.integers(1, 9), seed=st.integers(0, 2**32))
def test_normal_matches_reference_to_a_few_ulps(n, dim, seed):
    key = gs.random.key_from_rng(seed)
    assert ulps_ok(gs.random.normal(n, dim, rng=seed), ref.normal(key, n, dim), 4)


def test_normal_f32_is_f64_rounded():
    z64 = gs.random.normal(10_000, 3, rng=11)
    z32 = gs.random.normal(10_000, 3, rng=11, dtype=np.float32)
    np.testing.assert_array_equal(z32, z64.astype(np.float32))


def test_normal_accuracy_on_a_large_draw():
    key = gs.random.key_from_rng(3)
    assert ulps_ok(gs.random.normal(200_000, 2, rng=3), ref.normal(key, 200_000, 2), 4)


@pytest.mark.parametrize("high", [1, 2, 6, 1000, 2**32 + 1, 3 * 2**61 + 7, 2**63])
def test_integers_match_reference_exactly(high):
    # 3 * 2**61 + 7 rejects ~1/4 of words, exercising the retry stream.
    key = gs.random.key_from_rng(9)
    out = gs.random.integers(300, high, dim=3, rng=9)
    np.testing.assert_array_equal(out, ref.integers(key, 300, 3, high))
    assert out.dtype == np.int64 and out.min() >= 0 and out.max() < high


# --- the counter contract --------------------------------------------------------------


@pytest.mark.parametrize("fn", [gs.random.uniform, gs.random.normal])
@pytest.mark.parametrize("dtype", DTYPES)
def test_identical_for_every_thread_count(fn, dtype):
    runs = [fn(100_003, 3, rng=5, dtype=dtype, n_threads=t) for t in (1, 2, 7)]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0], other)


def test_global_thread_setting_does_not_change_results():
    base = gs.random.normal(50_001, 2, rng=1)
    try:
        gs.set_num_threads(3)
        assert gs.get_num_threads() == 3  # the pool runs threads with or without OpenMP
        np.testing.assert_array_equal(gs.random.normal(50_001, 2, rng=1), base)
    finally:
        gs.set_num_threads(None)


@given(a=st.integers(0, 500), length=st.integers(0, 500), extra=st.integers(0, 300), dim=st.integers(1, 6))
@pytest.mark.parametrize("fn", [gs.random.uniform, gs.random.normal])
def test_rows_do_not_depend_on_n(fn, a, length, extra, dim):
    b = a + length
    small = fn(b, dim, rng=42)
    large = fn(b + extra, dim, rng=42)
    np.testing.assert_array_equal(small[a:b], large[a:b])


def test_seed_forms():
    assert gs.random.key_from_rng(7) == gs.random.key_from_rng(np.int64(7))
    assert gs.random.key_from_rng([1, 2]) == gs.random.key_from_rng(np.random.SeedSequence([1, 2]))
    assert gs.random.key_from_rng(1) != gs.random.key_from_rng(2)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(gs.random.uniform(10, rng=g1), gs.random.uniform(10, rng=g2))
    assert not np.array_equal(gs.random.uniform(10, rng=None), gs.random.uniform(10, rng=None))


# --- statistics (each test rejects a correct generator with probability alpha) ---------

ALPHA = 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform_ks(dtype):
    u = gs.random.uniform(200_000, 2, rng=123, dtype=dtype)
    for j in range(2):
        assert stats.kstest(u[:, j], "uniform").pvalue > ALPHA


@pytest.mark.slow
def test_uniform_chi_square_on_fine_bins():
    u = gs.random.uniform(1_000_000, rng=321)[:, 0]
    counts = np.bincount((u * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_ks_and_moments(dtype):
    z = gs.random.normal(200_000, 2, rng=77, dtype=dtype).astype(np.float64)
    for j in range(2):
        assert stats.kstest(z[:, j], "norm").pvalue > ALPHA
    # The two Box-Muller branches must be uncorrelated.
    r = np.corrcoef(z[:, 0], z[:, 1])[0, 1]
    assert abs(r) < 4.5 / np.sqrt(len(z))  # |N(0,1)| > 4.5 has p < 1e-5


@pytest.mark.slow
def test_normal_tails():
    z = gs.random.normal(2_000_000, rng=5)[:, 0]
    # P(|Z| > 3) = 0.0026998; binomial test on the count.
    k = int(np.sum(np.abs(z) > 3))
    assert stats.binomtest(k, len(z), 2 * stats.norm.sf(3)).pvalue > ALPHA


@pytest.mark.slow
def test_integers_chi_square():
    k = gs.random.integers(600_000, 6, rng=8)[:, 0]
    assert stats.chisquare(np.bincount(k, minlength=6)).pvalue > ALPHA


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [gs.random.uniform, gs.random.normal])
def test_bad_arguments(fn):
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        fn(-1)
    with pytest.raises(TypeError, match="n must be a non-negative integer"):
        fn(2.5)
    with pytest.raises(TypeError, match="n must be"):
        fn(True)
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        fn(3, dim=0)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        fn(3, dtype=np.int32)
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        fn(3, n_threads=0)
    with pytest.raises(ValueError, match="negative seed"):
        fn(3, rng=-1)
    with pytest.raises(TypeError, match="rng must be"):
        fn(3, rng="seed")
    with pytest.raises(TypeError, match="rng must be"):
        fn(3, rng=1.5)
    with pytest.raises(MemoryError, match="draw it in chunks"):
        fn(2**62, dim=4)


@pytest.mark.parametrize("fn", [gs.random.uniform, gs.random.normal])
@pytest.mark.parametrize("dtype", DTYPES)
def test_out_is_filled_in_place(fn, dtype):
    buf = np.full((1001, 3), np.nan, dtype=dtype)
    res = fn(1001, 3, rng=2, dtype=dtype, out=buf)
    assert res is buf
    np.testing.assert_array_equal(buf, fn(1001, 3, rng=2, dtype=dtype))


@pytest.mark.parametrize("fn", [gs.random.uniform, gs.random.normal])
def test_bad_out(fn):
    with pytest.raises(ValueError, match=r"out must have shape \(n, dim\) = \(4, 2\) and dtype float64"):
        fn(4, 2, out=np.empty((4, 3)))
    with pytest.raises(ValueError, match="out must have shape"):
        fn(4, 2, out=np.empty((4, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="C-contiguous and writable"):
        fn(4, 2, out=np.empty((2, 4)).T)
    with pytest.raises(TypeError, match="out must be a numpy array"):
        fn(4, 2, out=[[0.0, 0.0]] * 4)


def test_integers_bad_high():
    with pytest.raises(ValueError, match=r"high must be in \[1, 2\*\*63\]"):
        gs.random.integers(3, 0)
    with pytest.raises(ValueError, match="high must be"):
        gs.random.integers(3, 2**64)
    with pytest.raises(TypeError, match="high must be an integer"):
        gs.random.integers(3, 2.0)


def test_empty_draw():
    assert gs.random.uniform(0, 3, rng=0).shape == (0, 3)
    assert gs.random.normal(0, rng=0).shape == (0, 1)


def test_core_rejects_wrong_buffers():
    with pytest.raises(ValueError, match="out: expected a C-contiguous float32 or float64 array"):
        _core.random.fill_uniform(1, np.empty((4, 4))[:, ::2], 1)
    with pytest.raises(ValueError, match="C-contiguous 2-D"):
        _core.random.fill_uniform(1, np.empty(4), 1)
    with pytest.raises(ValueError, match="writable"):
        a = np.empty((4, 2))
        a.setflags(write=False)
        _core.random.fill_normal(1, a, 1)


@pytest.mark.parametrize("n_threads", [1, 2, 7])
def test_exception_inside_parallel_region_is_rethrown(n_threads):
    with pytest.raises(ValueError, match="item 123456 failed"):
        _core.threads._throw_in_parallel(10**6, 123456, n_threads)
    _core.threads._throw_in_parallel(10**6, -1, n_threads)  # and the pool still works


# --- interrupts -------------------------------------------------------------------------


def test_ctrl_c_interrupts_a_long_draw(sigint_raises):
    """A SIGINT during a long kernel stops it between batches with KeyboardInterrupt.

    Without polling, the interrupt would surface only after the whole call; so the call
    must also end well before an uninterrupted one would (estimated from a quarter-size run).
    """
    n = 100_000_000
    t0 = time.perf_counter()
    gs.random.normal(n // 4, rng=0, n_threads=1)
    full_estimate = 4 * (time.perf_counter() - t0)

    timer = threading.Timer(0.05, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            gs.random.normal(n, rng=0, n_threads=1)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 0.5 * full_estimate
    # State is sane afterwards.
    np.testing.assert_array_equal(gs.random.uniform(10, rng=1), gs.random.uniform(10, rng=1))
