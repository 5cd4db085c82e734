"""List query parameters (per_page, page, cursor) and the pagination block of list replies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from dockyard.db.repository import Page, PageRequest
from dockyard.wire.models import Pagination

# Far beyond any list dockyard holds, and small enough that the offset it makes
# ((page - 1) * per_page) fits the databases' 64-bit integers.
MAX_PAGE = 1_000_000


async def page_request(
    per_page: Annotated[int, Query(ge=1, le=100, description="items per page")] = 50,
    page: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="the cursor of the previous reply")
    ] = None,
) -> PageRequest:
    return PageRequest(per_page=per_page, page=page, cursor=cursor)


PageDep = Annotated[PageRequest, Depends(page_request)]


def pagination_of(page: Page[object]) -> Pagination:
    return Pagination(has_next_page=page.has_next, cursor=page.next_cursor, count=len(page.items))
