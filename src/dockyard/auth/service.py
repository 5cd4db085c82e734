"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.auth import repository
from dockyard.auth.models import ApiToken
from dockyard.auth.permissions import Permission, parse_permissions
from dockyard.auth.schemas import TokenInfo
from dockyard.db.base import utcnow
from dockyard.errors import Forbidden, NotFound, Unauthorized

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
) -> str:
    """Store a new token and return its secret, which is never shown again."""
    granted = sorted(parse_permissions(permissions))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            secret_hash=hash_secret(secret),
            is_admin=is_admin,
            permissions=[permission.value for permission in granted],
            project_ids=sorted(set(project_ids)) if project_ids else None,
            expires_at=expires_at,
        )
    )
    await session.commit()
    return secret


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


async def revoke_tokens(session: AsyncSession, name: str) -> int:
    tokens = [
        token for token in await repository.find_by_name(session, name) if not token.revoked_at
    ]
    if not tokens:
        raise NotFound(f"No active token named {name!r}")
    for token in tokens:
        token.revoked_at = utcnow()
    await session.commit()
    return len(tokens)
