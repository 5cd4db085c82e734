"""Other workers' leases lapse by this worker's monotonic clock, whatever times their
heartbeats carry: a stepped or skewed wall clock neither ends a live lease nor keeps a dead
one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dockyard.worker.dispatch import LeaseWatch

LEASE_SECONDS = 15.0
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Ticks:
    """A monotonic clock the test advances."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_lease_lapses_when_its_heartbeat_stops_changing_for_the_lease_time() -> None:
    """A worker renewing with a clock an hour behind keeps its run; a dead worker whose last
    heartbeat is an hour ahead loses its run after the lease time; a handed-back run is free
    at once."""
    ticks = Ticks()
    watch = LeaseWatch(LEASE_SECONDS, ticks)
    behind = ("worker-behind", NOW - HOUR)  # renewed, with a clock an hour behind
    ahead = ("worker-ahead", NOW + HOUR)  # dead, its last heartbeat an hour ahead
    handed_back = (None, None)
    leases = {"live": behind, "dead": ahead, "free": handed_back}

    assert watch.lapsed(leases) == {"free"}, "a lease first seen gets its full time"
    ticks.now += LEASE_SECONDS - 1
    leases["live"] = ("worker-behind", NOW - HOUR + timedelta(seconds=14))
    assert watch.lapsed(leases) == {"free"}
    ticks.now += 1
    assert watch.lapsed(leases) == {"free", "dead"}
    ticks.now += LEASE_SECONDS
    assert watch.lapsed(leases) == {"free", "dead", "live"}

    watch.lapsed({"live": leases["live"]})
    assert set(watch.seen) == {"live"}, "items no longer held elsewhere are forgotten"
