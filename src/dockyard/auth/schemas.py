"""Wire models of tokens: what `GET /v1/login` tells a token's holder about it."""

from __future__ import annotations

from typing import ClassVar

from dockyard.wire.models import WireModel


class TokenInfo(WireModel):
    """The calling token: its name, whether it is an admin token, the permissions it holds
    (an admin token holds them all) and the projects it may reach (null: every project)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"projects"})

    name: str
    admin: bool
    permissions: list[str]
    projects: list[str] | None = None
