"""Entries read with their batch, call and author in one statement: pages, and one number.

The dashboard's list asks for 50 entries and, for each, its batch, call and author (and, for
removed entries, the remover). Through the ORM that is 200 model objects and three loader
queries a page; here one statement (its JOINs scoped to the organization, as the loaders are)
gives plain rows that map straight to the GraphQL types. The filter is written once, for the
page and for its count. `dncEntry`, asked for a number in every dialer's hot loop, reads the
same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry

from api.db import Statement, as_uuid, connection
from api.dnc.phone import MAX_INPUT_LENGTH
from api.dnc.types import ENTRY_COLUMNS, DncEntry, member
from api.errors import BadUserInput
from api.instants import as_utc, moment, optional_moment, utcnow
from api.pagination import Position, bound
from api.platform.types import Batch, CallRecord, User
from models import DncChannel, DncEntryStatus, DncReason, UserRole

_COLUMNS = ", ".join(f"e.{name}" for name in ENTRY_COLUMNS)
# The related columns, and the JOINs (scoped to the organization, as the loaders are) that
# give them.
_WITH_RELATED = """,
       b.id AS b_id, b.name AS b_name,
       c.id AS c_id, c.request_uuid AS c_request_uuid, c.phone_number AS c_phone_number,
       c.recording_url AS c_recording_url, c.transcription AS c_transcription,
       c.called_at AS c_called_at,
       u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role,
       u.active AS u_active,
       r.id AS r_id, r.email AS r_email, r.name AS r_name, r.role AS r_role,
       r.active AS r_active
FROM dnc_entry e
LEFT JOIN batch b ON b.id = e.batch_id AND b.organization_id = {org}
LEFT JOIN call_record c ON c.id = e.call_record_id
     AND EXISTS (SELECT 1 FROM batch cb WHERE cb.id = c.batch_id AND cb.organization_id = {org})
LEFT JOIN app_user u ON u.id = e.added_by_id AND u.organization_id = {org}
LEFT JOIN app_user r ON r.id = e.removed_by_id AND r.organization_id = {org}"""


@dataclass(frozen=True)
class EntryFilter:
    status: DncEntryStatus | None = DncEntryStatus.ACTIVE
    channel: DncChannel | None = None
    reason: DncReason | None = None
    batch_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    phone_number_contains: str | None = None


def _status(sql: Statement, status: DncEntryStatus, now: datetime) -> str:
    """Rows whose effective status is `status` at `now` (see api.dnc.state)."""
    if status is DncEntryStatus.ACTIVE:
        return f"e.status = 'ACTIVE' AND (e.expires_at IS NULL OR e.expires_at > {sql(now)})"
    if status is DncEntryStatus.EXPIRED:
        return f"(e.status = 'EXPIRED' OR (e.status = 'ACTIVE' AND e.expires_at <= {sql(now)}))"
    return "e.status = 'REMOVED'"


def _where(sql: Statement, organization: str, where: EntryFilter, now: datetime) -> str:
    """The filter's conditions; bad values are BAD_USER_INPUT before any query runs."""
    conditions = [f"e.organization_id = {organization}"]
    if where.status is not None:
        conditions.append(_status(sql, where.status, now))
    if where.channel is not None:
        conditions.append(f"e.channel = {sql(where.channel.value)}")
    if where.reason is not None:
        conditions.append(f"e.reason = {sql(where.reason.value)}")
    if where.batch_id is not None:
        try:
            conditions.append(f"e.batch_id = {sql(uuid.UUID(where.batch_id))}")
        except ValueError:
            raise BadUserInput("`filter.batchId` is not a valid id.") from None
    if where.created_after is not None:
        conditions.append(f"e.created_at > {sql(bound(where.created_after, 'createdAfter'))}")
    if where.created_before is not None:
        conditions.append(f"e.created_at < {sql(bound(where.created_before, 'createdBefore'))}")
    if where.phone_number_contains is not None:
        digits = "".join(c for c in where.phone_number_contains if c.isascii() and c.isdigit())
        if not 1 <= len(digits) <= 15 or len(where.phone_number_contains) > MAX_INPUT_LENGTH:
            raise BadUserInput("`filter.phoneNumberContains` must contain 1 to 15 digits.")
        conditions.append(f"e.phone_number LIKE {sql(f'%{digits}%')}")
    return " AND ".join(conditions)


@dataclass(frozen=True)
class EntryPage:
    entries: list[DncEntry]
    positions: list[Position]
    has_next_page: bool


async def list_entries(
    *, organization_id: uuid.UUID, where: EntryFilter, first: int, after: Position | None
) -> EntryPage:
    """A page of entries, newest first (createdAt, then id), starting after `after`.

    Keyset, not OFFSET: a deep page costs what the first one does.
    """
    now = utcnow()
    sql = Statement(connection())
    organization = sql(organization_id)
    conditions = _where(sql, organization, where, now)
    if after is not None:
        at, last = sql(as_utc(after.at)), sql(after.id)
        # The redundant `<=` bound is what lets the index start at the position: with only
        # the OR, PostgreSQL scans (and filters out) every newer row, an OFFSET in disguise.
        conditions += f" AND e.created_at <= {at} AND (e.created_at < {at} OR e.id < {last})"
    text = (
        f"SELECT {_COLUMNS}{_WITH_RELATED.format(org=organization)}\n"
        f"WHERE {conditions}\nORDER BY e.created_at DESC, e.id DESC LIMIT {sql(first + 1)}"
    )
    rows = await sql.rows(text)
    entries = [_entry(row, now) for row in rows[:first]]
    positions = [Position(moment(row["created_at"]), as_uuid(row["id"])) for row in rows[:first]]
    return EntryPage(entries, positions, has_next_page=len(rows) > first)


async def read_active_entry(*, organization_id: uuid.UUID, phone_number: str) -> DncEntry | None:
    """The organization's ACTIVE entry for an E.164 number (the one that blocks calls)."""
    now = utcnow()
    sql = Statement(connection())
    organization = sql(organization_id)
    status = _status(sql, DncEntryStatus.ACTIVE, now)
    text = (
        f"SELECT {_COLUMNS}{_WITH_RELATED.format(org=organization)}\n"
        f"WHERE e.organization_id = {organization} AND e.phone_number = {sql(phone_number)}"
        f" AND {status} LIMIT 1"
    )
    rows = await sql.rows(text)
    return _entry(rows[0], now) if rows else None


async def count_entries(*, organization_id: uuid.UUID, where: EntryFilter) -> int:
    """How many entries match `where` in all (a full count: asked for only when needed)."""
    sql = Statement(connection())
    conditions = _where(sql, sql(organization_id), where, utcnow())
    text = f"SELECT count(*) AS n FROM dnc_entry e WHERE {conditions}"  # noqa: S608
    rows = await sql.rows(text)
    return int(rows[0]["n"])


def _entry(row: Mapping[str, Any], now: datetime) -> DncEntry:
    return DncEntry.from_columns(
        row,
        now,
        removed_by=_user(row, "r"),
        added_by=_user(row, "u"),
        batch=_batch(row),
        call_record=_call_record(row),
    )


def _id(value: object) -> strawberry.ID:
    return strawberry.ID(str(value))


def _batch(row: Mapping[str, Any]) -> Batch | None:
    return None if row["b_id"] is None else Batch(id=_id(row["b_id"]), name=row["b_name"])


def _call_record(row: Mapping[str, Any]) -> CallRecord | None:
    if row["c_id"] is None:
        return None
    return CallRecord(
        id=_id(row["c_id"]),
        request_uuid=as_uuid(row["c_request_uuid"]),
        phone_number=row["c_phone_number"],
        recording_url=row["c_recording_url"],
        transcription=row["c_transcription"],
        called_at=optional_moment(row["c_called_at"]),
    )


def _user(row: Mapping[str, Any], alias: str) -> User | None:
    """The author (`u`) or the remover (`r`)."""
    if row[f"{alias}_id"] is None:
        return None
    return User(
        id=_id(row[f"{alias}_id"]),
        email=row[f"{alias}_email"],
        name=row[f"{alias}_name"],
        role=member(UserRole, row[f"{alias}_role"]),
        active=bool(row[f"{alias}_active"]),
    )
