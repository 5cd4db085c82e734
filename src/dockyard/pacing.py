"""Work a worker handler does on some of its ticks only."""

from __future__ import annotations

import time


class AtMostEvery:
    """`due()` is true at the first call, then again only once `seconds` have passed since the
    last time it was."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True
