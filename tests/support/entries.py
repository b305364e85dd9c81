"""List entries written straight through the ORM (dated as a test needs, in any state), the
numbers they are written for, and the list's order to compare pages with."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from models import Batch, CallRecord, DncChannel, DncEntry, DncEntryStatus, DncReason, User
from tests.support.factories import Tenant, make_batch

START_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
_serial = itertools.count()


def fresh_number() -> str:
    """A number no other entry of the test uses (E.164 shape; validity is not needed here)."""
    return f"+1646{next(_serial) % 10_000_000:07d}"


def number(i: int, area: str = "646") -> str:
    """A valid US number in E.164 form, distinct from the factories' call numbers."""
    return f"+1{area}555{i:04d}"


def spelled(e164: str) -> str:
    """Another spelling of a +1 number: "+1 (646) 555-0001"."""
    digits = e164[1:]
    return f"+{digits[0]} ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"


def newest_first(entries: Iterable[DncEntry]) -> list[str]:
    """Ids in the contract's order: createdAt, then id, both descending."""
    ordered = sorted(
        entries, key=lambda row: (row.created_at, uuid.UUID(str(row.id))), reverse=True
    )
    return [str(row.id) for row in ordered]


async def add_entries(
    tenant: Tenant,
    count: int,
    *,
    start: datetime = START_AT,
    step: timedelta = timedelta(minutes=1),
    reason: DncReason | None = None,
    batch: Batch | None = None,
    numbers: Sequence[str] | None = None,
) -> list[DncEntry]:
    """`count` entries straight through the ORM, the i-th created at `start + i * step`."""
    phone_numbers = list(numbers) if numbers is not None else [fresh_number() for _ in range(count)]
    rows = [
        DncEntry(
            id=uuid.uuid4(),
            organization_id=tenant.organization.id,
            phone_number=phone_numbers[i],
            reason=reason,
            batch_id=batch.id if batch else None,
            added_by_id=tenant.admin.id,
            created_at=start + i * step,
            requested_at=start + i * step,
        )
        for i in range(count)
    ]
    await DncEntry.bulk_create(rows, batch_size=1000)
    return rows


async def add_entries_with_calls(tenant: Tenant, count: int) -> list[DncEntry]:
    """Entries each from its own call, spread over two batches and two users."""
    batches = [tenant.batch, await make_batch(tenant.organization, tenant.admin, name="Second")]
    users: list[User] = [tenant.admin, tenant.member]
    calls = [
        CallRecord(
            id=uuid.uuid4(),
            batch_id=batches[i % 2].id,
            request_uuid=uuid.uuid4(),
            phone_number=fresh_number(),
            recording_url=f"https://rec.example.com/{i}.mp3",
            transcription=f"Call {i}: please stop calling.",
        )
        for i in range(count)
    ]
    await CallRecord.bulk_create(calls)
    entries = [
        DncEntry(
            id=uuid.uuid4(),
            organization_id=tenant.organization.id,
            phone_number=call.phone_number,
            batch_id=call.batch_id,
            call_record_id=call.id,
            request_uuid=call.request_uuid,
            recording_url=call.recording_url,
            transcription=call.transcription,
            added_by_id=users[i % 2].id,
            created_at=START_AT + timedelta(seconds=i),
            requested_at=START_AT + timedelta(seconds=i),
        )
        for i, call in enumerate(calls)
    ]
    await DncEntry.bulk_create(entries)
    return entries


async def make_entry(
    organization_id: uuid.UUID,
    phone_number: str,
    *,
    created_at: datetime,
    expires_at: datetime | None = None,
    status: DncEntryStatus = DncEntryStatus.ACTIVE,
    channel: DncChannel = DncChannel.MANUAL,
    added_by_id: uuid.UUID | None = None,
) -> DncEntry:
    """One entry stored as given: a state no operation leaves behind on its own, such as a row
    still stored ACTIVE whose expiry has passed (the sweep has not reached it yet)."""
    return await DncEntry.create(
        id=uuid.uuid4(),
        organization_id=organization_id,
        phone_number=phone_number,
        created_at=created_at,
        requested_at=created_at,
        expires_at=expires_at,
        channel=channel,
        status=status,
        added_by_id=added_by_id,
    )


async def lapsed_entry(
    tenant: Tenant, phone_number: str, channel: DncChannel = DncChannel.MANUAL
) -> DncEntry:
    """An entry stored ACTIVE, added two days ago, whose expiry passed a day ago."""
    now = datetime.now(UTC)
    return await make_entry(
        tenant.organization.id,
        phone_number,
        created_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=1),
        channel=channel,
    )


async def stored(phone_number: str, organization_id: uuid.UUID) -> list[DncEntry]:
    """The organization's rows for a number, oldest first."""
    return list(
        await DncEntry.filter(organization_id=organization_id, phone_number=phone_number).order_by(
            "created_at"
        )
    )
