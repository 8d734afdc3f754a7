import os
import signal

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler for the test: _thread.interrupt_main() does nothing when
    SIGINT is ignored, as it is in a process a shell started in the background with `&`."""
    if not hasattr(signal, "SIGINT"):
        pytest.skip("needs SIGINT")
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, saved)
