"""How soon work is done again: a worker handler's work on some of its ticks only, and the
doubling back-off of retries (job run attempts, notification deliveries)."""

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


def doubling(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after `failures` failures in a row: `base` after the first, doubled
    after each further one, at most `cap`."""
    seconds: float = base * 2 ** max(failures - 1, 0)
    return min(seconds, cap)
