"""The dashboard's session: a cookie holding the API token the user logged in with and the
session's CSRF token, sealed (AES-GCM, authenticated) with the installation's secret key
under a context of its own, so no other sealed value opens as a session and the browser
can neither read nor forge one.

The cookie is HttpOnly, limited to /ui, Secure when the server's public URL is https, and ends
after SESSION_HOURS. It is SameSite=Lax, so a link from elsewhere (a notification, a chat)
opens the page logged in; every POST still needs the session's CSRF token and a matching
Origin (dockyard.ui.csrf), and GET requests change nothing. A visitor who has not logged in
gets a session without a token (so the login form has a CSRF token too); logging in replaces
it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from fastapi import Response
from starlette.requests import HTTPConnection

from dockyard.config import Settings
from dockyard.secrets.crypto import SecretBox, SecretKeyError

COOKIE = "dockyard_session"
COOKIE_PATH = "/ui"
CONTEXT = "dockyard.ui.session"
SESSION_HOURS = 12


@dataclass(frozen=True)
class UiSession:
    csrf: str
    token: str | None
    expires_at: float  # epoch seconds

    @property
    def has_token(self) -> bool:
        return self.token is not None


def new_session(token: str | None = None) -> UiSession:
    """A session with a fresh CSRF token, ending SESSION_HOURS from now."""
    return UiSession(
        csrf=secrets.token_urlsafe(32), token=token, expires_at=time.time() + SESSION_HOURS * 3600
    )


def seal(box: SecretBox, session: UiSession) -> str:
    value = {"csrf": session.csrf, "token": session.token, "exp": session.expires_at}
    return box.seal_json(value, context=CONTEXT)


def unseal(box: SecretBox, sealed: str) -> UiSession | None:
    """The session in a cookie value; None when it is not one of ours or has ended."""
    try:
        value = box.open_json(sealed, context=CONTEXT)
        session = UiSession(
            csrf=str(value["csrf"]),
            token=None if value["token"] is None else str(value["token"]),
            expires_at=float(value["exp"]),
        )
    except (SecretKeyError, ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at > time.time() else None


def session_of(connection: HTTPConnection) -> UiSession | None:
    """The session of a request or WebSocket, if its cookie holds a live one."""
    sealed = connection.cookies.get(COOKIE)
    box: SecretBox = connection.app.state.secret_box
    return unseal(box, sealed) if sealed else None


def secure_cookies(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


def keep(response: Response, connection: HTTPConnection, session: UiSession) -> None:
    """Set the session cookie on `response`."""
    settings: Settings = connection.app.state.settings
    response.set_cookie(
        COOKIE,
        seal(connection.app.state.secret_box, session),
        max_age=max(0, int(session.expires_at - time.time())),
        path=COOKIE_PATH,
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )


def forget(response: Response, connection: HTTPConnection) -> None:
    """Clear the session cookie."""
    settings: Settings = connection.app.state.settings
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=secure_cookies(settings), httponly=True, samesite="lax"
    )
