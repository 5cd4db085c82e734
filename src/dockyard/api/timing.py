"""Each HTTP request's latency into dockyard_http_request_duration_seconds, labelled by its
route's template (`/v1/projects/{projectId}/jobs`), never the raw path, so the labels stay few
whatever the ids; requests no route matched share the label `unmatched`."""

from __future__ import annotations

import re
import time
from functools import lru_cache

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.metrics.instruments import HTTP_REQUEST_SECONDS

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's path with the prefix it was included under (`/v1`, or
    `/v1/teams/{teamId}`): the route knows only its own path, so the prefix is the request
    path's leading segments, a segment that is the value of a path parameter the route's own
    path lacks shown as that parameter."""
    route = scope.get("route")
    local = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    if not isinstance(local, str):
        return UNMATCHED
    own = [part for part in local.split("/") if part]
    parts = [part for part in scope["path"].split("/") if part]
    if ":path}" in local or len(parts) < len(own):
        return local
    named = _parameters(local)
    others = {str(v): k for k, v in scope.get("path_params", {}).items() if k not in named}
    prefix = [
        "{" + others[part] + "}" if part in others else part
        for part in parts[: len(parts) - len(own)]
    ]
    return "/" + "/".join([*prefix, *own])


@lru_cache(maxsize=1024)
def _parameters(path: str) -> frozenset[str]:
    """The names of a route path's parameters (the routes are few: each is parsed once)."""
    return frozenset(re.findall(r"\{(\w+)", path))


class RequestTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # what the server answers when the app fails before it starts a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            HTTP_REQUEST_SECONDS.labels(
                scope["method"], route_template(scope), str(status)
            ).observe(time.monotonic() - started)
