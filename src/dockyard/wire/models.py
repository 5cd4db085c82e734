"""Base of every wire model: camelCase on the wire, UTC timestamps with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.alias_generators import to_camel


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(iso_utc, return_type=str)]


class WireModel(BaseModel):
    """A response or nested object as the official clients read it: optional fields that are
    unset are left out (the clients' types mark them NotRequired, not nullable), except the
    wire names listed in `nullable`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_unset_optionals(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if v is not None or k in self.nullable}


class RequestModel(WireModel):
    """A request body: unknown fields are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", strict=True)


T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T


class Pagination(WireModel):
    """On the last page there is no `cursor` at all: the JS client's type is `cursor?: string`
    and it keeps paging while the key is there, even as null."""

    has_next_page: bool
    cursor: str | None = None
    count: int


class ListEnvelope(Envelope[T], Generic[T]):
    pagination: Pagination


class ErrorBody(BaseModel):
    status: int
    message: str
    id: str
    details: dict[str, object]


class ErrorEnvelope(BaseModel):
    error: ErrorBody
