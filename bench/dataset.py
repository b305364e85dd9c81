"""What the workloads need to know about the seeded database, read back from it.

Read from the database rather than kept from the seeding, so `--reuse-database` works too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Tenant:
    """One organization and the users the workloads act as."""

    id: uuid.UUID
    admin_id: uuid.UUID
    entries: int


@dataclass(frozen=True)
class Dataset:
    big: Tenant  # half the entries: reads, scrubs and the export
    adds: Tenant  # addToDnc, from the calls of its spare batch
    bulk: Tenant  # addManyToDnc
    spare_batch: uuid.UUID
    spare_calls: tuple[uuid.UUID, ...]  # request UUIDs in spare_batch
    big_first_k: int  # the big organization holds numbers e164(k), k in [first, first + entries)
    entries: int
    seed_seconds: float


async def _tenant(conn: asyncpg.Connection, name: str) -> Tenant:
    row = await conn.fetchrow(
        """
        SELECT o.id, u.id AS admin_id,
               (SELECT count(*) FROM dnc_entry e WHERE e.organization_id = o.id) AS entries
        FROM organization o JOIN app_user u ON u.organization_id = o.id
        WHERE o.name = $1 AND u.email = 'admin1@' || o.name || '.example.com'
        """,
        name,
    )
    if row is None:
        raise LookupError(f"organization {name} is not in the database: seed it first")
    return Tenant(id=row["id"], admin_id=row["admin_id"], entries=row["entries"])


async def load_dataset(conn: asyncpg.Connection) -> Dataset:
    seed = await conn.fetchrow("SELECT entries, big_entries, seconds FROM bench_seed")
    adds = await _tenant(conn, "bench-01")
    spare_batch = await conn.fetchval(
        "SELECT id FROM batch WHERE organization_id = $1 AND name = 'Spare calls'", adds.id
    )
    calls = await conn.fetch(
        "SELECT request_uuid FROM call_record WHERE batch_id = $1 ORDER BY request_uuid",
        spare_batch,
    )
    return Dataset(
        big=await _tenant(conn, "bench-00"),
        adds=adds,
        bulk=await _tenant(conn, "bench-02"),
        spare_batch=spare_batch,
        spare_calls=tuple(row["request_uuid"] for row in calls),
        big_first_k=0,
        entries=seed["entries"],
        seed_seconds=seed["seconds"],
    )


async def reset_additions(conn: asyncpg.Connection, dataset: Dataset) -> None:
    """Undo what an earlier run's workloads added, so its new numbers are new again.

    Foreign-key triggers are skipped (the rows that point at these entries go first): checking
    that no event points at each deleted entry would scan the event table once per entry.
    """
    tenants = [dataset.adds.id, dataset.bulk.id]
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("DELETE FROM email_outbox")
        await conn.execute(
            """
            DELETE FROM dnc_event WHERE entry_id IN (
                SELECT id FROM dnc_entry WHERE organization_id = ANY($1::uuid[])
                  AND (batch_id IS NULL OR batch_id = $2))
            """,
            tenants,
            dataset.spare_batch,
        )
        await conn.execute(
            "DELETE FROM dnc_entry WHERE organization_id = ANY($1::uuid[])"
            " AND (batch_id IS NULL OR batch_id = $2)",
            tenants,
            dataset.spare_batch,
        )
