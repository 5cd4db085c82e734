"""Shared repository plumbing: keyset pagination over an integer key, typed views of JSON
columns parsed once per loaded row, compare-and-set updates of loaded rows."""

from __future__ import annotations

import base64
import binascii
import json
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dockyard.errors import Invalid

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")
Row = TypeVar("Row")
Parsed = TypeVar("Parsed")

# Keys are 64-bit integers in SQLite and PostgreSQL alike; a cursor past them is not ours.
MAX_KEY = 2**63 - 1


@dataclass(frozen=True)
class PageRequest:
    per_page: int = 50
    page: int | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[T_co]):
    items: Sequence[T_co]
    has_next: bool
    next_cursor: str | None


def encode_cursor(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded))["after"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise Invalid("query.cursor", "not a cursor returned by this API") from exc
    if not isinstance(after, int) or not 0 <= after <= MAX_KEY:
        raise Invalid("query.cursor", "not a cursor returned by this API")
    return after


class Keyset(Generic[Row]):
    """Pages of the rows of `statement` ordered by `key` (newest first when `descending`):
    each page's statement is built once, its values bound at each call (building a
    statement costs more than running it warm), so a caller with a fixed statement keeps
    one Keyset."""

    def __init__(
        self,
        statement: Select[Row],
        key: InstrumentedAttribute[int],
        *,
        descending: bool = False,
    ) -> None:
        self._key = key
        self._descending = descending
        self._ordered = statement.order_by(key.desc() if descending else key).limit(
            bindparam("limit", type_=Integer)
        )

    @cached_property
    def _after(self) -> Select[Row]:
        after = bindparam("after", type_=Integer)
        return self._ordered.where(self._key < after if self._descending else self._key > after)

    @cached_property
    def _offset(self) -> Select[Row]:
        return self._ordered.offset(bindparam("offset", type_=Integer))

    async def page(
        self, session: AsyncSession, request: PageRequest, parameters: dict[str, Any] | None = None
    ) -> Page[Row]:
        """The page after the cursor if given, else the page-th page; `parameters` are the
        values of the statement's own bound parameters."""
        values = {**(parameters or {}), "limit": request.per_page + 1}
        statement = self._ordered
        if request.cursor is not None:
            statement, values["after"] = self._after, decode_cursor(request.cursor)
        elif request.page is not None:
            statement, values["offset"] = self._offset, (request.page - 1) * request.per_page
        rows = list((await session.execute(statement, values)).scalars())
        items, has_next = rows[: request.per_page], len(rows) > request.per_page
        next_cursor = encode_cursor(getattr(items[-1], self._key.key)) if has_next else None
        return Page(items=items, has_next=has_next, next_cursor=next_cursor)


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    key: InstrumentedAttribute[int],
    request: PageRequest,
    *,
    descending: bool = False,
) -> Page[Any]:
    """Rows of `statement` ordered by `key` (newest first when `descending`): after the cursor
    if given, else the page-th page."""
    return await Keyset(statement, key, descending=descending).page(session, request)


def page_of_list(items: Sequence[T], request: PageRequest) -> Page[T]:
    """A page of `items` (a list computed whole, not rows): after the cursor if given, else
    the page-th page; the cursor is the index after the page's last item."""
    if request.cursor is not None:
        start = decode_cursor(request.cursor)
    else:
        start = ((request.page or 1) - 1) * request.per_page
    end = start + request.per_page
    has_next = end < len(items)
    return Page(items[start:end], has_next, encode_cursor(end) if has_next else None)


async def update_if_unchanged(
    session: AsyncSession, row: Any, unchanged: Sequence[str], **values: Any
) -> bool:
    """Write `values` into `row`'s record only while its columns `unchanged` still hold what
    `row` was loaded with (a concurrent write wins, and is not overwritten with a stale
    value); whether it wrote. `row` itself is left as loaded."""
    model: Any = type(row)
    conditions = [model.pk == row.pk] + [getattr(model, n) == getattr(row, n) for n in unchanged]
    statement = update(model).where(*conditions).values(**values)
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


class ParsedOnce(Generic[Row, Parsed]):
    """A typed view of a JSON column: `view(row)` parses the row's value at its first read and
    hands back the same object until the column holds another value (a write assigns a new
    one, a refresh loads one), so each loaded row is parsed once, not at each use."""

    def __init__(self, column: Callable[[Row], object], parse: Callable[[Row], Parsed]) -> None:
        self._column = column
        self._parse = parse
        # Per row (held weakly): the value parsed, held so that `is` cannot match a new one.
        self._parsed: weakref.WeakKeyDictionary[Row, tuple[object, Parsed]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, row: Row) -> Parsed:
        value = self._column(row)
        cached = self._parsed.get(row)
        if cached is not None and cached[0] is value:
            return cached[1]
        parsed = self._parse(row)
        self._parsed[row] = (value, parsed)
        return parsed
