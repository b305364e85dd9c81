"""Reading the list by hand: keyset pages with JOINs, one number, a scrub, the CSV export."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg

from api.dnc.phone import MAX_INPUT_LENGTH, scrub_candidates

ACTIVE = "e.status = 'ACTIVE' AND (e.expires_at IS NULL OR e.expires_at > now())"

PAGE = f"""
SELECT e.id, e.phone_number, e.reason, e.note, e.created_at, e.status, e.expires_at,
       e.recording_url, b.id AS batch_id, b.name AS batch_name, c.id AS call_id,
       c.request_uuid AS call_request_uuid, c.phone_number AS call_phone_number,
       u.id AS user_id, u.email AS user_email, u.role AS user_role
FROM dnc_entry e
LEFT JOIN batch b ON b.id = e.batch_id AND b.organization_id = $1
LEFT JOIN call_record c ON c.id = e.call_record_id
     AND c.batch_id IN (SELECT id FROM batch WHERE organization_id = $1)
LEFT JOIN app_user u ON u.id = e.added_by_id AND u.organization_id = $1
WHERE e.organization_id = $1 AND {ACTIVE}{{reason}}{{after}}
ORDER BY e.created_at DESC, e.id DESC
LIMIT $2
"""  # noqa: S608 (constant fragments, no input)
# One statement text per shape, so every prepared plan can use the (organization, created_at,
# id) index for the cursor: a catch-all "$n IS NULL OR ..." would not.
PAGES = {
    (reason, after): PAGE.format(
        reason=" AND e.reason = $3" if reason else "",
        after=f" AND (e.created_at, e.id) < (${3 + reason}, ${4 + reason})" if after else "",
    )
    for reason in (False, True)
    for after in (False, True)
}

TOTAL = f"""
SELECT count(*) FROM dnc_entry e WHERE e.organization_id = $1 AND {ACTIVE}{{reason}}
"""  # noqa: S608 (constant fragments, no input)

ONE = f"""
SELECT e.id, e.phone_number, e.reason, e.note, e.created_at, e.status, e.expires_at,
       e.recording_url, e.transcription
FROM dnc_entry e WHERE e.organization_id = $1 AND e.phone_number = $2 AND {ACTIVE}
LIMIT 1
"""  # noqa: S608 (constant fragments, no input)

BLOCKED = f"""
SELECT e.phone_number FROM dnc_entry e
WHERE e.organization_id = $1 AND e.phone_number = ANY($2::text[]) AND {ACTIVE}
"""  # noqa: S608 (constant fragments, no input)

_NEUTRAL = (
    "CASE WHEN left({0}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {0} ELSE {0} END"
)
_TIME = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"


def _neutral(column: str) -> str:
    return _NEUTRAL.format(column)


EXPORT = f"""
SELECT CASE WHEN e.phone_number ~ '^\\+[1-9][0-9]{{1,14}}$' THEN e.phone_number
            ELSE {_neutral("e.phone_number")} END AS phone_number,
       CASE WHEN e.status = 'ACTIVE' AND e.expires_at <= now() THEN 'EXPIRED'
            ELSE e.status END AS status,
       {_neutral("e.reason")}, {_neutral("e.channel")}, {_neutral("e.note")},
       {_TIME.format("e.requested_at")}, {_TIME.format("e.created_at")},
       {_TIME.format("e.expires_at")}, {_TIME.format("e.removed_at")},
       e.batch_id, e.request_uuid, {_neutral("u.email")} AS added_by_email
FROM dnc_entry e LEFT JOIN app_user u ON u.id = e.added_by_id
WHERE e.organization_id = $1
ORDER BY e.created_at, e.id
"""  # noqa: S608 (constant fragments, no input)
EXPORT_HEADER = (
    "phone_number,status,reason,channel,note,requested_at,created_at,expires_at,removed_at,"
    "batch_id,request_uuid,added_by_email\n"
)


def encode_cursor(created_at: datetime, entry_id: uuid.UUID) -> str:
    payload = json.dumps([created_at.isoformat(), str(entry_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created_at, entry_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    at = datetime.fromisoformat(created_at)
    if at.tzinfo is None:
        raise ValueError("naive cursor")
    return at, uuid.UUID(entry_id)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def entry_json(row: asyncpg.Record) -> dict[str, Any]:
    expired = row["expires_at"] is not None and row["expires_at"] <= datetime.now(
        row["expires_at"].tzinfo
    )
    return {
        "id": str(row["id"]),
        "phoneNumber": row["phone_number"],
        "reason": row["reason"],
        "note": row["note"],
        "createdAt": row["created_at"].isoformat(),
        "status": "EXPIRED" if row["status"] == "ACTIVE" and expired else row["status"],
        "recordingUrl": row["recording_url"],
    }


async def page(
    conn: asyncpg.Connection,
    organization_id: uuid.UUID,
    *,
    first: int,
    after: str | None,
    reason: str | None,
    total: bool,
) -> dict[str, Any]:
    args: list[object] = [organization_id, first + 1]
    if reason:
        args.append(reason)
    if after:
        args.extend(decode_cursor(after))
    rows = await conn.fetch(PAGES[bool(reason), bool(after)], *args)
    edges = []
    for row in rows[:first]:
        node = entry_json(row)
        node["batch"] = (
            {"id": str(row["batch_id"]), "name": row["batch_name"]} if row["batch_id"] else None
        )
        node["callRecord"] = (
            {
                "id": str(row["call_id"]),
                "requestUUID": str(row["call_request_uuid"]),
                "phoneNumber": row["call_phone_number"],
            }
            if row["call_id"]
            else None
        )
        node["addedBy"] = (
            {"id": str(row["user_id"]), "email": row["user_email"], "role": row["user_role"]}
            if row["user_id"]
            else None
        )
        edges.append({"cursor": encode_cursor(row["created_at"], row["id"]), "node": node})
    result: dict[str, Any] = {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": len(rows) > first,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
    if total:  # only when asked: counting a long list is the expensive part
        condition = " AND e.reason = $2" if reason else ""
        result["totalCount"] = await conn.fetchval(
            TOTAL.format(reason=condition), organization_id, *([reason] if reason else [])
        )
    return result


async def one(
    conn: asyncpg.Connection, organization_id: uuid.UUID, number: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(ONE, organization_id, number)
    if row is None:
        return None
    return {**entry_json(row), "transcription": row["transcription"]}


async def check(
    conn: asyncpg.Connection, organization_id: uuid.UUID, numbers: list[str]
) -> dict[str, Any]:
    candidates = [
        scrub_candidates(raw) if len(raw) <= MAX_INPUT_LENGTH else None for raw in numbers
    ]
    wanted = sorted({c for group in candidates if group for c in group})
    rows = await conn.fetch(BLOCKED, organization_id, wanted) if wanted else []
    on_list = {row["phone_number"] for row in rows}
    pairs = list(zip(numbers, candidates, strict=True))
    return {
        "checked": len(numbers),
        "blocked": [raw for raw, group in pairs if group and any(c in on_list for c in group)],
        "invalid": [raw for raw, group in pairs if group is None],
    }


async def export(pool: asyncpg.Pool, organization_id: uuid.UUID) -> AsyncIterator[bytes]:
    """COPY ... TO STDOUT as CSV, relayed chunk by chunk; a bounded queue keeps memory flat."""
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)

    async def relay() -> None:
        async def forward(data: bytes) -> None:
            await chunks.put(bytes(data))

        try:
            async with pool.acquire() as conn:
                await conn.copy_from_query(EXPORT, organization_id, output=forward, format="csv")
        finally:
            await chunks.put(None)

    task = asyncio.create_task(relay())
    try:
        yield EXPORT_HEADER.encode()
        while (chunk := await chunks.get()) is not None:
            yield chunk
        await task
    finally:
        task.cancel()
