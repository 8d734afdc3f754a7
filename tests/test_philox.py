"""Philox4x32-10: Random123's published known-answer vectors, in C++ and in NumPy."""

import numpy as np
import pytest

from gensample import _core
from gensample.reference import philox as ref

# Random123 kat_vectors, "philox4x32 10": counter (4 words), key (2 words) -> output.
KAT = [
    (
        (0x00000000, 0x00000000, 0x00000000, 0x00000000),
        (0x00000000, 0x00000000),
        (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8),
    ),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def key64(k):
    return k[0] | (k[1] << 32)


@pytest.mark.parametrize("ctr, key, expected", KAT)
def test_known_answers_cpp(ctr, key, expected):
    out = _core.random.philox4x32_10(key64(key), np.array([ctr], dtype=np.uint32))
    assert tuple(int(v) for v in out[0]) == expected


@pytest.mark.parametrize("ctr, key, expected", KAT)
def test_known_answers_reference(ctr, key, expected):
    out = ref.philox4x32_10(np.array([ctr], dtype=np.uint32), key64(key))
    assert tuple(int(v) for v in out[0]) == expected


def test_cpp_equals_reference_on_random_counters():
    rng = np.random.default_rng(0)
    ctr = rng.integers(0, 2**32, size=(5000, 4), dtype=np.uint32)
    key = int(rng.integers(0, 2**64, dtype=np.uint64))
    np.testing.assert_array_equal(_core.random.philox4x32_10(key, ctr, 2), ref.philox4x32_10(ctr, key))


@pytest.fixture(params=_core.random.simd_isas_supported())
def isa(request):
    _core.random.set_simd_isa(request.param)
    yield request.param
    _core.random.set_simd_isa("best")


def test_every_simd_kernel_gives_the_same_bits(isa):
    # The bulk generators run on the tile kernel of the chosen instruction set.
    key = 0x0123456789ABCDEF
    u = np.empty((777, 3))
    _core.random.fill_uniform(key, u, 1)
    from gensample.reference import random as rr

    np.testing.assert_array_equal(u, rr.uniform(key, 777, 3))


def test_unknown_isa_is_rejected():
    with pytest.raises(ValueError, match="unknown instruction set"):
        _core.random.set_simd_isa("mmx")
