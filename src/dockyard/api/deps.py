"""Request-scoped dependencies: settings, DB session, the calling principal, permissions.

Every dependency is `async def`, however trivial: FastAPI runs a plain `def` dependency in
a worker thread, a thread hop per dependency per request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from dockyard.auth import service as auth_service
from dockyard.auth.permissions import Permission
from dockyard.auth.service import Principal
from dockyard.config import Settings
from dockyard.db.notify import WorkSignal
from dockyard.db.session import Database
from dockyard.errors import Forbidden
from dockyard.logs.tail import LogHub
from dockyard.secrets.crypto import SecretBox


async def get_settings(request: HTTPConnection) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: HTTPConnection) -> Database:
    database: Database = request.app.state.db
    return database


async def get_secret_box(request: HTTPConnection) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


async def get_worker_wake(request: Request) -> WorkSignal:
    """Set after queueing work so workers pick it up without waiting for their next poll."""
    wake: WorkSignal = request.app.state.worker_wake
    return wake


READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


async def get_session(connection: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """A session for the request; GET requests and WebSockets only read. (The database is
    read here, not through `get_database`: each dependency costs every request.)"""
    database: Database = connection.app.state.db
    reads_only = connection.scope.get("method", "GET") in READ_ONLY_METHODS
    async with (database.reads if reads_only else database.sessions)() as session:
        yield session


async def get_log_hub(connection: HTTPConnection) -> LogHub:
    hub: LogHub = connection.app.state.log_hub
    return hub


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
WorkerWakeDep = Annotated[WorkSignal, Depends(get_worker_wake)]
LogHubDep = Annotated[LogHub, Depends(get_log_hub)]
DatabaseDep = Annotated[Database, Depends(get_database)]

_bearer = HTTPBearer(auto_error=False, description="A dockyard API token")


async def get_principal(
    connection: HTTPConnection,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await auth_service.authenticate(
        session, credentials.credentials if credentials else None, connection.app.state.tokens
    )


def requires(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits tokens holding `permission` (and the route's project, if any)."""

    async def check(
        request: Request, principal: Annotated[Principal, Depends(get_principal)]
    ) -> Principal:
        principal.require(permission, request.path_params.get("projectId"))
        return principal

    check.__name__ = f"requires_{permission.name.lower()}"
    return check


def requires_account(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits tokens holding `permission` for the whole account: what such a
    route manages (registry credentials) is the account's, beyond any one project, so a token
    limited to projects is refused."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require(permission)
        if principal.project_ids is not None:
            raise Forbidden(
                "This token is limited to projects; "
                f"{permission.value!r} needs a token for the whole account",
                {"permission": permission.value},
            )
        return principal

    check.__name__ = f"requires_account_{permission.name.lower()}"
    return check
