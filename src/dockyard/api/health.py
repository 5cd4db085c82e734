"""Liveness (/health) and readiness (/ready: the database, and with a worker in the process
the docker engine and the registry)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dockyard import __version__
from dockyard.api.errors import error_response
from dockyard.wire.models import Envelope

router = APIRouter(tags=["health"])

READY_TIMEOUT_SECONDS = 5.0


@router.get("/health")
async def health() -> Envelope[dict[str, str]]:
    """Liveness, and the version of dockyard that answers."""
    return Envelope(data={"status": "ok", "version": __version__})


async def _check(probe: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        return f"error: {exc}" if str(exc) else f"error: {type(exc).__name__}"
    return "ok"


@router.get("/ready", response_model=None)
async def ready(request: Request) -> Envelope[dict[str, str]] | JSONResponse:
    probes = request.app.state.readiness
    results = await asyncio.gather(*(_check(probe()) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    if all(result == "ok" for result in checks.values()):
        return Envelope(data=checks)
    failing = ", ".join(name for name, result in checks.items() if result != "ok")
    return error_response(503, "not-ready", f"Not ready: {failing}", dict(checks))
