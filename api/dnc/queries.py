"""The list queries: pages of entries, one number, and scrubbing a campaign list."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, TypeVar

import strawberry

from api.context import Info
from api.db import as_uuid
from api.dnc import events, lookup, service
from api.dnc.entry_reads import EntryFilter, count_entries, list_entries, read_active_entry
from api.dnc.errors import ValidationFailed
from api.dnc.event_types import DncAuditFilter, DncEvent, DncEventConnection, DncEventEdge
from api.dnc.state import expire_due
from api.dnc.types import (
    After,
    DncCheckResult,
    DncEntry,
    DncEntryConnection,
    DncEntryEdge,
    DncEntryFilter,
    First,
    page_info,
)
from api.errors import BadUserInput
from api.pagination import Position, decode_cursor, encode_cursor, page_size
from api.permissions import ADMIN_ONLY, AUTHENTICATED
from api.selections import names_below

T = TypeVar("T")


def _given(value: T | None) -> T | None:
    """None for an argument left out (UNSET) or null; the value otherwise, even if empty."""
    return None if value is strawberry.UNSET else value


def _phone_number(raw: str) -> str:
    try:
        return service.parse_phone_number(raw)
    except ValidationFailed as error:
        raise BadUserInput(error.message) from None


def _entry_filter(where: DncEntryFilter | None) -> EntryFilter:
    if not where:
        return EntryFilter()
    batch_id = _given(where.batch_id)
    return EntryFilter(
        status=_given(where.status),
        channel=_given(where.channel),
        reason=_given(where.reason),
        batch_id=None if batch_id is None else str(batch_id),
        created_after=_given(where.created_after),
        created_before=_given(where.created_before),
        phone_number_contains=_given(where.phone_number_contains),
    )


@strawberry.type
class DncQuery:
    @strawberry.field(
        description="The organization's entries, newest first, with keyset cursors.",
        permission_classes=AUTHENTICATED,
    )
    async def dnc_entries(
        self,
        info: Info,
        first: First = 50,
        after: After = strawberry.UNSET,
        filter: Annotated[
            DncEntryFilter | None, strawberry.argument(description="Only matching entries.")
        ] = strawberry.UNSET,
    ) -> DncEntryConnection:
        size, cursor, position = _page_arguments(first, after)
        viewer = await info.context.viewer()
        where = _entry_filter(_given(filter))
        page = await list_entries(
            organization_id=viewer.organization_id,
            where=where,
            first=size,
            after=position,
            selected=names_below(info),
            loaders=await info.context.loaders(),
        )
        cursors = [encode_cursor(position) for position in page.positions]
        return DncEntryConnection(
            edges=[
                DncEntryEdge(cursor=edge_cursor, node=entry)
                for edge_cursor, entry in zip(cursors, page.entries, strict=True)
            ],
            page_info=page_info(cursors, has_next_page=page.has_next_page, after=cursor),
            count=partial(count_entries, organization_id=viewer.organization_id, where=where),
        )

    @strawberry.field(
        description="The ACTIVE entry for a number, in any spelling; null when it is not on "
        "the list.",
        permission_classes=AUTHENTICATED,
    )
    async def dnc_entry(
        self,
        info: Info,
        phone_number: Annotated[
            str,
            strawberry.argument(description='Any spelling: "+1 212-555-1234", "0012125551234".'),
        ],
    ) -> DncEntry | None:
        number = _phone_number(phone_number)
        viewer = await info.context.viewer()
        return await read_active_entry(
            organization_id=viewer.organization_id,
            phone_number=number,
            selected=names_below(info),
            loaders=await info.context.loaders(),
        )

    @strawberry.field(
        description="Scrub a list of numbers (100,000 and more, passed as a variable).",
        permission_classes=AUTHENTICATED,
    )
    async def dnc_check(
        self,
        info: Info,
        phone_numbers: Annotated[
            list[str], strawberry.argument(description="The campaign's numbers, in any spelling.")
        ],
    ) -> DncCheckResult:
        viewer = await info.context.viewer()
        result = await lookup.check_numbers(
            organization_id=viewer.organization_id, numbers=phone_numbers
        )
        return DncCheckResult(
            blocked=result.blocked, invalid=result.invalid, checked=result.checked
        )

    @strawberry.field(
        description="Everything that happened to a number, oldest first: additions, removals, "
        "expiries.",
        permission_classes=AUTHENTICATED,
    )
    async def dnc_history(
        self,
        info: Info,
        phone_number: Annotated[str, strawberry.argument(description="Any spelling.")],
    ) -> list[DncEvent]:
        number = _phone_number(phone_number)
        viewer = await info.context.viewer()
        await _expire_now(info, viewer.organization_id, [number])
        rows = await events.history(organization_id=viewer.organization_id, phone_number=number)
        return [DncEvent.from_model(row) for row in rows]

    @strawberry.field(
        description="Who changed the list, and when: the organization's events, newest first "
        "(ADMIN only).",
        permission_classes=ADMIN_ONLY,
    )
    async def dnc_audit_log(
        self,
        info: Info,
        first: First = 50,
        after: After = strawberry.UNSET,
        filter: Annotated[
            DncAuditFilter | None, strawberry.argument(description="Only matching events.")
        ] = strawberry.UNSET,
    ) -> DncEventConnection:
        size, cursor, position = _page_arguments(first, after)
        viewer = await info.context.viewer()
        await _expire_now(info, viewer.organization_id, None)
        page = await events.audit_page(
            organization_id=viewer.organization_id,
            where=_audit_filter(_given(filter)),
            first=size,
            after=position,
        )
        edges = [
            DncEventEdge(
                cursor=encode_cursor(Position(row.at, as_uuid(row.id))),
                node=DncEvent.from_model(row),
            )
            for row in page.rows
        ]
        return DncEventConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges], has_next_page=page.has_next_page, after=cursor
            ),
            count=page.count,
        )


def _page_arguments(
    first: int | None, after: str | None
) -> tuple[int, str | None, Position | None]:
    """The checked page size, the cursor as given, and the position it stands for."""
    cursor = _given(after)
    return page_size(first), cursor, None if cursor is None else decode_cursor(cursor)


def _audit_filter(where: DncAuditFilter | None) -> events.AuditFilter:
    if where is None:
        return events.AuditFilter()
    actor_id = _given(where.actor_id)
    return events.AuditFilter(
        action=_given(where.action),
        actor_id=None if actor_id is None else str(actor_id),
        since=_given(where.since),
        until=_given(where.until),
    )


async def _expire_now(info: Info, organization_id: uuid.UUID, numbers: list[str] | None) -> None:
    """Write the EXPIRED events that are due before reading the log, and announce them."""
    expired = await expire_due(organization_id=organization_id, phone_numbers=numbers)
    if expired:
        await info.context.broker.publish(expired)
