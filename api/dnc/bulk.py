"""Adding many numbers from any channel at once: one transaction, one digest email.

10,000 numbers cost a handful of statements, not 10,000 round trips: one lookup of the
numbers already on the list, batched inserts of entries and events, one outbox row per admin.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError

from api.auth import Viewer
from api.dnc.checks import check_expires_at, check_instant, check_note, parse_phone_number
from api.dnc.errors import ValidationFailed
from api.dnc.events import record
from api.dnc.state import expire_stale
from api.instants import utcnow
from api.mail import outbox
from api.mail.messages import DncDigestNotice, dnc_digest_message
from api.store.conditions import active_q
from api.store.inserts import insert_entries, insert_events
from api.store.rows import new_row
from api.store.transactions import atomic
from models import DncAction, DncChannel, DncEntry, DncEvent, DncReason, Organization

MAX_ENTRIES = 10_000
CONFLICT_RETRIES = 3


class ItemStatus(StrEnum):
    ADDED = "ADDED"
    ALREADY_ON_DNC = "ALREADY_ON_DNC"
    INVALID = "INVALID"


@dataclass(frozen=True)
class ManualEntry:
    phone_number: str
    reason: DncReason | None = None
    note: str | None = None
    requested_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass
class ItemOutcome:
    phone_number: str
    status: ItemStatus
    entry: DncEntry | None = None
    message: str | None = None


@dataclass
class BulkOutcome:
    items: list[ItemOutcome]
    added: int = 0
    already_on_dnc: int = 0
    invalid: int = 0
    events: list[DncEvent] = field(default_factory=list)


def _check(item: ManualEntry, now: datetime) -> ManualEntry:
    """The item as stored (E.164 number, note, UTC instants); ValidationFailed otherwise."""
    requested_at = check_instant(item.requested_at, "requestedAt")
    if requested_at is not None and requested_at > now:
        raise ValidationFailed("requestedAt", "requestedAt must not be in the future.")
    return ManualEntry(
        phone_number=parse_phone_number(item.phone_number),
        reason=item.reason,
        note=check_note(item.note),
        requested_at=requested_at,
        expires_at=check_expires_at(item.expires_at, now),
    )


async def add_many_to_dnc(
    *, viewer: Viewer, channel: DncChannel, entries: list[ManualEntry]
) -> BulkOutcome:
    """Add every valid new number; per-item results in input order; duplicates count once."""
    if len(entries) > MAX_ENTRIES:
        raise ValidationFailed("entries", f"At most {MAX_ENTRIES:,} entries per call.")
    for attempt in range(CONFLICT_RETRIES):
        try:
            return await _add_many(viewer=viewer, channel=channel, entries=entries)
        except (IntegrityError, OperationalError) as error:
            # Another call added some of these numbers since we looked (or PostgreSQL broke a
            # deadlock between two such calls): look again.
            if attempt == CONFLICT_RETRIES - 1 or not _is_conflict(error):
                raise
    raise AssertionError("unreachable")


def _is_conflict(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in {"40P01", "40001"}


async def _add_many(
    *, viewer: Viewer, channel: DncChannel, entries: list[ManualEntry]
) -> BulkOutcome:
    checked_at = utcnow()
    items: list[ItemOutcome] = []
    first_of: dict[str, ManualEntry] = {}
    numbers: list[str | None] = []
    for item in entries:
        try:
            valid = _check(item, checked_at)
        except ValidationFailed as error:
            items.append(ItemOutcome(item.phone_number, ItemStatus.INVALID, message=error.message))
            numbers.append(None)
            continue
        numbers.append(valid.phone_number)
        first_of.setdefault(valid.phone_number, valid)
        items.append(ItemOutcome(item.phone_number, ItemStatus.ADDED))

    organization_id = viewer.organization_id
    outcome = BulkOutcome(items=items, invalid=sum(1 for n in numbers if n is None))

    async def write(
        conn: BaseDBAsyncClient,
    ) -> tuple[dict[str, DncEntry], dict[str, DncEntry], list[DncEvent]]:
        outcome.events = await expire_stale(
            conn, now=checked_at, organization_id=organization_id, phone_numbers=list(first_of)
        )
        on_list = {
            row.phone_number: row
            for row in await DncEntry.filter(active_q(checked_at))
            .filter(organization_id=organization_id, phone_number__in=list(first_of))
            .using_db(conn)
        }
        # Read after the lookup: a removal committed before it is always logged before these.
        now = utcnow()
        new_rows: dict[str, DncEntry] = {}
        # Sorted, so concurrent calls take the unique index's locks in the same order.
        for number, item in sorted(first_of.items()):
            if number in on_list:
                continue
            new_rows[number] = new_row(
                DncEntry,
                id=uuid.uuid4(),
                organization_id=organization_id,
                phone_number=number,
                reason=item.reason,
                note=item.note,
                added_by_id=viewer.user_id,
                created_at=now,
                channel=channel,
                requested_at=item.requested_at or now,
                expires_at=item.expires_at,
            )
        added_events = [
            record(
                entry=row,
                action=DncAction.ADDED,
                at=now,
                actor_id=viewer.user_id,
                channel=channel,
                reason=row.reason.value if row.reason else None,
            )
            for row in new_rows.values()
        ]
        if new_rows:
            await insert_entries(conn, list(new_rows.values()))
            await insert_events(conn, added_events)
            organization = await Organization.get(id=organization_id, using_db=conn)
            notice = DncDigestNotice(
                organization_name=organization.name,
                channel=channel.value,
                added_by=viewer.email,
                added_at=now,
                added=list(new_rows),
                already_on_dnc=len(on_list),
                invalid=outcome.invalid,
            )
            await outbox.enqueue_for_admins(
                conn=conn,
                organization_id=organization_id,
                dnc_entry_id=None,
                message=dnc_digest_message(notice),
                now=now,
            )
        return on_list, new_rows, added_events

    on_list, new_rows, added_events = await atomic(write)
    outcome.events.extend(added_events)
    outcome.added = len(new_rows)
    outcome.already_on_dnc = len(on_list)
    for item_outcome, e164 in zip(items, numbers, strict=True):
        if e164 is None:
            continue
        if e164 in new_rows:
            item_outcome.entry = new_rows[e164]
        else:
            item_outcome.status = ItemStatus.ALREADY_ON_DNC
            item_outcome.entry = on_list[e164]
    return outcome
