"""Wire models of tokens: what `GET /v1/login` tells a token's holder about it, the official
clients' token list (`GET /v1/tokens`) and dockyard's create body."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AwareDatetime, Field

from dockyard.wire.fields import ResourceId
from dockyard.wire.models import RequestModel, Timestamp, WireModel


class TokenInfo(WireModel):
    """The calling token: its name, whether it is an admin token, the permissions it holds
    (an admin token holds them all) and the projects it may reach (null: every project)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"projects"})

    name: str
    admin: bool
    permissions: list[str]
    projects: list[str] | None = None


class TokenEntry(WireModel):
    """A token as `GET /v1/tokens` lists it (the official clients' shape, with dockyard's
    `admin`, `permissions` and `projects`); never its secret."""

    nullable: ClassVar[frozenset[str]] = frozenset({"expiresAt", "projects"})

    id: str
    name: str
    description: str | None = None
    active: bool
    revoked: bool
    revoked_at: Timestamp | None = None
    created_at: Timestamp
    expires_at: Timestamp | None = None
    admin: bool
    permissions: list[str]
    projects: list[str] | None = None


class TokenList(WireModel):
    tokens: list[TokenEntry]


class IssuedToken(TokenEntry):
    """A new token and its secret, shown in this reply only."""

    token: str


TokenName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
        description="A name to recognise the token by.",
    ),
]


class TokenCreate(RequestModel):
    """A new token: at most what the calling token holds (its permissions, its projects; an
    admin token only from an admin token)."""

    name: TokenName
    description: Annotated[str, Field(max_length=200)] | None = None
    permissions: Annotated[list[str], Field(max_length=100)] = Field(default_factory=list)
    projects: Annotated[list[ResourceId], Field(min_length=1, max_length=100)] | None = None
    admin: bool = False
    # ISO 8601 with a zone (a JSON string: strict mode would refuse every one).
    expires_at: Annotated[AwareDatetime, Field(strict=False)] | None = None
