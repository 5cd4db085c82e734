"""A build's moves are compare-and-set on its status and, for the worker driving it, on its
claim: a worker whose lease lapsed (stalled, not dead) cannot move a build that another
worker took over and drives through the same statuses."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlalchemy import select

from dockyard.builds import repository
from dockyard.builds.models import Build
from dockyard.builds.status import BuildStatus, move_build
from dockyard.config import Settings
from dockyard.db import leases
from dockyard.db.session import Database


async def load(database: Database, build_id: str) -> Build:
    async with database.sessions() as session:
        return (await session.execute(select(Build).where(Build.id == build_id))).scalar_one()


async def move(database: Database, build: Build, target: BuildStatus, **changes: object) -> bool:
    async with database.sessions() as session:
        moved = await move_build(session, build, target, **changes)  # type: ignore[arg-type]
        await session.commit()
        return moved


async def stalled_worker_meets_takeover(url: str, project: str) -> None:
    database = Database(url)
    try:
        async with database.sessions() as session:
            session.add(
                Build(
                    id="taken-over",
                    project_id=project,
                    target_kind="job",
                    target_id="some-job",
                    recipe={},
                    status=BuildStatus.QUEUED.value,
                )
            )
            await session.commit()
        seen_by_a = await load(database, "taken-over")
        assert await move(database, seen_by_a, BuildStatus.PENDING, claimed_by="worker-a")

        # worker-a stalls past its lease; worker-b requeues the build and claims it.
        seen_by_b = await load(database, "taken-over")
        assert await move(database, seen_by_b, BuildStatus.QUEUED, claimed_by=None)
        assert await move(database, seen_by_b, BuildStatus.PENDING, claimed_by="worker-b")

        # Both now hold a PENDING build; only the claim tells them apart.
        assert not await move(database, seen_by_a, BuildStatus.CLONING, held_by="worker-a")
        assert await move(database, seen_by_b, BuildStatus.CLONING, held_by="worker-b")
        assert (await load(database, "taken-over")).claimed_by == "worker-b"
    finally:
        await database.dispose()


def test_a_stalled_worker_cannot_move_a_build_taken_over(
    settings: Settings, client: TestClient, project: str
) -> None:
    asyncio.run(stalled_worker_meets_takeover(settings.resolved_database_url, project))


async def claimable_and_unexplained(url: str, project: str) -> tuple[list[str], list[str]]:
    database = Database(url)
    try:
        async with database.sessions() as session:
            for build_id, recipe in [
                ("kaniko", {"engine": "kaniko"}),
                ("unnamed", {}),  # BuildKit, the default
                ("buildpack", {"engine": "buildpack"}),
            ]:
                session.add(
                    Build(
                        id=build_id,
                        project_id=project,
                        target_kind="job",
                        target_id="some-job",
                        recipe=recipe,
                        status=BuildStatus.QUEUED.value,
                    )
                )
            await session.commit()
        offered = {"buildkit", "buildpack"}
        async with database.sessions() as session:
            claimable = await leases.oldest_in(
                session, Build, BuildStatus.QUEUED.value, 10, repository.built_with(offered)
            )
            waiting = await repository.waiting_unexplained(
                session, BuildStatus.QUEUED.value, offered
            )
        return [build.id for build in claimable], [build.id for build in waiting]
    finally:
        await database.dispose()


def test_a_worker_claims_only_builds_of_the_engines_it_offers(
    settings: Settings, client: TestClient, project: str
) -> None:
    claimable, waiting = asyncio.run(
        claimable_and_unexplained(settings.resolved_database_url, project)
    )

    assert claimable == ["unnamed", "buildpack"]
    assert waiting == ["kaniko"]
