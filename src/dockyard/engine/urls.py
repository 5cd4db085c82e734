"""URLs shown to people: a bundle URL or a notification webhook may carry a credential
(a presigned query string, `user:token@`, a Slack hook's last path segment), so every place
that prints one prints `redact_url(url)` instead."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

REDACTED = "*****"
# Incoming-webhook hosts whose last path segment is the credential.
SECRET_PATH_HOSTS = frozenset({"hooks.slack.com"})


def redact_url(url: str, *, secret_path: bool = False) -> str:
    """`url` without its userinfo, query and fragment (each shown as *****); with
    `secret_path` (always for Slack's hooks) its last path segment masked too."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    netloc = (f"{REDACTED}@" if "@" in parts.netloc else "") + host + port
    path = parts.path
    if (secret_path or host.lower() in SECRET_PATH_HOSTS) and path.strip("/"):
        path = path.rstrip("/").rsplit("/", 1)[0] + "/" + REDACTED
    query = REDACTED if parts.query else ""
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))
