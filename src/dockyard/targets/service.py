"""What jobs and build services share as stored resources: ids are slugs of names, unique per
project; the stored spec is always a valid create body; secret fields are sealed at rest, one
value per field, and shown only to a token that may read them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth.service import Principal
from dockyard.db.repository import Page, PageRequest
from dockyard.db.session import as_one_statement
from dockyard.errors import Conflict, NotFound
from dockyard.projects.schemas import app_id
from dockyard.projects.service import get_project, new_uid, slugify
from dockyard.secrets.crypto import SecretBox
from dockyard.secrets.fields import SecretFields
from dockyard.targets.repository import Row, Spec, TargetTable
from dockyard.targets.schemas import BuildStatusOfTarget
from dockyard.vcs.schemas import VcsRepository
from dockyard.vcs.service import refuse_unknown as refuse_unknown_vcs
from dockyard.wire.bodies import merged, validated, wire_body

CLUSTER_NAME = "local docker engine"


@dataclass(frozen=True)
class Stored(Generic[Row, Spec]):
    """A target just written, with its whole spec and wire body (secrets included)."""

    row: Row
    spec: Spec
    body: dict[str, Any]


@dataclass(frozen=True)
class Catalog(Generic[Row, Spec]):
    """The rules of one kind of target (`noun`: job, service) over its table. `new_row` makes
    an unsaved row from (project id, id, uid); `name_of` reads a spec's name; `prepare` sets
    the row's own columns from a spec about to be stored (a job's type, its schedule's
    start); `vcs_of` and `credentials_of` read the git source (at `vcs_path` of the body) and
    the registry credentials ids a spec names."""

    table: TargetTable[Row, Spec]
    noun: str
    id_field: str
    secrets: SecretFields
    new_row: Callable[[str, str, str], Row]
    name_of: Callable[[Spec], str]
    prepare: Callable[[Row, Spec], None] = lambda row, spec: None
    vcs_of: Callable[[Spec], VcsRepository | None] = lambda spec: None
    vcs_path: str = "vcsData"
    credentials_of: Callable[[Spec], list[str]] = lambda spec: []

    # ---- reads ---------------------------------------------------------------------------

    async def get(self, session: AsyncSession, project_id: str, target_id: str) -> Row:
        row = await self.table.get(session, project_id, target_id)
        if row is None:
            raise await self.missing(session, project_id, target_id)
        return row

    async def missing(self, session: AsyncSession, project_id: str, target_id: str) -> NotFound:
        """The 404 to raise for a target not found: its project's, if that is missing too."""
        await get_project(session, project_id)
        return NotFound(
            f"{self.noun.capitalize()} {target_id!r} not found", {self.id_field: target_id}
        )

    async def page(self, session: AsyncSession, project_id: str, request: PageRequest) -> Page[Row]:
        await get_project(session, project_id)
        return await self.table.page(session, project_id, request)

    async def all_of_project(self, session: AsyncSession, project_id: str) -> Sequence[Row]:
        return await self.table.all_of_project(session, project_id)

    async def _naming(
        self, session: AsyncSession, spec_of: Callable[[Row], Spec], wants: Callable[[Spec], bool]
    ) -> list[str]:
        """`<noun> <project>/<id>` of every target whose spec (as `spec_of` reads it) `wants`."""
        return [
            f"{self.noun} {row.project_id}/{row.id}"
            for row in await self.table.everywhere(session)
            if wants(spec_of(row))
        ]

    async def naming_vcs_link(self, session: AsyncSession, vcs_link_id: str) -> list[str]:
        """Every target (`<noun> <project>/<id>`) whose git source names VCS link
        `vcs_link_id`."""

        def names_link(spec: Spec) -> bool:
            vcs = self.vcs_of(spec)
            return vcs is not None and vcs.vcs_link_id == vcs_link_id

        return await self._naming(session, self.table.spec_of, names_link)

    async def sources(self, session: AsyncSession) -> list[VcsRepository]:
        """The git source of every target that has one, of every project."""
        found = (
            self.vcs_of(self.table.spec_of(row)) for row in await self.table.everywhere(session)
        )
        return [vcs for vcs in found if vcs is not None]

    async def naming_self_hosted_vcs(self, session: AsyncSession, uid: str) -> list[str]:
        """Every target (`<noun> <project>/<id>`) whose git source names self-hosted VCS
        `uid` (`selfHostedVcsId`)."""

        def names_record(spec: Spec) -> bool:
            vcs = self.vcs_of(spec)
            return vcs is not None and vcs.self_hosted_vcs_id == uid

        return await self._naming(session, self.table.spec_of, names_record)

    def opened_body(self, box: SecretBox, row: Row) -> dict[str, Any]:
        """The row's whole wire body, secrets included."""
        return self.secrets.open(box, row.uid, row.spec, row.sealed_secrets)

    def opened_spec(self, box: SecretBox, row: Row) -> Spec:
        """The row's whole spec, secrets included (`table.spec_of` has the stored part)."""
        return self.table.spec_type(row).model_validate(self.opened_body(box, row))

    async def naming_credentials(
        self, session: AsyncSession, box: SecretBox, credentials_id: str
    ) -> list[str]:
        """Every target (`<noun> <project>/<id>`) that names these registry credentials (the
        ids are secret fields: read from the opened spec)."""
        return await self._naming(
            session,
            lambda row: self.opened_spec(box, row),
            lambda spec: credentials_id in self.credentials_of(spec),
        )

    def shown(self, principal: Principal, stored: Stored[Row, Spec]) -> dict[str, Any]:
        """The body a reply to a write shows `principal`: secret values only to a token that
        may read them."""
        return self.secrets.shown(principal, stored.body, stored.row.spec)

    def reply_fields(self, row: Row, team_id: str, status: BuildStatusOfTarget) -> dict[str, Any]:
        """What a reply adds to the target's wire body, alike for every kind."""
        return {
            "id": row.id,
            "appId": app_id(team_id, row.project_id, row.id),
            "projectId": row.project_id,
            "uid": row.uid,
            "status": status,
            "cluster": {"id": team_id, "name": CLUSTER_NAME, "namespace": row.project_id},
            "createdAt": row.created_at,
            "updatedAt": row.updated_at,
        }

    # ---- writes --------------------------------------------------------------------------

    def store(self, box: SecretBox, row: Row, spec: Spec) -> Stored[Row, Spec]:
        body = wire_body(spec)
        self.prepare(row, spec)
        row.name = self.name_of(spec)
        row.spec, row.sealed_secrets = self.secrets.seal(box, row.uid, body)
        return Stored(row=row, spec=spec, body=body)

    def _clash(self, target_id: str, name: str) -> Conflict:
        return Conflict(f"A {self.noun} with id {target_id!r} already exists", {"name": [name]})

    async def commit(
        self, session: AsyncSession, stored: Stored[Row, Spec], source_path: str | None = None
    ) -> Stored[Row, Spec]:
        """Write the stored target; 400 naming the source's `selfHostedVcsId` (at
        `source_path`, else the spec's `vcs_path`) when no self-hosted VCS has it."""
        field = f"{self.vcs_path if source_path is None else source_path}.selfHostedVcsId"
        await refuse_unknown_vcs(session, self.vcs_of(stored.spec), field.lstrip("."))
        try:
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            raise self._clash(stored.row.id, self.name_of(stored.spec)) from exc
        return stored

    async def create(
        self, session: AsyncSession, box: SecretBox, project_id: str, spec: Spec
    ) -> Stored[Row, Spec]:
        """A new target; 404 for a missing project, 409 if one with the id of `spec`'s name
        exists. The insert asks both of the table's constraints (the project key, the id
        unique per project) instead of two look-ups first; only a refused insert looks."""
        name = self.name_of(spec)
        row = self.new_row(project_id, slugify(name), new_uid())
        stored = self.store(box, row, spec)
        vcs = self.vcs_of(spec)
        if vcs is None or vcs.self_hosted_vcs_id is None:  # no look-up after the insert
            await as_one_statement(session)
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            await get_project(session, project_id)
            raise self._clash(row.id, name) from None
        return await self.commit(session, stored)

    async def put(
        self, session: AsyncSession, box: SecretBox, project_id: str, spec: Spec
    ) -> Stored[Row, Spec]:
        """Create the target named by `spec`, or replace the spec of the one with that id (a
        found row proves its project; `create` reports a missing one)."""
        row = await self.table.get(session, project_id, slugify(self.name_of(spec)))
        if row is None:
            return await self.create(session, box, project_id, spec)
        return await self.commit(session, self.store(box, row, spec))

    async def patch(
        self,
        session: AsyncSession,
        box: SecretBox,
        row: Row,
        changes: dict[str, Any],
        merged_objects: frozenset[str],
    ) -> Stored[Row, Spec]:
        """Merge `changes` (a wire body; objects in `merged_objects` field by field) into the
        row's whole spec and re-validate it as its type's create body."""
        opened = self.opened_body(box, row)
        spec = validated(self.table.spec_type(row), merged(opened, changes, merged_objects))
        return await self.commit(session, self.store(box, row, spec))

    async def replace(
        self, session: AsyncSession, box: SecretBox, row: Row, spec: Spec
    ) -> Stored[Row, Spec]:
        """The row with its new git source (a build-source body, whose fields are top-level)."""
        return await self.commit(session, self.store(box, row, spec), source_path="")

    async def remove(self, session: AsyncSession, row: Row) -> None:
        """The row goes with the caller's commit (teardown/service.py removes what goes with
        it)."""
        await self.table.remove(session, row)
