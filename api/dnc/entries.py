"""Reading the list: pages of entries and one number's ACTIVE entry, as the store's rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.dnc.errors import InvalidArgument
from api.dnc.pages import Position, bound
from api.dnc.phone import MAX_INPUT_LENGTH
from api.instants import utcnow
from api.store import entries as store
from api.store.entries import EntryConditions, Relation, Row
from models import DncChannel, DncEntryStatus, DncReason


@dataclass(frozen=True)
class EntryFilter:
    """What a caller may narrow a page by, as given."""

    status: DncEntryStatus | None = DncEntryStatus.ACTIVE
    channel: DncChannel | None = None
    reason: DncReason | None = None
    batch_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    phone_number_contains: str | None = None


def conditions(where: EntryFilter) -> EntryConditions:
    """The filter, checked: a bad value is refused before any query runs."""
    batch_id = None
    if where.batch_id is not None:
        try:
            batch_id = uuid.UUID(where.batch_id)
        except ValueError:
            raise InvalidArgument("`filter.batchId` is not a valid id.") from None
    digits = None
    if where.phone_number_contains is not None:
        contains = where.phone_number_contains
        digits = "".join(c for c in contains if c.isascii() and c.isdigit())
        if not 1 <= len(digits) <= 15 or len(contains) > MAX_INPUT_LENGTH:
            raise InvalidArgument("`filter.phoneNumberContains` must contain 1 to 15 digits.")
    return EntryConditions(
        status=where.status,
        channel=where.channel,
        reason=where.reason,
        batch_id=batch_id,
        created_after=None
        if where.created_after is None
        else bound(where.created_after, "createdAfter"),
        created_before=None
        if where.created_before is None
        else bound(where.created_before, "createdBefore"),
        digits=digits,
    )


@dataclass(frozen=True)
class EntryPage:
    rows: Sequence[Row]
    has_next_page: bool
    read_at: datetime  # the instant the rows' statuses are read at


async def list_entries(
    *,
    organization_id: uuid.UUID,
    where: EntryConditions,
    first: int,
    after: Position | None,
    joined: frozenset[Relation],
) -> EntryPage:
    """A page of entries, newest first (createdAt, then id), starting after `after`, with the
    relations in `joined` read in the same statement."""
    now = utcnow()
    rows = await store.entry_rows(
        organization_id=organization_id,
        where=where,
        limit=first + 1,
        after=None if after is None else (after.at, after.id),
        joined=joined,
        now=now,
    )
    return EntryPage(rows[:first], has_next_page=len(rows) > first, read_at=now)


async def active_entry_row(
    *, organization_id: uuid.UUID, phone_number: str, joined: frozenset[Relation]
) -> tuple[Row | None, datetime]:
    """The organization's ACTIVE entry for an E.164 number (the one that blocks calls), with
    the relations in `joined`, and the instant it was read at."""
    now = utcnow()
    row = await store.active_entry_row(
        organization_id=organization_id, phone_number=phone_number, joined=joined, now=now
    )
    return row, now


async def count_entries(*, organization_id: uuid.UUID, where: EntryConditions) -> int:
    """How many entries match `where` in all (a full count: asked for only when needed)."""
    return await store.count_entries(organization_id=organization_id, where=where, now=utcnow())
