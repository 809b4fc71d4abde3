"""A one-line progress bar on stderr (only on a terminal), and nothing to install."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class Progress:
    """Messages stored out of those read so far; redrawn at most ten times a second."""

    def __init__(self, stream: TextIO = sys.stderr, enabled: bool | None = None, label: str = "import") -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty() if enabled is None else enabled
        self.read = self.stored = 0
        self._drawn = 0.0
        self._started = time.monotonic()

    def update(self, read: int = 0, stored: int = 0) -> None:
        self.read += read
        self.stored += stored
        now = time.monotonic()
        if self.enabled and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = self.stored / self.read if self.read else 0.0
        bar = "#" * int(share * WIDTH)
        rate = self.stored / max(now - self._started, 1e-9)
        self.stream.write(f"\r{self.label} [{bar:<{WIDTH}}] {self.stored:,}/{self.read:,} messages  {rate:,.0f}/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
