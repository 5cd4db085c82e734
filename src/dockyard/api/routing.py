"""Mount a router under /v1 and under the team alias /v1/teams/{teamId}."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path

from dockyard.api.deps import SettingsDep
from dockyard.api.errors import ERROR_RESPONSES
from dockyard.errors import NotFound


async def check_team(teamId: Annotated[str, Path(max_length=100)], settings: SettingsDep) -> None:
    if teamId != settings.team_id:
        raise NotFound(f"Team {teamId!r} not found", {"teamId": teamId})


def include_v1(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Each router under /v1, then each under the team alias: a request's route is found by
    trying the routes in turn, and no /v1 path starts /v1/teams/, so the plain paths (those
    the official clients call) skip every alias."""
    for router in routers:
        app.include_router(router, prefix="/v1", responses=ERROR_RESPONSES)
    for router in routers:
        app.include_router(
            router,
            prefix="/v1/teams/{teamId}",
            dependencies=[Depends(check_team)],
            responses=ERROR_RESPONSES,
        )
