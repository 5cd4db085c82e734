"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth import repository
from dockyard.auth.models import ApiToken
from dockyard.auth.permissions import Permission, parse_permissions
from dockyard.auth.schemas import TokenCreate, TokenEntry, TokenInfo
from dockyard.db.base import utcnow
from dockyard.db.repository import Page, PageRequest
from dockyard.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

TOKEN_PREFIX = "dky_"
MAX_CACHED_TOKENS = 10_000


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the presented token allows."""

    token_name: str
    is_admin: bool
    permissions: frozenset[Permission]
    project_ids: frozenset[str] | None

    def can(self, permission: Permission) -> bool:
        return self.is_admin or permission in self.permissions

    def can_see_project(self, project_id: str) -> bool:
        return self.project_ids is None or project_id in self.project_ids

    def require(self, permission: Permission, project_id: str | None = None) -> None:
        if not self.can(permission):
            raise Forbidden(
                f"This token lacks the permission {permission.value!r}",
                {"permission": permission.value},
            )
        if project_id is not None and not self.can_see_project(project_id):
            raise Forbidden(
                f"This token is not allowed to access project {project_id!r}",
                {"projectId": project_id},
            )


class TokenCache:
    """Principals of recently checked tokens, for `seconds` (and never past a token's expiry):
    most requests then skip the token lookup. A token revoked meanwhile is refused once its
    entry ends; `seconds` 0 checks every request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, secret_hash: str) -> Principal | None:
        entry = self._entries.get(secret_hash)
        if entry is None:
            return None
        principal, until = entry
        if time.monotonic() >= until:
            del self._entries[secret_hash]
            return None
        return principal

    def put(self, secret_hash: str, principal: Principal, expires_at: datetime | None) -> None:
        if self.seconds <= 0:
            return
        lifetime = self.seconds
        if expires_at is not None:
            lifetime = min(lifetime, (expires_at - utcnow()).total_seconds())
        if len(self._entries) >= MAX_CACHED_TOKENS:
            self._entries.clear()
        self._entries[secret_hash] = (principal, time.monotonic() + lifetime)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_token(
    session: AsyncSession,
    *,
    name: str,
    permissions: list[str],
    project_ids: list[str] | None = None,
    expires_at: datetime | None = None,
    is_admin: bool = False,
    description: str | None = None,
) -> str:
    """Store a new token and return its secret, which is never shown again."""
    _, secret = await _store_token(
        session,
        name=name,
        permissions=permissions,
        project_ids=project_ids,
        expires_at=expires_at,
        is_admin=is_admin,
        description=description,
    )
    return secret


async def _store_token(
    session: AsyncSession,
    *,
    name: str,
    permissions: list[str],
    project_ids: list[str] | None,
    expires_at: datetime | None,
    is_admin: bool,
    description: str | None,
) -> tuple[ApiToken, str]:
    granted = sorted(parse_permissions(permissions))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        uid=secrets.token_hex(12),
        name=name,
        description=description,
        secret_hash=hash_secret(secret),
        is_admin=is_admin,
        permissions=[permission.value for permission in granted],
        project_ids=sorted(set(project_ids)) if project_ids else None,
        expires_at=expires_at,
    )
    session.add(token)
    await session.commit()
    return token, secret


async def issue_first_admin_token(session: AsyncSession) -> str | None:
    """On an installation without tokens, create the admin token; else None."""
    if await repository.count_tokens(session):
        return None
    return await issue_token(session, name="admin", permissions=[], is_admin=True)


async def authenticate(
    session: AsyncSession, secret: str | None, cache: TokenCache | None = None
) -> Principal:
    if not secret:
        raise Unauthorized("Missing API token: send 'Authorization: Bearer <token>'")
    secret_hash = hash_secret(secret)
    if cache is not None and (known := cache.get(secret_hash)) is not None:
        return known
    token = await repository.find_by_secret_hash(session, secret_hash)
    if token is None or token.revoked_at is not None:
        raise Unauthorized("Invalid API token")
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise Unauthorized("API token has expired")
    principal = Principal(
        token_name=token.name,
        is_admin=token.is_admin,
        permissions=parse_permissions(token.permissions),
        project_ids=frozenset(token.project_ids) if token.project_ids is not None else None,
    )
    if cache is not None:
        cache.put(secret_hash, principal, token.expires_at)
    return principal


def token_info(principal: Principal) -> TokenInfo:
    """What the caller's token is (`GET /v1/login`, which the official CLI's login checks)."""
    held = frozenset(Permission) if principal.is_admin else principal.permissions
    return TokenInfo(
        name=principal.token_name,
        admin=principal.is_admin,
        permissions=sorted(permission.value for permission in held),
        projects=sorted(principal.project_ids) if principal.project_ids is not None else None,
    )


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return await repository.list_tokens(session)


async def page_tokens(
    session: AsyncSession, request: PageRequest, *, include_inactive: bool
) -> Page[ApiToken]:
    """Active tokens (with `include_inactive`, revoked and expired ones too), oldest first."""
    return await repository.page(session, request, active_at=None if include_inactive else utcnow())


async def get_token(session: AsyncSession, token_id: str) -> ApiToken:
    token = await repository.find_by_uid(session, token_id)
    if token is None:
        raise NotFound(f"Token {token_id!r} not found", {"tokenId": token_id})
    return token


def _check_grant(principal: Principal, body: TokenCreate) -> None:
    """A token can hand on only what it holds: 400 for an unknown permission, 403 for one it
    lacks or for an admin token asked of a non-admin one. (Tokens limited to projects do not
    get here: the routes are the account's.)"""
    for index, value in enumerate(body.permissions):
        try:
            (permission,) = parse_permissions([value])
        except ValueError as exc:
            raise Invalid(f"permissions[{index}]", str(exc)) from None
        if not principal.can(permission):
            raise Forbidden(
                f"A token cannot grant {value!r}, which it lacks", {"permission": value}
            )
    if body.admin and not principal.is_admin:
        raise Forbidden("Only an admin token can create an admin token", {"admin": True})
    if not body.permissions and not body.admin:
        raise Invalid("permissions", "give at least one permission, or admin: true")
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise Invalid("expiresAt", "must be in the future")


async def create_token(
    session: AsyncSession, principal: Principal, body: TokenCreate
) -> tuple[ApiToken, str]:
    """A new token within what `principal` holds, and its secret (shown once)."""
    _check_grant(principal, body)
    return await _store_token(
        session,
        name=body.name,
        permissions=body.permissions,
        project_ids=body.projects,
        expires_at=body.expires_at,
        is_admin=body.admin,
        description=body.description,
    )


async def revoke_token(session: AsyncSession, token_id: str) -> ApiToken:
    """Revoke the token of that id; revoking a revoked token changes nothing."""
    token = await get_token(session, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.commit()
    return token


def is_active(token: ApiToken) -> bool:
    now = utcnow()
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


def entry(token: ApiToken) -> TokenEntry:
    return TokenEntry(
        id=token.uid,
        name=token.name,
        description=token.description,
        active=is_active(token),
        revoked=token.revoked_at is not None,
        revoked_at=token.revoked_at,
        created_at=token.created_at,
        expires_at=token.expires_at,
        admin=token.is_admin,
        permissions=list(token.permissions),
        projects=list(token.project_ids) if token.project_ids is not None else None,
    )


class Revocable(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def revoked(self) -> bool: ...


R = TypeVar("R", bound=Revocable)


def tokens_to_revoke(tokens: Iterable[R], name: str, *, every: bool = False) -> list[R]:
    """The unrevoked tokens named `name` (or the one whose id it is): several only with
    `every`, else 409 lists their ids; none is 404. (The CLI's rule, on the database or on a
    server's `GET /v1/tokens`.)"""
    chosen = [t for t in tokens if name in (t.name, t.id) and not t.revoked]
    if not chosen:
        raise NotFound(f"No active token named {name!r}")
    if len(chosen) > 1 and not every:
        ids = [token.id for token in chosen]
        raise Conflict(
            f"{len(chosen)} active tokens are named {name!r} ({', '.join(ids)}): "
            "give one id, or --all",
            {"tokenIds": ids},
        )
    return chosen


async def revoke_tokens(session: AsyncSession, name: str, *, every: bool = False) -> int:
    """Revoke the active token named `name` (or its id), as `tokens_to_revoke` picks them."""
    found = {token.uid: token for token in await repository.find_by_name(session, name)}
    chosen = tokens_to_revoke([entry(token) for token in found.values()], name, every=every)
    for picked in chosen:
        found[picked.id].revoked_at = utcnow()
    await session.commit()
    return len(chosen)
