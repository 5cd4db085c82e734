"""Typed domain errors; ``api/errors.py`` turns each into the error envelope.

DockyardError            500  something failed that the caller cannot fix
├── Invalid              400  a field of the request breaks a rule (path + why)
├── GitError             400  git cannot give the asked ref or commit (unknown branch, missing
│                             sha, unreachable repository, a ref or URL that reads as an option)
├── BuildFailed          422  the Dockerfile did not build (failing step + its last lines)
├── RunFailed            422  a job run could not start its container (image, architecture)
├── Unauthorized         401  no token, or a token that is unknown or expired
├── Forbidden            403  the token lacks the permission or the project
├── NotFound             404  no such resource
├── Conflict             409  the request clashes with the current state
├── UpstreamFailed       502  a git server's API could not be reached or refused (what it said)
├── EngineUnavailable    503  docker, git or the registry did not answer
└── DiskFull             503  no space left on the disk of the data dir (or the database's)
"""

from __future__ import annotations

import errno
from typing import Any

# What a write fails with when the disk (or the user's quota on it) has no space left.
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DockyardError(Exception):
    status = 500
    code = "internal-error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Invalid(DockyardError):
    status = 400
    code = "validation-error"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"Invalid request: {path}: {message}", {path: [message]})
        self.path = path


class GitError(DockyardError):
    status = 400
    code = "git-error"


class BuildFailed(DockyardError):
    status = 422
    code = "build-failed"


class RunFailed(DockyardError):
    status = 422
    code = "run-failed"


class Unauthorized(DockyardError):
    status = 401
    code = "unauthorized"


class Forbidden(DockyardError):
    status = 403
    code = "forbidden"


class NotFound(DockyardError):
    status = 404
    code = "not-found"


class Conflict(DockyardError):
    status = 409
    code = "conflict"


class UpstreamFailed(DockyardError):
    status = 502
    code = "upstream-error"


class EngineUnavailable(DockyardError):
    status = 503
    code = "engine-unavailable"


class DiskFull(DockyardError):
    status = 503
    code = "disk-full"
