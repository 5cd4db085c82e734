"""The calling token: `GET /v1/login`, where the official Northflank CLI checks the token
`northflank login` was given (any answer but 2xx fails the login)."""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.api.permissions import AnyToken
from dockyard.auth import service
from dockyard.auth.schemas import TokenInfo
from dockyard.wire.models import Envelope

router = APIRouter(tags=["auth"])


@router.get("/login")
async def get_login(principal: AnyToken) -> Envelope[TokenInfo]:
    """The token's name, permissions and projects: 200 for any valid token, whatever it
    holds; 401 for a missing, unknown, revoked or expired one."""
    return Envelope(data=service.token_info(principal))
