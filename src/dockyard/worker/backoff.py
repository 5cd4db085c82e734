"""The doubling back-off of retries (job run attempts, notification deliveries)."""

from __future__ import annotations


def doubling(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after `failures` failures in a row: `base` after the first, doubled
    after each further one, at most `cap`."""
    seconds: float = base * 2 ** max(failures - 1, 0)
    return min(seconds, cap)
