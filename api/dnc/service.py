"""The add flow: the rules of section 4, one transaction for the entry and its emails."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.auth import Viewer
from api.dnc.errors import AlreadyOnDnc, ErrorCode, NotFound, ValidationFailed
from api.dnc.phone import InvalidPhoneNumber, normalize_phone_number
from api.mail import outbox
from api.mail.messages import DncAddedNotice, dnc_added_message
from models import Batch, CallRecord, DncEntry, DncReason, Organization, User, UserRole

NOTE_MAX_LENGTH = 2000


def parse_phone_number(raw: str, *, field: str = "phoneNumber") -> str:
    """E.164 form of `raw`, or ValidationFailed naming `field`."""
    try:
        return normalize_phone_number(raw)
    except InvalidPhoneNumber as error:
        raise ValidationFailed(field, str(error)) from None


def _parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def active_entry(*, organization_id: uuid.UUID, phone_number: str) -> DncEntry | None:
    """The organization's entry for an E.164 number, if it is on the list."""
    return await DncEntry.get_or_none(organization_id=organization_id, phone_number=phone_number)


async def add_to_dnc(
    *,
    viewer: Viewer,
    phone_number: str,
    batch_id: str,
    request_uuid: uuid.UUID,
    reason: DncReason | None,
    note: str | None,
) -> DncEntry:
    """Put a number on the viewer's list from a call of one of its batches; email its admins.

    Checks run in the contract's order (number, note, batch, owner, call record, duplicate).
    A concurrent add of the same number loses on the database's unique constraint and is
    answered like any other duplicate.
    """
    number = parse_phone_number(phone_number)
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise ValidationFailed("note", f"Note must be at most {NOTE_MAX_LENGTH} characters.")
    if note is not None and "\x00" in note:
        raise ValidationFailed("note", "Note must not contain NUL characters.")
    organization_id = viewer.organization_id
    batch_uuid = _parse_uuid(batch_id)
    batch = (
        await Batch.get_or_none(id=batch_uuid, organization_id=organization_id)
        if batch_uuid
        else None
    )
    if batch is None:
        raise NotFound(ErrorCode.BATCH_NOT_FOUND, "Batch not found.")
    owner = (
        await User.get_or_none(id=batch.owner_id, organization_id=organization_id)
        if batch.owner_id
        else None
    )
    if owner is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, "The batch's owner was not found.")
    call = await CallRecord.get_or_none(batch_id=batch.id, request_uuid=request_uuid)
    if call is None:
        raise NotFound(
            ErrorCode.CALL_RECORD_NOT_FOUND, "No call record with that requestUUID in the batch."
        )
    existing = await active_entry(organization_id=organization_id, phone_number=number)
    if existing is not None:
        raise AlreadyOnDnc(existing)

    now = datetime.now(UTC)
    try:
        async with in_transaction() as conn:
            entry = await DncEntry.create(
                id=uuid.uuid4(),
                organization_id=organization_id,
                phone_number=number,
                reason=reason,
                note=note or None,
                batch_id=batch.id,
                call_record_id=call.id,
                request_uuid=call.request_uuid,
                recording_url=call.recording_url,
                transcription=call.transcription,
                added_by_id=viewer.user_id,
                created_at=now,
                using_db=conn,
            )
            organization = await Organization.get(id=organization_id, using_db=conn)
            admins = (
                await User.filter(organization_id=organization_id, role=UserRole.ADMIN, active=True)
                .using_db(conn)
                .values_list("email", flat=True)
            )
            notice = DncAddedNotice(
                organization_name=organization.name,
                phone_number=number,
                reason=reason.value if reason else None,
                note=entry.note,
                batch_id=batch.id,
                batch_name=batch.name,
                request_uuid=call.request_uuid,
                added_by=viewer.email,
                added_at=now,
                recording_url=call.recording_url,
                transcription=call.transcription,
            )
            await outbox.enqueue(
                conn=conn,
                organization_id=organization_id,
                dnc_entry_id=entry.id,
                recipients=sorted({str(email) for email in admins}),
                message=dnc_added_message(notice),
                now=now,
            )
    except IntegrityError:
        existing = await active_entry(organization_id=organization_id, phone_number=number)
        if existing is None:
            raise
        raise AlreadyOnDnc(existing) from None
    return entry
