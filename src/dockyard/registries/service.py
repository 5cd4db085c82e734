"""Registry credentials rules: ids are slugs of names, unique in the account; the password is
sealed at rest and shown in no reply; credentials restricted to projects serve only the jobs
and build services of those projects; credentials a job or build service names cannot be
deleted. And the resolution of the ids a build or a run names into registry logins: these
credentials first, then the operator's seed (DOCKYARD_REGISTRY_CREDENTIALS)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.config import Settings
from dockyard.db.repository import Page, PageRequest
from dockyard.engine.base import RegistryCredentials
from dockyard.errors import Conflict, Invalid, NotFound
from dockyard.jobs.service import JOBS
from dockyard.projects.service import get_project, new_uid, slugify
from dockyard.registries import repository
from dockyard.registries.models import RegistryCredential
from dockyard.registries.repository import spec_of
from dockyard.registries.schemas import (
    CredentialRefresh,
    RegistryCreate,
    RegistryPatch,
    RegistryResponse,
    RegistrySpec,
    ShownLogin,
    ShownRestrictions,
    ShownScope,
)
from dockyard.secrets.credentials import CredentialsNotConfigured
from dockyard.secrets.credentials import registry_logins as seeded_logins
from dockyard.secrets.crypto import SecretBox
from dockyard.services.service import SERVICES
from dockyard.wire.bodies import changes_of, merged, validated, wire_body

MERGED_OBJECTS = frozenset({"credentials"})


def password_context(uid: str) -> str:
    return f"registry:{uid}:password"


def _not_found(credentials_id: str) -> NotFound:
    return NotFound(
        f"Registry credentials {credentials_id!r} not found", {"credentialId": credentials_id}
    )


# ---- reads ---------------------------------------------------------------------------------


async def get_credentials(session: AsyncSession, credentials_id: str) -> RegistryCredential:
    row = await repository.get(session, credentials_id)
    if row is None:
        raise _not_found(credentials_id)
    return row


async def list_credentials(session: AsyncSession, request: PageRequest) -> Page[RegistryCredential]:
    return await repository.page(session, request)


def response(row: RegistryCredential) -> RegistryResponse:
    spec = spec_of(row)
    scope = spec.credentials.scope
    return RegistryResponse(
        id=row.id,
        name=spec.name,
        provider=spec.provider,
        registry_url=spec.registry_url or spec.registry(),
        credentials=ShownLogin(scope=ShownScope(pull=scope.pull, push=scope.push)),
        restrictions=ShownRestrictions(
            restricted=spec.restrictions.restricted, projects=spec.restrictions.projects
        ),
        registry_credential_refresh=CredentialRefresh(),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def opened_password(box: SecretBox, row: RegistryCredential) -> str:
    return box.open(row.sealed_password, context=password_context(row.uid)).decode()


# ---- writes --------------------------------------------------------------------------------


async def _check_projects(session: AsyncSession, spec: RegistrySpec) -> None:
    for index, project_id in enumerate(spec.restrictions.projects):
        try:
            await get_project(session, project_id)
        except NotFound:
            raise Invalid(
                f"restrictions.projects[{index}]", f"project {project_id!r} not found"
            ) from None


def _store(box: SecretBox, row: RegistryCredential, spec: RegistryCreate) -> None:
    body = wire_body(spec)
    password = body["credentials"].pop("password")
    row.spec = body
    row.sealed_password = box.seal(password.encode(), context=password_context(row.uid))


async def create_credentials(
    session: AsyncSession, box: SecretBox, spec: RegistryCreate
) -> RegistryCredential:
    """New credentials; 409 if ones with the id of the name exist."""
    credentials_id = slugify(spec.name)
    clash = Conflict(
        f"Registry credentials with id {credentials_id!r} already exist", {"name": [spec.name]}
    )
    if await repository.get(session, credentials_id) is not None:
        raise clash
    await _check_projects(session, spec)
    row = RegistryCredential(id=credentials_id, uid=new_uid())
    _store(box, row, spec)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise clash from exc
    return row


async def update_credentials(
    session: AsyncSession, box: SecretBox, credentials_id: str, patch: RegistryPatch
) -> RegistryCredential:
    """Merge the patch into the whole stored credentials (password included) and re-validate
    them as a create body."""
    row = await get_credentials(session, credentials_id)
    opened = wire_body(spec_of(row))
    opened["credentials"]["password"] = opened_password(box, row)
    spec = validated(RegistryCreate, merged(opened, changes_of(patch), MERGED_OBJECTS))
    await _check_projects(session, spec)
    _store(box, row, spec)
    await session.commit()
    await session.refresh(row)
    return row


async def users_of(session: AsyncSession, box: SecretBox, credentials_id: str) -> list[str]:
    """The jobs and build services (`job <project>/<id>`) that name the credentials."""
    jobs = await JOBS.naming_credentials(session, box, credentials_id)
    return jobs + await SERVICES.naming_credentials(session, box, credentials_id)


async def delete_credentials(session: AsyncSession, box: SecretBox, credentials_id: str) -> None:
    """Delete the credentials; 409 naming the jobs and build services that use them."""
    row = await get_credentials(session, credentials_id)
    users = await users_of(session, box, credentials_id)
    if users:
        raise Conflict(
            f"Registry credentials {credentials_id!r} are in use by {', '.join(users)}",
            {"usedBy": users},
        )
    await repository.remove(session, row)
    await session.commit()


# ---- resolution ----------------------------------------------------------------------------


def _restricted_away(credentials_id: str, project_id: str) -> CredentialsNotConfigured:
    return CredentialsNotConfigured(
        f"Registry credentials {credentials_id!r} are restricted to other projects than "
        f"{project_id!r} (restrictions.projects)",
        {"credentials": credentials_id},
    )


async def registry_logins(
    session: AsyncSession,
    box: SecretBox,
    settings: Settings,
    project_id: str,
    ids: Sequence[str],
) -> list[RegistryCredentials]:
    """The logins `ids` name for a job or build service of `project_id`: the account's
    registry credentials, then the operator's seed; CredentialsNotConfigured for an id that
    is neither, or whose credentials are restricted to other projects."""
    stored = await repository.of_ids(session, ids) if ids else {}
    logins = []
    for credentials_id in ids:
        row = stored.get(credentials_id)
        if row is None:
            logins += seeded_logins(settings, [credentials_id])
            continue
        spec = spec_of(row)
        if spec.restrictions.restricted and project_id not in spec.restrictions.projects:
            raise _restricted_away(credentials_id, project_id)
        logins.append(
            RegistryCredentials(
                spec.registry(), spec.credentials.username, opened_password(box, row)
            )
        )
    return logins
