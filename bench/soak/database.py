"""The soak's own PostgreSQL database: created and dropped around the run, drained of its
outbox at the end, then read whole for the reconciliation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def admin_url(database_url: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path="/postgres"))


async def create_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(admin_url(database_url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(admin_url(database_url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Drain:
    done: bool
    seconds: float
    backlog: int  # emails not yet sent when the clients stopped
    counts: dict[str, int]


async def wait_drained(database_url: str, within: float) -> Drain:
    """Until no email is PENDING or SENDING (FAILED is final, and a mismatch)."""
    started = time.monotonic()
    backlog = -1
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            rows = await conn.fetch("SELECT status, count(*) AS n FROM email_outbox GROUP BY 1")
            counts = {str(row["status"]): int(row["n"]) for row in rows}
            waiting = sum(n for status, n in counts.items() if status in {"PENDING", "SENDING"})
            backlog = waiting if backlog < 0 else backlog
            elapsed = time.monotonic() - started
            if not waiting or elapsed > within:
                return Drain(not waiting, elapsed, backlog, counts)
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


@dataclass
class Snapshot:
    entries: list[asyncpg.Record]
    outbox: list[asyncpg.Record]
    events: list[asyncpg.Record]
    users: list[asyncpg.Record]


async def read_database(database_url: str) -> Snapshot:
    conn = await asyncpg.connect(database_url)
    try:
        return Snapshot(
            entries=await conn.fetch(
                "SELECT id::text, organization_id, phone_number, status, channel, added_by_id,"
                " removed_by_id, created_at FROM dnc_entry"
            ),
            outbox=await conn.fetch(
                "SELECT id::text, organization_id, dnc_entry_id::text, recipient, subject,"
                " body_text, status, attempts FROM email_outbox"
            ),
            events=await conn.fetch(
                "SELECT entry_id::text, organization_id, phone_number, action FROM dnc_event"
            ),
            users=await conn.fetch("SELECT id, organization_id, email, role, active FROM app_user"),
        )
    finally:
        await conn.close()
