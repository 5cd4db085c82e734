"""VCS links of self-hosted VCS records (vcs/service.py): a link naming `selfHostedVcsId` is an
account on that server (its vcsUrl and vcsType are the record's); a git source of
`projectType` `self-hosted` naming a record is fetched only through the record's links; a
record cannot be deleted while links or jobs and build services name it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.errors import Conflict, GitError
from dockyard.jobs.service import JOBS
from dockyard.services.service import SERVICES
from dockyard.vcs import service as records
from dockyard.vcslinks import repository
from dockyard.vcslinks.models import VcsLink
from dockyard.vcslinks.schemas import VcsLinkCreate


async def server_of(
    session: AsyncSession, body: VcsLinkCreate
) -> tuple[str, str | None, str | None]:
    """(vcsUrl, vcsType, selfHostedVcsId) of a new link: its self-hosted VCS's (404 when the
    body names none that exists), else the body's."""
    if body.self_hosted_vcs_id is None:
        return body.base_url, body.vcs_type, None
    record = await records.get_record(session, body.self_hosted_vcs_id)
    return record.vcs_url, record.vcs_type, record.uid


async def links_of_record(
    session: AsyncSession, links: Sequence[VcsLink], uid: str, url: str
) -> list[VcsLink]:
    """Those of `links` that are accounts on self-hosted VCS `uid`, which the source of `url`
    names; a clear GitError when the record no longer exists."""
    if await records.by_uid(session, uid) is None:
        raise GitError(
            f"Self-hosted VCS {uid!r} (selfHostedVcsId of {url}) does not exist: "
            f"{records.SELF_HOSTED_ROUTE} lists them"
        )
    return [link for link in links if link.self_hosted_vcs_id == uid]


async def users_of(session: AsyncSession, uid: str) -> list[str]:
    """`link <id>`, `job <project>/<id>` and `service <project>/<id>` of what names the record."""
    links = await repository.everywhere(session)
    named = [f"link {link.id}" for link in links if link.self_hosted_vcs_id == uid]
    jobs = await JOBS.naming_self_hosted_vcs(session, uid)
    return named + jobs + await SERVICES.naming_self_hosted_vcs(session, uid)


async def delete_record(session: AsyncSession, record_id: str) -> None:
    """Delete the self-hosted VCS; 409 while VCS links or jobs and build services name it."""
    record = await records.get_record(session, record_id)
    users = await users_of(session, record.uid)
    if users:
        raise Conflict(
            f"Self-hosted VCS {record.id!r} is in use by {', '.join(users)}: "
            "delete or point them elsewhere first",
            {"usedBy": users},
        )
    await records.remove(session, record)
    await session.commit()
