"""The types the public API's signatures name (for type checkers; nothing here runs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

# A seed: an int, a sequence of ints, a SeedSequence, a Generator (64 bits are drawn from
# it), or None for fresh entropy (gensample.random.key_from_rng).
RngLike: TypeAlias = "int | Sequence[int] | np.random.SeedSequence | np.random.Generator | None"

# A count of rows: a Python or NumPy integer (never a bool or a float).
Count: TypeAlias = "int | np.integer"

__all__ = ["ArrayLike", "Count", "DTypeLike", "RngLike", "Sequence"]
