"""Builds of one image reference on a worker take turns, in the order they asked; other
references do not wait."""

from __future__ import annotations

import asyncio

from dockyard.worker.build_pipeline import ImageLocks


async def _hold(locks: ImageLocks, reference: str, name: str, events: list[str]) -> None:
    async with locks.hold(reference):
        events.append(f"{name} in")
        await asyncio.sleep(0.01)
        events.append(f"{name} out")


def test_builds_of_one_reference_take_turns_in_order() -> None:
    asyncio.run(_test_builds_of_one_reference_take_turns_in_order())


async def _test_builds_of_one_reference_take_turns_in_order() -> None:
    locks, events = ImageLocks(), []
    await asyncio.gather(*(_hold(locks, "r:1", name, events) for name in "abc"))
    assert events == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert not locks.busy("r:1")
    assert locks._locks == {}


def test_other_references_do_not_wait() -> None:
    asyncio.run(_test_other_references_do_not_wait())


async def _test_other_references_do_not_wait() -> None:
    locks, events = ImageLocks(), []
    await asyncio.gather(_hold(locks, "r:1", "a", events), _hold(locks, "r:2", "b", events))
    assert events[:2] == ["a in", "b in"]


def test_a_cancelled_waiter_leaves_the_lock_usable() -> None:
    asyncio.run(_test_a_cancelled_waiter_leaves_the_lock_usable())


async def _test_a_cancelled_waiter_leaves_the_lock_usable() -> None:
    locks, events = ImageLocks(), []
    first = asyncio.create_task(_hold(locks, "r:1", "a", events))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(_hold(locks, "r:1", "b", events))
    await asyncio.sleep(0)
    assert locks.busy("r:1")
    waiter.cancel()
    await first
    await _hold(locks, "r:1", "c", events)
    assert events == ["a in", "a out", "c in", "c out"]
    assert locks._locks == {}
