"""The list queries: pages of entries, one number, and scrubbing a campaign list."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, TypeVar

import strawberry

from api.dnc import check, entries, events
from api.dnc.checks import parse_phone_number
from api.dnc.errors import ValidationFailed
from api.dnc.pages import Position, page_size
from api.dnc.state import expire_due
from api.graphql.context import Info
from api.graphql.cursors import decode_cursor, encode_cursor
from api.graphql.dnc.events import DncAuditFilter, DncEvent, DncEventConnection, DncEventEdge
from api.graphql.dnc.inputs import DncEntryFilter
from api.graphql.dnc.pages import After, DncEntryConnection, DncEntryEdge, First, page_info
from api.graphql.dnc.rows import EntryRows, joined
from api.graphql.dnc.types import DncCheckResult, DncEntry
from api.graphql.errors import BadUserInput, bad_user_input
from api.graphql.permissions import ADMIN_ONLY, AUTHENTICATED
from api.instants import moment
from api.store.rows import as_uuid

T = TypeVar("T")


def _given(value: T | None) -> T | None:
    """None for an argument left out (UNSET) or null; the value otherwise, even if empty."""
    return None if value is strawberry.UNSET else value


def _phone_number(raw: str) -> str:
    try:
        return parse_phone_number(raw)
    except ValidationFailed as error:
        raise BadUserInput(error.message) from None


def _entry_filter(where: DncEntryFilter | None) -> entries.EntryFilter:
    if not where:
        return entries.EntryFilter()
    batch_id = _given(where.batch_id)
    return entries.EntryFilter(
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
        with bad_user_input():
            where = entries.conditions(_entry_filter(_given(filter)))
        relations = joined(info.context.names_below(info))
        page = await entries.list_entries(
            organization_id=viewer.organization_id,
            where=where,
            first=size,
            after=position,
            joined=relations,
        )
        rows = EntryRows(page.read_at, relations, await info.context.loaders())
        edges = [
            DncEntryEdge(
                cursor=encode_cursor(Position(moment(row["created_at"]), as_uuid(row["id"]))),
                node=rows.entry(row),
            )
            for row in page.rows
        ]
        return DncEntryConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges], has_next_page=page.has_next_page, after=cursor
            ),
            count=partial(
                entries.count_entries, organization_id=viewer.organization_id, where=where
            ),
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
        relations = joined(info.context.names_below(info))
        row, read_at = await entries.active_entry_row(
            organization_id=viewer.organization_id, phone_number=number, joined=relations
        )
        if row is None:
            return None
        return EntryRows(read_at, relations, await info.context.loaders()).entry(row)

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
        result = await check.check_numbers(
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
        with bad_user_input():
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
    with bad_user_input():
        size = page_size(first)
    return size, cursor, None if cursor is None else decode_cursor(cursor)


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
