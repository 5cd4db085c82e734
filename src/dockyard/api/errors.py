"""Every error leaves the API in one envelope: {"error": {status, message, id, details}}."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dockyard.db.session import is_unavailable
from dockyard.db.space import is_disk_full
from dockyard.errors import DiskFull, DockyardError
from dockyard.wire.models import ErrorEnvelope
from dockyard.wire.paths import error_path

log = structlog.get_logger(__name__)

HTTP_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": HTTP_CODES[status].replace("-", " ").capitalize(),
        "model": ErrorEnvelope,
    }
    for status in (400, 401, 403, 404, 409)
} | {
    # Any other 4xx (405, 413, ...) is the same envelope; documenting it also keeps FastAPI from
    # documenting its own 422, which dockyard never answers (validation errors are 400).
    "4XX": {"description": "Other client errors", "model": ErrorEnvelope},
}


def error_response(status: int, code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    body = {"error": {"status": status, "message": message, "id": code, "details": details}}
    return JSONResponse(body, status_code=status)


def validation_details(exc: RequestValidationError) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for error in exc.errors():
        details.setdefault(error_path(error), []).append(error["msg"])
    return details


async def _dockyard_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DockyardError)
    if exc.status >= 500:
        log.error("request failed", error=exc.message, code=exc.code)
    return error_response(exc.status, exc.code, exc.message, exc.details)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc)
    first_path, first_messages = next(iter(details.items()))
    message = f"Validation error: {first_path}: {first_messages[0]}"
    return error_response(400, "validation-error", message, details)


def is_unreadable_body(exc: StarletteHTTPException) -> bool:
    """FastAPI's 400 for a body its JSON parser gave up on (not UTF-8, nested too deep, a
    number too long): raised from the parser's error, unlike other HTTP errors."""
    return exc.status_code == 400 and exc.__cause__ is not None


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if is_unreadable_body(exc):
        reason = "not readable as JSON"
        return error_response(
            400, "validation-error", f"Validation error: body: {reason}", {"body": [reason]}
        )
    code = HTTP_CODES.get(exc.status_code, "http-error")
    return error_response(exc.status_code, code, str(exc.detail), {})


DISK_FULL_MESSAGE = (
    "No space left on device: the change cannot be stored until space is freed on the "
    "disk of dockyard's data dir (or its database); retry the request then"
)


def _disk_full(request: Request, exc: Exception) -> JSONResponse:
    reason = str(getattr(exc, "orig", exc))  # a DBAPIError's own text quotes the statement
    log.warning("request not stored: disk full", path=request.url.path, error=reason)
    return error_response(503, DiskFull.code, DISK_FULL_MESSAGE, {})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if is_disk_full(exc) or not is_unavailable(exc):
        return await _unexpected_error(request, exc)
    # The database went away (restart, failover) or is locked by another process: the pool
    # is refilled, or the lock waited for, on a later request.
    log.warning("database unavailable", path=request.url.path, error=str(exc.orig))
    return error_response(
        503, "database-unavailable", "The database is unavailable; retry the request", {}
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_disk_full(exc):  # the database's disk (SQLite's lives in the data dir) or the data dir
        return _disk_full(request, exc)
    log.exception("unhandled error", path=request.url.path, error=repr(exc))
    return error_response(500, "internal-error", "Internal server error", {})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DockyardError, _dockyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
