"""Writing the list by hand: one add with its outbox rows and event, a bulk add, in SQL."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.dnc.phone import InvalidPhoneNumber, normalize_phone_number
from api.mail.messages import DncAddedNotice, DncDigestNotice, dnc_added_message, dnc_digest_message
from bench.baseline.reads import ONE, entry_json

NOTE_MAX_LENGTH = 2000
MAX_ENTRIES = 10_000

# The batch, its owner, the call and the organization's name in one round trip.
CONTEXT = """
SELECT b.id, b.name, o.name AS organization_name, u.id AS owner_id, c.id AS call_id,
       c.request_uuid, c.recording_url, c.transcription, c.called_at
FROM batch b
JOIN organization o ON o.id = b.organization_id
LEFT JOIN app_user u ON u.id = b.owner_id AND u.organization_id = b.organization_id
LEFT JOIN call_record c ON c.batch_id = b.id AND c.request_uuid = $3
WHERE b.id = $2 AND b.organization_id = $1
"""

# Entries whose expiry passed become EXPIRED, with their events, before anything is added.
EXPIRE = """
WITH expired AS (
    UPDATE dnc_entry SET status = 'EXPIRED'
    WHERE organization_id = $1 AND phone_number = ANY($2::text[]) AND status = 'ACTIVE'
      AND expires_at <= now()
    RETURNING id, phone_number, expires_at
)
INSERT INTO dnc_event (id, organization_id, entry_id, phone_number, action, at)
SELECT gen_random_uuid(), $1, id, phone_number, 'EXPIRED', expires_at FROM expired
"""

ADD = """
WITH entry AS (
    INSERT INTO dnc_entry (id, organization_id, phone_number, reason, note, batch_id,
        call_record_id, request_uuid, recording_url, transcription, added_by_id, created_at,
        channel, requested_at, status)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'VOICE_CALL', $13, 'ACTIVE')
), event AS (
    INSERT INTO dnc_event (id, organization_id, entry_id, phone_number, action, at, actor_id,
        channel, reason)
    VALUES ($14, $2, $1, $3, 'ADDED', $12, $11, 'VOICE_CALL', $4)
)
INSERT INTO email_outbox (id, organization_id, dnc_entry_id, recipient, subject, body_text,
    body_html, status, attempts, next_attempt_at, created_at)
SELECT gen_random_uuid(), $2, $1, email, $15, $16, $17, 'PENDING', 0, $12, $12
FROM app_user WHERE organization_id = $2 AND role = 'ADMIN' AND active
"""

ADD_MANY = """
WITH entry AS (
    INSERT INTO dnc_entry (id, organization_id, phone_number, reason, note, added_by_id,
        created_at, channel, requested_at, status)
    SELECT id, $1, phone_number, reason, note, $2, $3, $4, $3, 'ACTIVE'
    FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[]) AS t(id, phone_number, reason, note)
)
INSERT INTO dnc_event (id, organization_id, entry_id, phone_number, action, at, actor_id,
    channel, reason)
SELECT event_id, $1, id, phone_number, 'ADDED', $3, $2, $4, reason
FROM unnest($5::uuid[], $6::text[], $7::text[], $9::uuid[]) AS t(id, phone_number, reason, event_id)
"""

DIGEST = """
INSERT INTO email_outbox (id, organization_id, recipient, subject, body_text, body_html,
    status, attempts, next_attempt_at, created_at)
SELECT gen_random_uuid(), $1, email, $2, $3, $4, 'PENDING', 0, $5, $5
FROM app_user WHERE organization_id = $1 AND role = 'ADMIN' AND active
"""

NOTIFY = "SELECT pg_notify('dnc_events', $1)"
# As the service announces events: at most 100 ids per notification (PostgreSQL's 8,000 bytes).
NOTIFY_MANY = "SELECT pg_notify('dnc_events', payload) FROM unnest($1::text[]) AS payload"
IDS_PER_NOTIFY = 100


@dataclass(frozen=True)
class Refused(Exception):
    """An expected failure, answered as the service's union member would be."""

    typename: str
    status_code: int
    message: str
    extra: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {
            "__typename": self.typename,
            "success": False,
            "statusCode": self.status_code,
            "message": self.message,
            **self.extra,
        }


def _invalid(field: str, message: str) -> Refused:
    return Refused("ValidationError", 400, message, {"code": "VALIDATION_FAILED", "field": field})


def _not_found(code: str, message: str) -> Refused:
    return Refused("NotFoundError", 404, message, {"code": code})


def _number(raw: str) -> str:
    try:
        return normalize_phone_number(raw)
    except InvalidPhoneNumber as error:
        raise _invalid("phoneNumber", str(error)) from None


def _note(note: str | None) -> str | None:
    if note and (len(note) > NOTE_MAX_LENGTH or "\x00" in note):
        raise _invalid("note", "note must be at most 2,000 characters.")
    return note or None


def _notice(events: list[uuid.UUID], organization_id: uuid.UUID) -> str:
    return json.dumps({"o": str(organization_id), "e": [str(e) for e in events]})


async def _already(conn: asyncpg.Connection, organization_id: uuid.UUID, number: str) -> Refused:
    row = await conn.fetchrow(ONE, organization_id, number)
    return Refused(
        "AlreadyOnDncError",
        400,
        "This number is already on the Do-Not-Call list.",
        {"code": "ALREADY_ON_DNC", "entry": entry_json(row) if row else None},
    )


async def add(
    conn: asyncpg.Connection,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    email: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """addToDnc: checks in the contract's order, then one transaction."""
    number = _number(data["phoneNumber"])
    note = _note(data.get("note"))
    reason = data.get("reason")
    try:
        batch_id, request_uuid = uuid.UUID(data["batchId"]), uuid.UUID(data["requestUUID"])
    except ValueError:
        raise _not_found("BATCH_NOT_FOUND", "Batch not found.") from None
    found = await conn.fetchrow(CONTEXT, organization_id, batch_id, request_uuid)
    if found is None:
        raise _not_found("BATCH_NOT_FOUND", "Batch not found.")
    if found["owner_id"] is None:
        raise _not_found("USER_NOT_FOUND", "The batch's owner was not found.")
    if found["call_id"] is None:
        raise _not_found("CALL_RECORD_NOT_FOUND", "No call record with that requestUUID.")
    if await conn.fetchval(ONE, organization_id, number) is not None:
        raise await _already(conn, organization_id, number)
    now = datetime.now(UTC)
    message = dnc_added_message(
        DncAddedNotice(
            organization_name=found["organization_name"],
            phone_number=number,
            reason=reason,
            note=note,
            batch_id=batch_id,
            batch_name=found["name"],
            request_uuid=found["request_uuid"],
            added_by=email,
            added_at=now,
            recording_url=found["recording_url"],
            transcription=found["transcription"],
        )
    )
    entry_id, event_id = uuid.uuid4(), uuid.uuid4()
    try:
        async with conn.transaction():
            await conn.execute(EXPIRE, organization_id, [number])
            await conn.execute(
                ADD, entry_id, organization_id, number, reason, note, batch_id, found["call_id"],
                found["request_uuid"], found["recording_url"], found["transcription"], user_id,
                now, found["called_at"] or now, event_id, message.subject, message.text,
                message.html,
            )  # fmt: skip
            await conn.execute(NOTIFY, _notice([event_id], organization_id))
    except asyncpg.UniqueViolationError:
        raise await _already(conn, organization_id, number) from None
    return {
        "__typename": "AddToDncSuccess",
        "success": True,
        "statusCode": 200,
        "message": "Number added to the Do-Not-Call list.",
        "entry": {
            "id": str(entry_id),
            "phoneNumber": number,
            "createdAt": now.isoformat(),
            "status": "ACTIVE",
        },
    }


async def add_many(
    conn: asyncpg.Connection,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    email: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """addManyToDnc: validate each item, insert the new numbers and their events, one digest."""
    entries = data["entries"]
    channel = data["channel"]
    if len(entries) > MAX_ENTRIES:
        raise _invalid("entries", "At most 10,000 entries per call.")
    numbers: list[str | None] = []
    first_of: dict[str, dict[str, Any]] = {}
    for item in entries:
        try:
            number = _number(item["phoneNumber"])
            item["note"] = _note(item.get("note"))
        except Refused:
            numbers.append(None)
            continue
        numbers.append(number)
        first_of.setdefault(number, item)
    async with conn.transaction():
        wanted = sorted(first_of)
        await conn.execute(EXPIRE, organization_id, wanted)
        listed = {
            row["phone_number"]
            for row in await conn.fetch(
                "SELECT phone_number FROM dnc_entry WHERE organization_id = $1"
                " AND phone_number = ANY($2::text[]) AND status = 'ACTIVE'"
                " AND (expires_at IS NULL OR expires_at > now())",
                organization_id,
                wanted,
            )
        }
        new = [number for number in wanted if number not in listed]
        now = datetime.now(UTC)
        if new:
            events = [uuid.uuid4() for _ in new]
            await conn.execute(
                ADD_MANY, organization_id, user_id, now, channel, [uuid.uuid4() for _ in new], new,
                [first_of[n].get("reason") for n in new], [first_of[n]["note"] for n in new],
                events,
            )  # fmt: skip
            organization = await conn.fetchval(
                "SELECT name FROM organization WHERE id = $1", organization_id
            )
            message = dnc_digest_message(
                DncDigestNotice(
                    organization_name=organization,
                    channel=channel,
                    added_by=email,
                    added_at=now,
                    added=new,
                    already_on_dnc=len(listed),
                    invalid=numbers.count(None),
                )
            )
            await conn.execute(
                DIGEST, organization_id, message.subject, message.text, message.html, now
            )
            await conn.execute(
                NOTIFY_MANY,
                [
                    _notice(events[start : start + IDS_PER_NOTIFY], organization_id)
                    for start in range(0, len(events), IDS_PER_NOTIFY)
                ],
            )
    added = set(new)
    items = [
        {
            "phoneNumber": item["phoneNumber"],
            "status": "INVALID" if n is None else "ADDED" if n in added else "ALREADY_ON_DNC",
        }
        for item, n in zip(entries, numbers, strict=True)
    ]
    return {
        "success": True,
        "added": len(added),
        "alreadyOnDnc": len(listed),
        "invalid": numbers.count(None),
        "items": items,
    }
