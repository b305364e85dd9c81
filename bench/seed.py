"""A realistic data set, bulk-loaded: organizations, users, batches, calls, entries, events.

The schema comes from the service's own migrations; rows go in with binary COPY, with the
secondary indexes dropped during the load and rebuilt after it (as a restore would), and
foreign-key triggers skipped (the rows are generated consistent). Then VACUUM ANALYZE, so the
planner and the visibility map look like a database that has been running for a while.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.dataset import Dataset, load_dataset
from bench.phone_numbers import SEED, e164

REASONS = ("CUSTOMER_REQUEST", "COMPLAINT", "WRONG_NUMBER", "LEGAL_REQUEST", "OTHER", None)
TRANSCRIPT = "Agent: Hello, this is a courtesy call. Customer: Please stop calling this number."
CHUNK = 25_000
BULK_TABLES = ("call_record", "dnc_entry", "dnc_event")

ENTRY_COLUMNS = (
    "id", "organization_id", "phone_number", "reason", "note", "batch_id", "call_record_id",
    "request_uuid", "recording_url", "transcription", "added_by_id", "created_at", "channel",
    "requested_at", "expires_at", "status", "removed_at", "removed_by_id", "removal_reason",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "organization_id", "entry_id", "phone_number", "action", "at", "actor_id", "channel",
    "reason",
)  # fmt: skip
CALL_COLUMNS = (
    "id", "batch_id", "request_uuid", "phone_number", "recording_url", "transcription",
    "called_at",
)  # fmt: skip


@dataclass(frozen=True)
class SeedPlan:
    """How big the data set is: `entries` in all, half of them in the first organization."""

    entries: int
    organizations: int = 20
    batches_big: int = 50
    batches_other: int = 5
    spare_calls: int = 20_000

    @property
    def big_entries(self) -> int:
        return self.entries // 2


@dataclass(frozen=True)
class Org:
    id: uuid.UUID
    name: str
    admins: tuple[uuid.UUID, ...]
    member: uuid.UUID
    batches: tuple[uuid.UUID, ...]
    first_k: int
    entries: int


def admin_url(database_url: str) -> str:
    """The same server's maintenance database, to drop and create the benchmark's."""
    return urlunsplit(urlsplit(database_url)._replace(path="/postgres", query=""))


def database_name(database_url: str) -> str:
    name = urlsplit(database_url).path.lstrip("/")
    if not name or name.startswith("dnc_test_") or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to recreate database {name!r}: name a dedicated one")
    return name


async def recreate_database(database_url: str) -> None:
    name = database_name(database_url)
    conn = await asyncpg.connect(admin_url(database_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def migrate(database_url: str) -> None:
    """The service's own migrations, as an operator runs them (`dnc-api migrate`)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"], env=env, check=True, capture_output=True
    )


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128))


def _organizations(plan: SeedPlan, rng: random.Random) -> list[Org]:
    orgs = []
    others = plan.organizations - 1
    first_k = SEED
    for index in range(plan.organizations):
        if index == 0:
            entries, batches = plan.big_entries, plan.batches_big
        else:
            share = plan.entries - plan.big_entries
            entries = share // others + (1 if index - 1 < share % others else 0)
            batches = plan.batches_other
        orgs.append(
            Org(
                id=_uuid(rng),
                name=f"bench-{index:02d}",
                admins=(_uuid(rng), _uuid(rng)),
                member=_uuid(rng),
                batches=tuple(_uuid(rng) for _ in range(batches)),
                first_k=first_k,
                entries=entries,
            )
        )
        first_k += entries
    return orgs


def _platform_rows(
    orgs: list[Org], now: datetime, rng: random.Random
) -> dict[str, list[tuple[object, ...]]]:
    """Organizations, four users each (two admins, a member, a former admin), batches."""
    rows: dict[str, list[tuple[object, ...]]] = {"organization": [], "app_user": [], "batch": []}
    since = now - timedelta(days=800)
    for org in orgs:
        domain = f"{org.name}.example.com"
        rows["organization"].append((org.id, org.name, since))
        users = [
            (org.admins[0], f"admin1@{domain}", "ADMIN", True),
            (org.admins[1], f"admin2@{domain}", "ADMIN", True),
            (org.member, f"member@{domain}", "MEMBER", True),
            (_uuid(rng), f"former-admin@{domain}", "ADMIN", False),
        ]
        for user_id, email, role, active in users:
            name = email.split("@")[0]
            rows["app_user"].append((user_id, org.id, email, name, role, active, since))
        for number, batch_id in enumerate(org.batches):
            owner = org.admins[0] if number % 2 else org.member
            rows["batch"].append((batch_id, org.id, owner, f"Campaign {number + 1}", since))
    return rows


def _org_chunks(
    org: Org, now: datetime, rng: random.Random
) -> Iterator[tuple[list[tuple[object, ...]], ...]]:
    """The organization's calls, entries and events, CHUNK entries at a time, oldest first."""
    start = now - timedelta(days=730)
    span = (timedelta(days=730) - timedelta(hours=1)) / max(org.entries, 1)
    calls: list[tuple[object, ...]] = []
    entries: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    for i in range(org.entries):
        k = org.first_k + i
        number = e164(k)
        created_at = start + span * i + timedelta(microseconds=rng.randrange(1000))
        called_at = created_at - timedelta(minutes=2)
        call_id, request_uuid, entry_id = _uuid(rng), _uuid(rng), _uuid(rng)
        batch_id = org.batches[i % len(org.batches)]
        recording = f"https://recordings.example.com/{request_uuid}.mp3"
        transcription = TRANSCRIPT if i % 10 < 7 else None
        reason = REASONS[i % len(REASONS)]
        note = "Asked politely; said never to call again." if i % 10 == 3 else None
        added_by = org.admins[0] if i % 2 else org.member
        removed = i % 50 == 49
        removed_at = created_at + timedelta(minutes=30) if removed else None
        calls.append(
            (call_id, batch_id, request_uuid, number[1:], recording, transcription, called_at)
        )
        entries.append(
            (
                entry_id, org.id, number, reason, note, batch_id, call_id, request_uuid,
                recording, transcription, added_by, created_at, "VOICE_CALL", called_at,
                None, "REMOVED" if removed else "ACTIVE", removed_at,
                org.admins[0] if removed else None, "Added by mistake" if removed else None,
            )
        )  # fmt: skip
        events.append(
            (
                _uuid(rng),
                org.id,
                entry_id,
                number,
                "ADDED",
                created_at,
                added_by,
                "VOICE_CALL",
                reason,
            )
        )
        if removed:
            events.append(
                (_uuid(rng), org.id, entry_id, number, "REMOVED", removed_at, org.admins[0], None,
                 "Added by mistake")
            )  # fmt: skip
        if len(entries) == CHUNK:
            yield calls, entries, events
            calls, entries, events = [], [], []
    if entries:
        yield calls, entries, events


def _spare_calls(
    batch_id: uuid.UUID, count: int, now: datetime, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    """Calls of a batch no entry points at yet: addToDnc needs a real call per request."""
    for i in range(count):
        request_uuid = _uuid(rng)
        yield (
            _uuid(rng),
            batch_id,
            request_uuid,
            e164(i)[1:],
            f"https://recordings.example.com/{request_uuid}.mp3",
            TRANSCRIPT,
            now - timedelta(minutes=5),
        )


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drop the bulk tables' plain indexes (not those behind constraints); return their DDL."""
    rows = await conn.fetch(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename = ANY($1::text[]) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        list(BULK_TABLES),
    )
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


async def seed(database_url: str, plan: SeedPlan) -> Dataset:
    """Recreate the database, migrate it, load `plan`'s rows; returns what workloads need."""
    started = time.perf_counter()
    await recreate_database(database_url)
    await asyncio.to_thread(migrate, database_url)
    rng = random.Random(20261127)
    now = datetime.now(UTC).replace(microsecond=0)
    orgs = _organizations(plan, rng)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=3,
        max_size=3,
        server_settings={"session_replication_role": "replica", "synchronous_commit": "off"},
    )
    try:
        async with pool.acquire() as conn:
            for table, rows in _platform_rows(orgs, now, rng).items():
                await conn.copy_records_to_table(table, records=rows, columns=_columns(table))
            spare_batch = _uuid(rng)
            await conn.execute(
                "INSERT INTO batch (id, organization_id, owner_id, name, created_at)"
                " VALUES ($1, $2, $3, 'Spare calls', $4)",
                spare_batch,
                orgs[1].id,
                orgs[1].admins[0],
                now,
            )
            indexes = await _drop_secondary_indexes(conn)
            await conn.copy_records_to_table(
                "call_record",
                records=_spare_calls(spare_batch, plan.spare_calls, now, rng),
                columns=CALL_COLUMNS,
            )
        for org in orgs:
            for calls, entries, events in _org_chunks(org, now, rng):
                await asyncio.gather(
                    _copy(pool, "call_record", calls, CALL_COLUMNS),
                    _copy(pool, "dnc_entry", entries, ENTRY_COLUMNS),
                    _copy(pool, "dnc_event", events, EVENT_COLUMNS),
                )
        await asyncio.gather(*(_run(pool, ddl) for ddl in indexes))
        await asyncio.gather(*(_run(pool, f"VACUUM ANALYZE {table}") for table in BULK_TABLES))
        async with pool.acquire() as conn:
            await conn.execute("ANALYZE")
            await conn.execute(
                "CREATE TABLE bench_seed (entries int, big_entries int, seconds float8)"
            )
            await conn.execute(
                "INSERT INTO bench_seed VALUES ($1, $2, $3)",
                plan.entries,
                plan.big_entries,
                time.perf_counter() - started,
            )
            return await load_dataset(conn)
    finally:
        await pool.close()


def _columns(table: str) -> tuple[str, ...]:
    return {
        "organization": ("id", "name", "created_at"),
        "app_user": ("id", "organization_id", "email", "name", "role", "active", "created_at"),
        "batch": ("id", "organization_id", "owner_id", "name", "created_at"),
    }[table]


async def _copy(
    pool: asyncpg.Pool, table: str, rows: list[tuple[object, ...]], columns: tuple[str, ...]
) -> None:
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(table, records=rows, columns=columns)


async def _run(pool: asyncpg.Pool, sql: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute(sql)
