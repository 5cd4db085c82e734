"""GET /metrics: the Prometheus text exposition of the gauges read from the database and of
this process's counters (with `dockyard up`, the worker's too)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dockyard.api.deps import SessionDep
from dockyard.api.permissions import MetricsRead
from dockyard.metrics.exposition import CONTENT_TYPE, render
from dockyard.worker.gauges import queue_gauges

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def metrics(session: SessionDep, _: MetricsRead) -> Response:
    """The metrics in Prometheus' text format (version 0.0.4); needs a token for the whole
    account holding *Account > Observability > Metrics > Read*."""
    return Response(render(await queue_gauges(session)), media_type=CONTENT_TYPE)
