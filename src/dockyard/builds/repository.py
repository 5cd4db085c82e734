"""All SQL of builds: rows, pages, the latest per target, claiming and status compare-and-set."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Generic

from sqlalchemy import ColumnElement, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dockyard.builds.models import Build
from dockyard.db.repository import Page, PageRequest, paginate
from dockyard.logs.repository import LogOwners
from dockyard.targets.repository import Row


def built_with(engines: Collection[str]) -> ColumnElement[bool]:
    """Builds whose recipe names one of these build engines (none named: BuildKit)."""
    engine: ColumnElement[str] = func.coalesce(Build.recipe["engine"].as_string(), "buildkit")
    return engine.in_(engines)


async def waiting_unexplained(
    session: AsyncSession, status: str, engines: Collection[str]
) -> Sequence[Build]:
    """Builds in `status` of an engine not among `engines`, with no message yet."""
    statement = select(Build).where(
        Build.status == status, ~built_with(engines), Build.message.is_(None)
    )
    return (await session.execute(statement)).scalars().all()


async def get(session: AsyncSession, build_id: str) -> Build | None:
    return (await session.execute(select(Build).where(Build.id == build_id))).scalar_one_or_none()


async def get_of_target(
    session: AsyncSession, project_id: str, kind: str, target_id: str, build_id: str
) -> Build | None:
    statement = select(Build).where(
        Build.project_id == project_id,
        Build.target_kind == kind,
        Build.target_id == target_id,
        Build.id == build_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def page_of_target(
    session: AsyncSession, project_id: str, kind: str, target_id: str, request: PageRequest
) -> Page[Build]:
    """Newest first: the keyset runs over -pk."""
    statement = select(Build).where(
        Build.project_id == project_id, Build.target_kind == kind, Build.target_id == target_id
    )
    return await paginate(session, statement, Build.pk, request, descending=True)


# Built once (see TargetTable): the newest build of each of some targets of a kind.
_LATEST_OF_TARGETS = select(Build).where(
    Build.pk.in_(
        select(func.max(Build.pk))
        .where(
            Build.project_id == bindparam("project_id"),
            Build.target_kind == bindparam("kind"),
            Build.target_id.in_(bindparam("target_ids", expanding=True)),
        )
        .group_by(Build.target_id)
    )
)


async def latest_of_targets(
    session: AsyncSession, project_id: str, kind: str, target_ids: Sequence[str]
) -> dict[str, Build]:
    parameters = {"project_id": project_id, "kind": kind, "target_ids": list(target_ids)}
    rows = (await session.execute(_LATEST_OF_TARGETS, parameters)).scalars()
    return {build.target_id: build for build in rows}


class WithLatestBuild(Generic[Row]):
    """A target's row of `model` (of builds' `kind`) with its newest build's status and
    `updated_at` (None without builds), in one statement: a GET of a job or a service is one
    round trip to the database. Built once (see TargetTable)."""

    def __init__(self, model: type[Row], kind: str) -> None:
        newest = aliased(Build)
        latest_pk = (
            select(func.max(newest.pk))
            .where(
                newest.project_id == model.project_id,
                newest.target_kind == kind,
                newest.target_id == model.id,
            )
            .correlate(model)
            .scalar_subquery()
        )
        self._statement = (
            select(model, Build.status, Build.updated_at)
            .outerjoin(Build, Build.pk == latest_pk)
            .where(model.project_id == bindparam("project_id"), model.id == bindparam("target_id"))
        )

    async def get(
        self, session: AsyncSession, project_id: str, target_id: str
    ) -> tuple[Row, str | None, datetime | None] | None:
        parameters = {"project_id": project_id, "target_id": target_id}
        found = (await session.execute(self._statement, parameters)).one_or_none()
        return None if found is None else (found[0], found[1], found[2])


async def delete_of_target(
    session: AsyncSession, project_id: str, kind: str, target_id: str
) -> None:
    await session.execute(
        delete(Build).where(
            Build.project_id == project_id,
            Build.target_kind == kind,
            Build.target_id == target_id,
        )
    )


async def set_fields(session: AsyncSession, build: Build, changes: dict[str, Any]) -> None:
    """Facts that are not a status change (the resolved sha)."""
    await session.execute(
        update(Build)
        .where(Build.pk == build.pk, Build.id == build.id)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )


async def latest_successful(
    session: AsyncSession,
    project_id: str,
    kind: str,
    target_id: str,
    *,
    branch: str | None = None,
    sha: str | None = None,
    build_id: str | None = None,
) -> Build | None:
    """The newest SUCCESS build of a target, narrowed to a branch, a sha or an id if given."""
    statement = select(Build).where(
        Build.project_id == project_id,
        Build.target_kind == kind,
        Build.target_id == target_id,
        Build.status == "SUCCESS",
    )
    if branch is not None:
        statement = statement.where(Build.branch == branch)
    if sha is not None:
        statement = statement.where(Build.sha == sha.lower())
    if build_id is not None:
        statement = statement.where(Build.id == build_id)
    statement = statement.order_by(Build.pk.desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def images_to_keep(session: AsyncSession, built_since: datetime) -> set[str]:
    """The images of successful builds made since `built_since`, and of the newest successful
    build of each target however old."""
    successful = select(Build.image_uri).where(
        Build.status == "SUCCESS", Build.image_uri.is_not(None)
    )
    recent = successful.where(Build.created_at >= built_since)
    newest = successful.where(
        Build.pk.in_(
            select(func.max(Build.pk))
            .where(Build.status == "SUCCESS")
            .group_by(Build.project_id, Build.target_kind, Build.target_id)
        )
    )
    return {uri for uri in (await session.scalars(recent.union(newest))).all() if uri}


async def with_status_not_in(session: AsyncSession, statuses: Collection[str]) -> list[Build]:
    """Every build whose status is none of `statuses`."""
    statement = select(Build).where(Build.status.not_in(statuses))
    return list((await session.scalars(statement)).all())


def log_owners(
    project_id: str, kind: str, target_id: str, build_id: str | None = None
) -> LogOwners:
    """A target's builds (or the one named), for queries over their lines."""
    statement = select(Build.id).where(
        Build.project_id == project_id, Build.target_kind == kind, Build.target_id == target_id
    )
    return LogOwners(
        "build", statement if build_id is None else statement.where(Build.id == build_id)
    )


async def source_of_image(
    session: AsyncSession, project_id: str, image: str
) -> tuple[str | None, str | None]:
    """sha and branch of the build that made `image`, its tag or its `<repository>@<digest>`
    (none for an external image)."""
    repository, pinned, digest = image.partition("@")
    made = (
        (Build.image_digest == digest)
        & Build.image_uri.startswith(f"{repository}:", autoescape=True)
        if pinned
        else Build.image_uri == image
    )
    statement = (
        select(Build.sha, Build.branch)
        .where(Build.project_id == project_id, made)
        .order_by(Build.pk.desc())
        .limit(1)
    )
    row = (await session.execute(statement)).first()
    return (row.sha, row.branch) if row is not None else (None, None)


async def everywhere(session: AsyncSession) -> Sequence[Build]:
    """Every build of every project (re-sealing reads them all)."""
    return (await session.scalars(select(Build))).all()


async def sealed_values(session: AsyncSession) -> list[str]:
    """Every build's sealed inputs (the key ids they name are in use)."""
    return [sealed for sealed in await session.scalars(select(Build.sealed_secrets)) if sealed]


async def successful_images(session: AsyncSession) -> list[tuple[str, str, str | None]]:
    """(build id, image reference, digest) of every successful build that pushed an image."""
    statement = (
        select(Build.id, Build.image_uri, Build.image_digest)
        .where(Build.status == "SUCCESS", Build.image_uri.is_not(None))
        .order_by(Build.pk)
    )
    return [(row.id, row.image_uri, row.image_digest) for row in await session.execute(statement)]
