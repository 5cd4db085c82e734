"""Tokens: `GET /v1/login`, where the official Northflank CLI checks the token `northflank
login` was given (any answer but 2xx fails the login), and the account's API tokens under
`/v1/tokens` (the official clients' list; dockyard's create, get and revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from dockyard.api.deps import SessionDep
from dockyard.api.pagination import PageDep, pagination_of
from dockyard.api.permissions import AnyToken, TokensCreate, TokensRead, TokensUpdate
from dockyard.auth import service
from dockyard.auth.schemas import IssuedToken, TokenCreate, TokenEntry, TokenInfo, TokenList
from dockyard.wire.models import Envelope, ListEnvelope

router = APIRouter(tags=["auth"])

TokenId = Annotated[str, Path(max_length=64, description="ID of the API token")]


@router.get("/login")
async def get_login(principal: AnyToken) -> Envelope[TokenInfo]:
    """The token's name, permissions and projects: 200 for any valid token, whatever it
    holds; 401 for a missing, unknown, revoked or expired one."""
    return Envelope(data=service.token_info(principal))


@router.get("/tokens")
async def list_api_tokens(
    session: SessionDep,
    page: PageDep,
    _: TokensRead,
    all: Annotated[bool, Query(description="revoked and expired tokens too")] = False,
) -> ListEnvelope[TokenList]:
    """The account's tokens, oldest first; never their secrets."""
    result = await service.page_tokens(session, page, include_inactive=all)
    items = [service.entry(token) for token in result.items]
    return ListEnvelope(data=TokenList(tokens=items), pagination=pagination_of(result))


@router.post("/tokens")
async def create_api_token(
    body: TokenCreate, session: SessionDep, principal: TokensCreate
) -> Envelope[IssuedToken]:
    """A new token holding at most what the calling token holds; its secret is in this reply
    only."""
    token, secret = await service.create_token(session, principal, body)
    entry = service.entry(token)
    return Envelope(data=IssuedToken(**entry.model_dump(), token=secret))


@router.get("/tokens/{tokenId}")
async def get_api_token(
    tokenId: TokenId, session: SessionDep, _: TokensRead
) -> Envelope[TokenEntry]:
    return Envelope(data=service.entry(await service.get_token(session, tokenId)))


@router.delete("/tokens/{tokenId}")
async def revoke_api_token(
    tokenId: TokenId, session: SessionDep, _: TokensUpdate
) -> Envelope[TokenEntry]:
    """Revoke the token: it is refused from now on (by every API process within
    DOCKYARD_TOKEN_CACHE_SECONDS)."""
    return Envelope(data=service.entry(await service.revoke_token(session, tokenId)))
