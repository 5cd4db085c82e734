"""Self-hosted VCS rules: a record is a git server of the team's own (its base URL and kind),
read by every project. Its id is the slug of its name (unique), its `selfHostedVcsId` 24 hex
digits. Git sources name it by `selfHostedVcsId`, which must name a record when written;
VCS links of the server name it too (vcslinks/selfhosted.py: they cannot outlive it)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.repository import Page, PageRequest
from dockyard.errors import Conflict, Invalid, NotFound
from dockyard.names import new_uid, slugify
from dockyard.vcs import repository
from dockyard.vcs.models import SelfHostedVcs
from dockyard.vcs.schemas import SelfHostedVcsCreate, SelfHostedVcsResponse, VcsRepository

SELF_HOSTED_ROUTE = "/v1/integrations/vcs/self-hosted"


async def get_record(session: AsyncSession, record_id: str) -> SelfHostedVcs:
    """The record whose id or `selfHostedVcsId` is `record_id`; 404 when there is none."""
    record = await repository.get(session, record_id)
    if record is None:
        raise NotFound(f"Self-hosted VCS {record_id!r} not found", {"selfHostedVcsId": record_id})
    return record


async def by_uid(session: AsyncSession, uid: str) -> SelfHostedVcs | None:
    return await repository.by_uid(session, uid)


async def list_records(session: AsyncSession, request: PageRequest) -> Page[SelfHostedVcs]:
    return await repository.page(session, request)


async def create_record(session: AsyncSession, body: SelfHostedVcsCreate) -> SelfHostedVcs:
    """A new record; 409 when one of that name's id exists."""
    record = SelfHostedVcs(
        id=slugify(body.name),
        uid=new_uid(),
        name=body.name,
        vcs_type=body.vcs_type,
        vcs_url=body.vcs_url,
    )
    session.add(record)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            f"A self-hosted VCS with id {record.id!r} exists", {"name": body.name}
        ) from None
    return record


async def remove(session: AsyncSession, record: SelfHostedVcs) -> None:
    """The record goes with the caller's commit (vcslinks/selfhosted.py checks its users)."""
    await repository.remove(session, record)


async def refuse_unknown(session: AsyncSession, source: VcsRepository | None, path: str) -> None:
    """Invalid naming `path` when the git source names a `selfHostedVcsId` no record has.
    Nothing the caller added to the session is flushed by the look-up."""
    if source is None or source.self_hosted_vcs_id is None:
        return
    with session.no_autoflush:
        record = await repository.by_uid(session, source.self_hosted_vcs_id)
    if record is None:
        raise Invalid(
            path,
            f"no self-hosted VCS {source.self_hosted_vcs_id!r}: {SELF_HOSTED_ROUTE} lists them",
        )


def response(record: SelfHostedVcs) -> SelfHostedVcsResponse:
    return SelfHostedVcsResponse(
        id=record.id,
        self_hosted_vcs_id=record.uid,
        name=record.name,
        vcs_type=record.vcs_type,
        vcs_url=record.vcs_url,
        created_at=record.created_at,
    )
