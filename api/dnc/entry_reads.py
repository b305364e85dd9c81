"""Entries read with their batch, call and author in one statement: pages, and one number.

The dashboard's list asks for 50 entries and, for each, its batch, call and author (and, for
removed entries, the remover). Through the ORM that is 200 model objects and three loader
queries a page; here one statement (its JOINs scoped to the organization, as the loaders are)
gives plain rows that map straight to the GraphQL types. Only the nested objects that the
operation selects are joined: a dialer's `dncEntry`, asked in its hot loop for a number's
status, joins nothing. The filter is written once, for the page and for its count.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import strawberry

from api.db import Statement, as_uuid, connection
from api.dnc.phone import MAX_INPUT_LENGTH
from api.dnc.types import (
    ENTRY_COLUMNS,
    DncEntry,
    later,
    load_batch,
    load_call_record,
    load_user,
    member,
)
from api.errors import BadUserInput
from api.instants import as_utc, moment, optional_moment, utcnow
from api.loaders import Loaders
from api.pagination import Position, bound
from api.platform.types import Batch, CallRecord, User
from models import DncChannel, DncEntryStatus, DncReason, UserRole

# The entry's own columns, and the ids of its nested objects (loaded by them when not joined).
_COLUMNS = ", ".join(
    f"e.{name}"
    for name in (*ENTRY_COLUMNS, "batch_id", "call_record_id", "added_by_id", "removed_by_id")
)


@dataclass(frozen=True)
class _Relation:
    """A nested object of an entry: read in the same statement (a JOIN scoped to the
    organization, as the loaders are) when the operation selects it, else loaded if asked."""

    field: str  # the field of DncEntry in the schema
    columns: str
    join: str


_RELATIONS = (
    _Relation(
        "batch",
        "b.id AS b_id, b.name AS b_name",
        "LEFT JOIN batch b ON b.id = e.batch_id AND b.organization_id = {org}",
    ),
    _Relation(
        "callRecord",
        "c.id AS c_id, c.request_uuid AS c_request_uuid, c.phone_number AS c_phone_number,"
        " c.recording_url AS c_recording_url, c.transcription AS c_transcription,"
        " c.called_at AS c_called_at",
        "LEFT JOIN call_record c ON c.id = e.call_record_id AND EXISTS"
        " (SELECT 1 FROM batch cb WHERE cb.id = c.batch_id AND cb.organization_id = {org})",
    ),
    _Relation(
        "addedBy",
        "u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role,"
        " u.active AS u_active",
        "LEFT JOIN app_user u ON u.id = e.added_by_id AND u.organization_id = {org}",
    ),
    _Relation(
        "removedBy",
        "r.id AS r_id, r.email AS r_email, r.name AS r_name, r.role AS r_role,"
        " r.active AS r_active",
        "LEFT JOIN app_user r ON r.id = e.removed_by_id AND r.organization_id = {org}",
    ),
)
RELATED_FIELDS = frozenset(relation.field for relation in _RELATIONS)


@cache
def _select(joined: frozenset[str], organization: str) -> str:
    """SELECT ... FROM with the JOINs of the relations in `joined`."""
    relations = [relation for relation in _RELATIONS if relation.field in joined]
    columns = "".join(f",\n       {relation.columns}" for relation in relations)
    joins = "".join(f"\n{relation.join.format(org=organization)}" for relation in relations)
    return f"SELECT {_COLUMNS}{columns}\nFROM dnc_entry e{joins}"


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
    *,
    organization_id: uuid.UUID,
    where: EntryFilter,
    first: int,
    after: Position | None,
    selected: frozenset[str],
    loaders: Loaders,
) -> EntryPage:
    """A page of entries, newest first (createdAt, then id), starting after `after`, with
    the nested objects named in `selected` read in the same statement.

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
    joined = selected & RELATED_FIELDS
    text = (
        f"{_select(joined, organization)}\n"
        f"WHERE {conditions}\nORDER BY e.created_at DESC, e.id DESC LIMIT {sql(first + 1)}"
    )
    rows = await sql.rows(text)
    read = _Entries(now, joined, loaders)
    entries = [read.entry(row) for row in rows[:first]]
    positions = [Position(moment(row["created_at"]), as_uuid(row["id"])) for row in rows[:first]]
    return EntryPage(entries, positions, has_next_page=len(rows) > first)


async def read_active_entry(
    *, organization_id: uuid.UUID, phone_number: str, selected: frozenset[str], loaders: Loaders
) -> DncEntry | None:
    """The organization's ACTIVE entry for an E.164 number (the one that blocks calls), with
    the nested objects named in `selected` read in the same statement."""
    now = utcnow()
    sql = Statement(connection())
    organization = sql(organization_id)
    status = _status(sql, DncEntryStatus.ACTIVE, now)
    joined = selected & RELATED_FIELDS
    text = (
        f"{_select(joined, organization)}\n"
        f"WHERE e.organization_id = {organization} AND e.phone_number = {sql(phone_number)}"
        f" AND {status} LIMIT 1"
    )
    rows = await sql.rows(text)
    return _Entries(now, joined, loaders).entry(rows[0]) if rows else None


async def count_entries(*, organization_id: uuid.UUID, where: EntryFilter) -> int:
    """How many entries match `where` in all (a full count: asked for only when needed)."""
    sql = Statement(connection())
    conditions = _where(sql, sql(organization_id), where, utcnow())
    text = f"SELECT count(*) AS n FROM dnc_entry e WHERE {conditions}"  # noqa: S608
    rows = await sql.rows(text)
    return int(rows[0]["n"])


class _Entries:
    """Maps rows to entries: a nested object that was not joined is loaded if asked for, and
    a page's few authors and removers are one object each."""

    def __init__(self, now: datetime, joined: frozenset[str], loaders: Loaders) -> None:
        self.now = now
        self.joined = joined
        self.loaders = loaders
        self.users: dict[object, User] = {}

    def entry(self, row: Mapping[str, Any]) -> DncEntry:
        joined, loaders = self.joined, self.loaders
        return DncEntry.from_columns(
            row,
            self.now,
            removed_by=self.user(row, "r")
            if "removedBy" in joined
            else later(load_user, loaders, row["removed_by_id"]),
            added_by=self.user(row, "u")
            if "addedBy" in joined
            else later(load_user, loaders, row["added_by_id"]),
            batch=_batch(row) if "batch" in joined else later(load_batch, loaders, row["batch_id"]),
            call_record=_call_record(row)
            if "callRecord" in joined
            else later(load_call_record, loaders, row["call_record_id"]),
        )

    def user(self, row: Mapping[str, Any], alias: str) -> User | None:
        """The author (`u`) or the remover (`r`)."""
        key = row[f"{alias}_id"]
        if key is None:
            return None
        user = self.users.get(key)
        if user is None:
            user = self.users[key] = User(
                id=_id(key),
                email=row[f"{alias}_email"],
                name=row[f"{alias}_name"],
                role=member(UserRole, row[f"{alias}_role"]),
                active=bool(row[f"{alias}_active"]),
            )
        return user


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
