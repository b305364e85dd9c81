"""New entries and events: on PostgreSQL one statement per table, whatever the count.

Tortoise's bulk_create sends one Execute per row on PostgreSQL (asyncpg's executemany);
`INSERT ... SELECT FROM unnest(one array per column)` is a single round trip and a single
statement for the server to plan.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from api.store.database import is_postgres
from models import DncEntry, DncEntryStatus, DncEvent

SQLITE_BATCH = 1000  # rows per INSERT on SQLite

_ENTRIES = """
INSERT INTO dnc_entry (id, organization_id, phone_number, reason, note, added_by_id,
                       created_at, channel, requested_at, expires_at, status, batch_id,
                       call_record_id, request_uuid, recording_url, transcription)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                     $7::timestamptz[], $8::text[], $9::timestamptz[], $10::timestamptz[],
                     $11::text[], $12::uuid[], $13::uuid[], $14::uuid[], $15::text[],
                     $16::text[])
"""
_EVENTS = """
INSERT INTO dnc_event (id, organization_id, entry_id, phone_number, action, at, actor_id,
                       channel, reason)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                     $6::timestamptz[], $7::uuid[], $8::text[], $9::text[])
"""


def _value(member: object) -> str | None:
    """An enum member's stored text (None stays None)."""
    return None if member is None else str(getattr(member, "value", member))


async def insert_entries(conn: BaseDBAsyncClient, rows: list[DncEntry]) -> None:
    """Insert new ACTIVE entries."""
    if not is_postgres(conn):
        await DncEntry.bulk_create(rows, batch_size=SQLITE_BATCH, using_db=conn)
        return
    await conn.execute_query(
        _ENTRIES,
        [
            [row.id for row in rows],
            [row.organization_id for row in rows],
            [row.phone_number for row in rows],
            [_value(row.reason) for row in rows],
            [row.note for row in rows],
            [row.added_by_id for row in rows],
            [row.created_at for row in rows],
            [_value(row.channel) for row in rows],
            [row.requested_at for row in rows],
            [row.expires_at for row in rows],
            [DncEntryStatus.ACTIVE.value] * len(rows),
            [row.batch_id for row in rows],
            [row.call_record_id for row in rows],
            [row.request_uuid for row in rows],
            [row.recording_url for row in rows],
            [row.transcription for row in rows],
        ],
    )


async def insert_events(conn: BaseDBAsyncClient, events: list[DncEvent]) -> None:
    """Insert new events of the log."""
    if not is_postgres(conn):
        await DncEvent.bulk_create(events, batch_size=SQLITE_BATCH, using_db=conn)
        return
    await conn.execute_query(
        _EVENTS,
        [
            [event.id for event in events],
            [event.organization_id for event in events],
            [event.entry_id for event in events],
            [event.phone_number for event in events],
            [_value(event.action) for event in events],
            [event.at for event in events],
            [event.actor_id for event in events],
            [_value(event.channel) for event in events],
            [event.reason for event in events],
        ],
    )
