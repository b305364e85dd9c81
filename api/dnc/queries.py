"""The list queries: pages of entries, one number, and scrubbing a campaign list."""

from __future__ import annotations

import strawberry

from api.context import Info
from api.dnc import lookup, service
from api.dnc.errors import ValidationFailed
from api.dnc.types import (
    DncCheckResult,
    DncEntry,
    DncEntryConnection,
    DncEntryEdge,
    DncEntryFilter,
    PageInfo,
)
from api.errors import BadUserInput
from api.pagination import Position, decode_cursor, encode_cursor, page_size
from api.permissions import IsAuthenticated


def _entry_filter(where: DncEntryFilter | None) -> lookup.EntryFilter:
    if where is None:
        return lookup.EntryFilter()
    return lookup.EntryFilter(
        reason=where.reason or None,
        batch_id=str(where.batch_id) if where.batch_id else None,
        created_after=where.created_after or None,
        created_before=where.created_before or None,
        phone_number_contains=where.phone_number_contains or None,
    )


@strawberry.type
class DncQuery:
    @strawberry.field(
        description="The organization's entries, newest first, with keyset cursors.",
        permission_classes=[IsAuthenticated],
    )
    async def dnc_entries(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = strawberry.UNSET,
        filter: DncEntryFilter | None = strawberry.UNSET,
    ) -> DncEntryConnection:
        size = page_size(first)
        position = decode_cursor(after) if after else None
        viewer = await info.context.viewer()
        page = await lookup.list_entries(
            organization_id=viewer.organization_id,
            where=_entry_filter(filter or None),
            first=size,
            after=position,
        )
        edges = [
            DncEntryEdge(
                cursor=encode_cursor(Position(row.created_at, row.id)),
                node=DncEntry.from_model(row),
            )
            for row in page.entries
        ]
        return DncEntryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=position is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total_count,
        )

    @strawberry.field(
        description="The entry for a number, in any spelling; null when it is not on the list.",
        permission_classes=[IsAuthenticated],
    )
    async def dnc_entry(self, info: Info, phone_number: str) -> DncEntry | None:
        try:
            number = service.parse_phone_number(phone_number)
        except ValidationFailed as error:
            raise BadUserInput(error.message) from None
        viewer = await info.context.viewer()
        row = await service.active_entry(organization_id=viewer.organization_id, phone_number=number)
        return DncEntry.from_model(row) if row else None

    @strawberry.field(
        description="Scrub a list of numbers (100,000 and more, passed as a variable).",
        permission_classes=[IsAuthenticated],
    )
    async def dnc_check(self, info: Info, phone_numbers: list[str]) -> DncCheckResult:
        viewer = await info.context.viewer()
        result = await lookup.check_numbers(
            organization_id=viewer.organization_id, numbers=phone_numbers
        )
        return DncCheckResult(blocked=result.blocked, invalid=result.invalid, checked=result.checked)
