"""Adding a number from a call: the rules of section 4, in one transaction with its emails."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from api.auth import Viewer
from api.dnc.checks import check_expires_at, check_note, parse_phone_number
from api.dnc.errors import AlreadyOnDnc, ErrorCode, NotFound
from api.dnc.events import Change, record
from api.dnc.state import active_entry, expire_stale, status_at
from api.instants import optional_moment, utcnow
from api.mail import outbox
from api.mail.messages import DncAddedNotice, dnc_added_message
from api.store.calls import call_row
from api.store.inserts import insert_entries, insert_events
from api.store.rows import as_uuid, new_row
from api.store.transactions import atomic
from models import (
    Batch,
    DncAction,
    DncChannel,
    DncEntry,
    DncEntryStatus,
    DncEvent,
    DncReason,
    User,
)


def _parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class Call:
    """What an addition copies from its call, its batch and the batch's organization, and
    whether the number has an entry stored as ACTIVE (perhaps past its expiry)."""

    id: uuid.UUID
    request_uuid: uuid.UUID
    recording_url: str | None
    transcription: str | None
    called_at: datetime | None
    batch_id: uuid.UUID
    batch_name: str | None
    organization_name: str
    listed: bool
    listed_until: datetime | None


async def _call_of(
    organization_id: uuid.UUID, batch_id: str, request_uuid: uuid.UUID, number: str
) -> Call:
    """The call record, with its batch, the batch's owner and organization, and the number's
    stored ACTIVE entry, in one query when all are there; else the contract's first error
    among batch, owner, call record."""
    batch_uuid = _parse_uuid(batch_id)
    if batch_uuid is None:
        raise NotFound(ErrorCode.BATCH_NOT_FOUND, "Batch not found.")
    row = await call_row(
        organization_id=organization_id,
        batch_id=batch_uuid,
        request_uuid=request_uuid,
        number=number,
    )
    if row is not None:
        return Call(
            id=as_uuid(row["id"]),
            request_uuid=as_uuid(row["request_uuid"]),
            recording_url=row["recording_url"],
            transcription=row["transcription"],
            called_at=optional_moment(row["called_at"]),
            batch_id=batch_uuid,
            batch_name=row["batch_name"],
            organization_name=row["organization_name"],
            listed=row["listed_id"] is not None,
            listed_until=optional_moment(row["listed_until"]),
        )
    batch = await Batch.get_or_none(id=batch_uuid, organization_id=organization_id)
    if batch is None:
        raise NotFound(ErrorCode.BATCH_NOT_FOUND, "Batch not found.")
    owner = (
        await User.get_or_none(id=batch.owner_id, organization_id=organization_id)
        if batch.owner_id
        else None
    )
    if owner is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, "The batch's owner was not found.")
    raise NotFound(
        ErrorCode.CALL_RECORD_NOT_FOUND, "No call record with that requestUUID in the batch."
    )


async def add_to_dnc(
    *,
    viewer: Viewer,
    phone_number: str,
    batch_id: str,
    request_uuid: uuid.UUID,
    reason: DncReason | None,
    note: str | None,
    expires_at: datetime | None = None,
) -> Change:
    """Put a number on the viewer's list from a call of one of its batches; email its admins.

    Checks run in the contract's order (number, note, batch, owner, call record, duplicate).
    A concurrent add of the same number loses on the database's unique index and is
    answered like any other duplicate.
    """
    number = parse_phone_number(phone_number)
    stored_note = check_note(note)
    expires_at = check_expires_at(expires_at, utcnow())
    organization_id = viewer.organization_id
    call = await _call_of(organization_id, batch_id, request_uuid, number)
    if call.listed and status_at(DncEntryStatus.ACTIVE, call.listed_until, utcnow()) is (
        DncEntryStatus.ACTIVE
    ):
        existing = await active_entry(organization_id=organization_id, phone_number=number)
        if existing is not None:  # else removed a moment ago: the unique index decides
            raise AlreadyOnDnc(existing)

    # The time is read after the duplicate check, so a removal that committed before that
    # check is always logged before this addition. Rows and email are made before the
    # transaction, which then holds its connection (and the number's index entry) only for
    # its statements.
    now = utcnow()
    entry = new_row(
        DncEntry,
        id=uuid.uuid4(),
        organization_id=organization_id,
        phone_number=number,
        reason=reason,
        note=stored_note,
        batch_id=call.batch_id,
        call_record_id=call.id,
        request_uuid=call.request_uuid,
        recording_url=call.recording_url,
        transcription=call.transcription,
        added_by_id=viewer.user_id,
        created_at=now,
        channel=DncChannel.VOICE_CALL,
        requested_at=call.called_at or now,
        expires_at=expires_at,
    )
    added = record(
        entry=entry,
        action=DncAction.ADDED,
        at=now,
        actor_id=viewer.user_id,
        channel=DncChannel.VOICE_CALL,
        reason=reason.value if reason else None,
    )
    message = dnc_added_message(
        DncAddedNotice(
            organization_name=call.organization_name,
            phone_number=number,
            reason=reason.value if reason else None,
            note=stored_note,
            batch_id=call.batch_id,
            batch_name=call.batch_name,
            request_uuid=call.request_uuid,
            added_by=viewer.email,
            added_at=now,
            recording_url=call.recording_url,
            transcription=call.transcription,
            expires_at=expires_at,
        )
    )

    async def write(conn: BaseDBAsyncClient) -> list[DncEvent]:
        events = (
            await expire_stale(
                conn, now=now, organization_id=organization_id, phone_numbers=[number]
            )
            if call.listed  # ACTIVE but past its expiresAt: stored as EXPIRED now
            else []
        )
        await insert_entries(conn, [entry])
        await insert_events(conn, [added])
        await outbox.enqueue_for_admins(
            conn=conn,
            organization_id=organization_id,
            dnc_entry_id=entry.id,
            message=message,
            now=now,
        )
        return events

    try:
        events = await atomic(write)
    except IntegrityError:
        existing = await active_entry(organization_id=organization_id, phone_number=number)
        if existing is None:
            raise
        raise AlreadyOnDnc(existing) from None
    return Change(entry=entry, events=[*events, added])
