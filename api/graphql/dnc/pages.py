"""Pages of the list: edges with cursors and where a page stands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from api.graphql.dnc.types import DncEntry


@strawberry.type(description="One entry of a page, with its cursor.")
class DncEntryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")
    node: DncEntry = strawberry.field(description="The entry.")


@strawberry.type(description="Where a page stands in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More entries follow this page.")
    has_previous_page: bool = strawberry.field(
        description="The page was asked for with a cursor, so entries precede it."
    )
    start_cursor: str | None = strawberry.field(description="The cursor of the first entry.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last entry: pass it as `after` for the next page."
    )


First = Annotated[
    int | None, strawberry.argument(description="Page size, 1 to 500; null means 50.")
]
After = Annotated[
    str | None, strawberry.argument(description="The endCursor of the previous page.")
]


def page_info(cursors: list[str], *, has_next_page: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type(description="A page of entries, newest first.")
class DncEntryConnection:
    edges: list[DncEntryEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many entries match the filter in all.")
    async def total_count(self) -> int:
        # Counting a list of a million entries costs more than the page: only when asked.
        return await self.count()
