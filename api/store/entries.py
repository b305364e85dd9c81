"""Entries read with their batch, call and author in one statement: pages, one number, counts.

The dashboard's list asks for 50 entries and, for each, its batch, call and author (and, for
removed entries, the remover). Through the ORM that is 200 model objects and three loader
queries a page; here one statement (its JOINs scoped to the organization, as the loaders are)
gives plain rows. Only the relations the caller names are joined: a dialer's `dncEntry`, asked
in its hot loop for a number's status, joins nothing. The filter is written once, for the page
and for its count.

A row holds the entry's columns (`ENTRY_COLUMNS`), the ids of its
relations, and for each joined relation that relation's columns under its alias: `b_` (batch),
`c_` (call record), `u_` (added by), `r_` (removed by).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache, partial
from typing import Any

from api.store.conditions import active_at, in_organization, with_status
from api.store.database import connection
from api.store.statement import Statement
from models import DncChannel, DncEntryStatus, DncReason

Row = Mapping[str, Any]

# The columns an entry is mapped from, in the table's order.
ENTRY_COLUMNS = (
    "id",
    "phone_number",
    "reason",
    "note",
    "created_at",
    "recording_url",
    "transcription",
    "channel",
    "requested_at",
    "expires_at",
    "status",
    "removed_at",
    "removal_reason",
)
_COLUMNS = ", ".join(
    f"e.{name}"
    for name in (*ENTRY_COLUMNS, "batch_id", "call_record_id", "added_by_id", "removed_by_id")
)


class Relation(StrEnum):
    """A relation of an entry that a read may join."""

    BATCH = "batch"
    CALL_RECORD = "call_record"
    ADDED_BY = "added_by"
    REMOVED_BY = "removed_by"


@dataclass(frozen=True)
class _Join:
    columns: str
    join: str


_JOINS = {
    Relation.BATCH: _Join(
        "b.id AS b_id, b.name AS b_name",
        "LEFT JOIN batch b ON b.id = e.batch_id AND {scope_b}",
    ),
    Relation.CALL_RECORD: _Join(
        "c.id AS c_id, c.request_uuid AS c_request_uuid, c.phone_number AS c_phone_number,"
        " c.recording_url AS c_recording_url, c.transcription AS c_transcription,"
        " c.called_at AS c_called_at",
        "LEFT JOIN call_record c ON c.id = e.call_record_id AND EXISTS"
        " (SELECT 1 FROM batch cb WHERE cb.id = c.batch_id AND {scope_cb})",
    ),
    Relation.ADDED_BY: _Join(
        "u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role,"
        " u.active AS u_active",
        "LEFT JOIN app_user u ON u.id = e.added_by_id AND {scope_u}",
    ),
    Relation.REMOVED_BY: _Join(
        "r.id AS r_id, r.email AS r_email, r.name AS r_name, r.role AS r_role,"
        " r.active AS r_active",
        "LEFT JOIN app_user r ON r.id = e.removed_by_id AND {scope_r}",
    ),
}


@cache
def _select(joined: frozenset[Relation], organization: str) -> str:
    """SELECT ... FROM with the JOINs of the relations in `joined`."""
    scopes = {f"scope_{a}": in_organization(organization, a) for a in ("b", "cb", "u", "r")}
    joins = [_JOINS[relation] for relation in Relation if relation in joined]
    columns = "".join(f",\n       {join.columns}" for join in joins)
    text = "".join(f"\n{join.join.format(**scopes)}" for join in joins)
    return f"SELECT {_COLUMNS}{columns}\nFROM dnc_entry e{text}"


@dataclass(frozen=True)
class EntryConditions:
    """A checked filter: every value is of its column's type (instants in UTC)."""

    status: DncEntryStatus | None = DncEntryStatus.ACTIVE
    channel: DncChannel | None = None
    reason: DncReason | None = None
    batch_id: uuid.UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    digits: str | None = None


def _where(sql: Statement, organization: str, where: EntryConditions, now: datetime) -> str:
    conditions = [in_organization(organization)]
    if where.status is not None:
        conditions.append(with_status(where.status, partial(sql, now)))
    if where.channel is not None:
        conditions.append(f"e.channel = {sql(where.channel.value)}")
    if where.reason is not None:
        conditions.append(f"e.reason = {sql(where.reason.value)}")
    if where.batch_id is not None:
        conditions.append(f"e.batch_id = {sql(where.batch_id)}")
    if where.created_after is not None:
        conditions.append(f"e.created_at > {sql(where.created_after)}")
    if where.created_before is not None:
        conditions.append(f"e.created_at < {sql(where.created_before)}")
    if where.digits is not None:
        conditions.append(f"e.phone_number LIKE {sql(f'%{where.digits}%')}")
    return " AND ".join(conditions)


async def entry_rows(
    *,
    organization_id: uuid.UUID,
    where: EntryConditions,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    joined: frozenset[Relation],
    now: datetime,
) -> Sequence[Row]:
    """Up to `limit` rows, newest first (created_at, then id), after the (created_at, id) given.

    Keyset, not OFFSET: a deep page costs what the first one does.
    """
    sql = Statement(connection())
    organization = sql(organization_id)
    conditions = _where(sql, organization, where, now)
    if after is not None:
        at, last = sql(after[0]), sql(after[1])
        # The redundant `<=` bound is what lets the index start at the position: with only
        # the OR, PostgreSQL scans (and filters out) every newer row, an OFFSET in disguise.
        conditions += f" AND e.created_at <= {at} AND (e.created_at < {at} OR e.id < {last})"
    text = (
        f"{_select(joined, organization)}\n"
        f"WHERE {conditions}\nORDER BY e.created_at DESC, e.id DESC LIMIT {sql(limit)}"
    )
    return await sql.rows(text)


async def active_entry_row(
    *,
    organization_id: uuid.UUID,
    phone_number: str,
    joined: frozenset[Relation],
    now: datetime,
) -> Row | None:
    """The organization's ACTIVE entry for an E.164 number at `now` (the one that blocks calls)."""
    sql = Statement(connection())
    organization = sql(organization_id)
    text = (
        f"{_select(joined, organization)}\n"
        f"WHERE {in_organization(organization)} AND e.phone_number = {sql(phone_number)}"
        f" AND {active_at(sql(now))} LIMIT 1"
    )
    rows = await sql.rows(text)
    return rows[0] if rows else None


async def count_entries(
    *, organization_id: uuid.UUID, where: EntryConditions, now: datetime
) -> int:
    """How many entries match `where` in all."""
    sql = Statement(connection())
    conditions = _where(sql, sql(organization_id), where, now)
    text = f"SELECT count(*) AS n FROM dnc_entry e WHERE {conditions}"  # noqa: S608
    rows = await sql.rows(text)
    return int(rows[0]["n"])
