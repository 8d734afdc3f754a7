"""Progress of long work on stderr: a tqdm bar on a terminal when tqdm is installed, else
plain lines every ``interval`` seconds (so ``nohup`` and batch logs show it). Work that
ends within the first interval prints nothing without a terminal."""

from __future__ import annotations

import sys
import time

INTERVAL = 10.0  # seconds between plain lines (tests set it to 0)


def _format_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


class Progress:
    """``update(k)`` after each piece of ``total``; ``close()`` at the end (also on error).

    >>> p = Progress(10, enabled=False, desc="x")
    >>> p.update(10); p.close()
    """

    def __init__(self, total: int, enabled: bool, desc: str, unit: str = "rows", stream=None):
        self.total, self.desc, self.unit, self.interval = int(total), desc, unit, INTERVAL
        self.stream = stream if stream is not None else sys.stderr
        self.done, self.start = 0, time.monotonic()
        self._bar, self._last, self._closed = None, self.start, not enabled or total <= 0
        if self._closed:
            return
        if hasattr(self.stream, "isatty") and self.stream.isatty():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=self.total, unit=unit, unit_scale=True, desc=desc, file=self.stream)
        self._printed = False

    def _line(self, text: str) -> None:
        print(f"gensample: {self.desc}: {text}", file=self.stream, flush=True)
        self._printed = True

    def update(self, k: int = 1, **status) -> None:
        """``k`` more done; ``status`` (name=value) is shown beside the count."""
        if self._closed or k == 0:
            return
        self.done += int(k)
        if self._bar is not None:
            self._bar.update(int(k))
            if status:
                self._bar.set_postfix(status, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= self.interval and self.done < self.total:
            self._last = now
            elapsed = now - self.start
            left = elapsed * (self.total - self.done) / max(self.done, 1)
            extra = "".join(f", {k} {v}" for k, v in status.items())
            self._line(
                f"{self.done:,} of {self.total:,} {self.unit} ({100 * self.done / self.total:.0f} %), "
                f"{_format_seconds(elapsed)}, about {_format_seconds(left)} left{extra}"
            )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif not self._printed:
            return
        elif self.done >= self.total:
            self._line(f"done, {self.done:,} {self.unit} in {_format_seconds(time.monotonic() - self.start)}")
        else:
            self._line(f"stopped at {self.done:,} of {self.total:,} {self.unit}")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
