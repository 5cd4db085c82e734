"""Every answer read through the official `northflank` SDK must parse into the SDK's own types.

Each generated endpoint declares what it returns: its `__call__` (and `all`, for paginated
ones) is annotated `ApiCallResponse[T]`, T a TypedDict of `northflank._types` (fields that may
be absent are `NotRequired`). `checked(endpoint, **kwargs)` calls the endpoint, resolves T from
that annotation and validates the response's `data` against it with pydantic in strict mode:
every field the SDK marks required is there and every field present has the declared type
(no str-for-int coercion, literals exact). Fields the SDK does not declare are allowed, as
TypedDicts are open and Northflank adds fields over time.

The one exception is `UNKNOWABLE`: three fields the SDK's types (generated from Northflank's
OpenAPI, and the same in the JS client) require although in some states no true value exists.
There, and only in that state, null passes; everywhere else it fails like any other mismatch.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from northflank import ApiCallResponse
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

T = TypeVar("T")


@dataclass(frozen=True)
class Unknowable:
    """`field` is required by the SDK's type, but an object in the state `when` has no value
    for it, so dockyard answers null rather than invent one."""

    field: str
    when: Callable[[Mapping[str, Any]], bool]


UNKNOWABLE = (
    # A run (GetJobRunResponse) that has not concluded has no conclusion time...
    Unknowable("concludedAt", lambda run: "runName" in run and run["concluded"] is False),
    # ...and one whose container never started (queued, or aborted while queued) no start time.
    Unknowable("startedAt", lambda run: "runName" in run and run["active"] == 0),
    # A job (GetJobResponse.settings) created without activeDeadlineSeconds has no deadline.
    Unknowable("activeDeadlineSeconds", lambda settings: "backoffLimit" in settings),
)


def declared_type(endpoint: object, method: str = "__call__") -> Any:
    """T of the `ApiCallResponse[T]` that `endpoint.<method>` is annotated to return."""
    returned = typing.get_type_hints(getattr(type(endpoint), method))["return"]
    assert typing.get_origin(returned) is ApiCallResponse, returned
    (data_type,) = typing.get_args(returned)
    return data_type


@functools.cache
def adapter(data_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(data_type)


def is_unknowable(error: ErrorDetails, data: Any) -> bool:
    """Whether `error` is a null in `data` that `UNKNOWABLE` explains."""
    *path, field = error["loc"]
    if error["input"] is not None:
        return False
    parent = data
    for key in path:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return False
    return any(rule.field == field and rule.when(parent) for rule in UNKNOWABLE)


def validate(data_type: Any, data: Any) -> None:
    try:
        adapter(data_type).validate_python(data, strict=True)
    except ValidationError as exc:
        rejected = [error for error in exc.errors() if not is_unknowable(error, data)]
        if rejected:
            raise AssertionError(f"{data_type} rejects the answer: {rejected}\n{data}") from exc


def conforms(endpoint: object, response: ApiCallResponse[T], method: str = "__call__") -> T:
    """`response.data`, once it validated against the type `endpoint.<method>` declares."""
    assert response.error is None, response.error
    validate(declared_type(endpoint, method), response.data)
    return response.data


def checked(endpoint: Callable[..., ApiCallResponse[T]], **kwargs: Any) -> T:
    """Call `endpoint` and return its data, checked against its declared type."""
    return conforms(endpoint, endpoint(**kwargs))


def checked_all(endpoint: Any, **kwargs: Any) -> Any:
    """`endpoint.all(...)`: every page drained by the SDK, checked against the type `all`
    declares."""
    return conforms(endpoint, endpoint.all(**kwargs), "all")
