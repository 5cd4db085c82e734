"""Cross-site request forgery checks of the dashboard.

Every POST carries the session's CSRF token, in the form field `csrf` (plain forms) or the
header X-CSRF-Token (htmx, through `hx-headers`), and is refused when its Origin (or, without
one, its Referer) names another site. WebSocket upgrades are checked by Origin alone, which
browsers always send with them (cross-site WebSocket hijacking)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

from dockyard.config import Settings
from dockyard.errors import Forbidden
from dockyard.ui.session import UiSession

FIELD = "csrf"
HEADER = "X-CSRF-Token"


class CsrfRejected(Forbidden):
    code = "csrf-rejected"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lowercased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(connection: HTTPConnection) -> set[str]:
    """The origins this server answers as: the request's own and the public URL's."""
    settings: Settings = connection.app.state.settings
    scheme = {"ws": "http", "wss": "https"}.get(connection.url.scheme, connection.url.scheme)
    host = connection.headers.get("host", connection.url.netloc)
    return {f"{scheme}://{host}".lower(), origin_of(settings.base_url)}


def check_origin(connection: HTTPConnection, *, required: bool) -> None:
    """A request's Origin (else its Referer's) must be this server's; a browser sends one
    with every cross-site POST and WebSocket, so only `required` refuses a missing one."""
    origin = connection.headers.get("origin")
    if origin is None and (referer := connection.headers.get("referer")):
        origin = origin_of(referer)
    if origin is None:
        if required:
            raise CsrfRejected("This request names no Origin")
        return
    if origin.lower() not in own_origins(connection):
        raise CsrfRejected(f"Requests from {origin!r} are not accepted here")


async def check_post(request: Request, session: UiSession | None) -> None:
    """Refuse a POST from another site or without the session's CSRF token."""
    check_origin(request, required=False)
    form = await request.form()
    sent = request.headers.get(HEADER) or form.get(FIELD)
    if (
        session is None
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), session.csrf.encode())
    ):
        raise CsrfRejected(
            "The form has expired or did not come from this dashboard: reload the page and retry"
        )
