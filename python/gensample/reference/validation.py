"""Twin of cpp/src/validation.cpp."""

import numpy as np


def scan_values(x: np.ndarray) -> tuple[bool, float]:
    """(every value finite, max |value|; 0 when not finite or empty)."""
    finite = bool(np.isfinite(x).all())
    return finite, float(np.abs(x).max(initial=0.0)) if finite else 0.0
