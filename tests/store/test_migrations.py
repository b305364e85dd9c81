"""Migrations: each dialect reaches the current schema from empty, keeps the rows of an older
one, and a model changed without a migration is caught."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise.exceptions import IntegrityError

from api.store import database as db
from tests.support import processes

TABLES = {
    "organization",
    "app_user",
    "batch",
    "call_record",
    "dnc_entry",
    "dnc_event",
    "email_outbox",
    "aerich",
}


@pytest.fixture(params=processes.DIALECTS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with processes.empty_database(request.param, tmp_path, "dnc_migrations") as url:
        yield url


async def _tables_and_versions(url: str) -> tuple[set[str], list[str]]:
    await db.init_orm(url)
    try:
        conn = db.connection()
        if conn.schema_generator.DIALECT == "postgres":
            sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = {row["name"] for row in await conn.execute_query_dict(sql)}
        versions = [
            row["version"]
            for row in await conn.execute_query_dict("SELECT version FROM aerich ORDER BY id")
        ]
    finally:
        await db.close_orm()
    return tables, versions


def test_new_database_reaches_current_schema_by_migrations(empty_database: str) -> None:
    applied = asyncio.run(db.migrate(empty_database))
    files = sorted(
        p.name for p in (db.migrations_location(empty_database) / db.APP).glob("[0-9]*_*.py")
    )
    assert applied == sorted(files, key=lambda name: int(name.split("_")[0]))
    tables, versions = asyncio.run(_tables_and_versions(empty_database))
    assert tables >= TABLES
    assert versions == applied
    assert asyncio.run(db.migrate(empty_database)) == []


def test_committed_migrations_match_the_models() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "makemigrations", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sqlite: no changes" in result.stdout
    assert "postgres: no changes" in result.stdout


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_model_change_without_migration_is_detected(
    dialect: str, tmp_path: Path, repo_root: Path
) -> None:
    """The drift check is not vacuous: a new model makes it write a migration."""
    root = tmp_path / "migrations"
    subprocess.run(["cp", "-r", str(db.MIGRATIONS_ROOT), str(root)], check=True)
    (tmp_path / "drift_models.py").write_text(
        textwrap.dedent(
            """
            from tortoise import fields
            from tortoise.models import Model

            class Drift(Model):
                id = fields.IntField(primary_key=True)
                label = fields.CharField(max_length=10)

                class Meta:
                    table = "drift"
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import asyncio, pathlib
        from api.store import database as db
        db.MODEL_MODULES.append("drift_models")
        print(asyncio.run(db.make_migration({dialect!r}, "drift", pathlib.Path({str(root)!r}))))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{repo_root}", "PATH": ""},
    )
    written = result.stdout.strip()
    assert written.endswith("_drift.py"), result.stdout + result.stderr
    assert "drift" in (root / dialect / db.APP / written).read_text()


ORG, USER, BATCH = (
    uuid.UUID("10000000-0000-4000-8000-000000000001"),
    uuid.UUID("20000000-0000-4000-8000-000000000001"),
    uuid.UUID("30000000-0000-4000-8000-000000000001"),
)
ENTRIES = [
    ("50000000-0000-4000-8000-000000000001", "+12125550100", "2026-01-02T03:04:05+00:00"),
    ("50000000-0000-4000-8000-000000000002", "+12125550101", "2026-01-03T03:04:05.5+00:00"),
]


async def _seed_first_schema(url: str) -> None:
    """Rows as the first schema (before the lifecycle migration) held them, in raw SQL."""
    await db.init_orm(url)
    try:
        conn = db.connection()
        pg = conn.schema_generator.DIALECT == "postgres"

        async def insert(table: str, **values: object) -> None:
            marks = ", ".join(f"${i}" if pg else "?" for i in range(1, len(values) + 1))
            args = [v if pg or not isinstance(v, uuid.UUID) else str(v) for v in values.values()]
            sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})"  # noqa: S608
            await conn.execute_query(sql, args)

        then = datetime(2026, 1, 1, tzinfo=UTC)
        await insert("organization", id=ORG, name="Old Org", created_at=then)
        await insert(
            "app_user",
            id=USER,
            organization_id=ORG,
            email="admin@old.example",
            role="ADMIN",
            active=True,
            created_at=then,
        )
        await insert("batch", id=BATCH, organization_id=ORG, owner_id=USER, created_at=then)
        for entry_id, number, created in ENTRIES:
            await insert(
                "dnc_entry",
                id=uuid.UUID(entry_id),
                organization_id=ORG,
                phone_number=number,
                reason="COMPLAINT",
                batch_id=BATCH,
                added_by_id=USER,
                created_at=datetime.fromisoformat(created),
            )
    finally:
        await db.close_orm()


async def _check_lifecycle_backfill(url: str) -> None:
    from models import DncEntry, DncEntryStatus, DncEvent

    await db.init_orm(url)
    try:
        rows = {str(r.id): r for r in await DncEntry.all()}
        assert set(rows) == {entry_id for entry_id, _, _ in ENTRIES}
        for entry_id, number, created in ENTRIES:
            row = rows[entry_id]
            assert row.phone_number == number
            assert row.status == DncEntryStatus.ACTIVE
            assert row.channel == "VOICE_CALL"
            assert row.requested_at == row.created_at == datetime.fromisoformat(created)
        events = await DncEvent.all().order_by("at")
        assert [(str(e.entry_id), e.action, e.at, str(e.actor_id), e.reason) for e in events] == [
            (entry_id, "ADDED", datetime.fromisoformat(created), str(USER), "COMPLAINT")
            for entry_id, _, created in ENTRIES
        ]
        # The unique index is now partial: history may repeat a number, ACTIVE may not.
        first = rows[ENTRIES[0][0]]
        for status in (DncEntryStatus.REMOVED, DncEntryStatus.ACTIVE):
            clone = DncEntry(
                id=uuid.uuid4(),
                organization_id=first.organization_id,
                phone_number=first.phone_number,
                created_at=first.created_at,
                requested_at=first.requested_at,
                status=status,
            )
            if status is DncEntryStatus.ACTIVE:
                with pytest.raises(IntegrityError):
                    await clone.save()
            else:
                await clone.save()
    finally:
        await db.close_orm()


def test_lifecycle_migration_keeps_existing_entries(empty_database: str, tmp_path: Path) -> None:
    """From the first schema with data in it: entries become ACTIVE VOICE_CALL, with history."""
    first_only = tmp_path / "first"
    dialect = db.dialect_of(empty_database)
    (first_only / dialect / db.APP).mkdir(parents=True)
    for migration in (db.MIGRATIONS_ROOT / dialect / db.APP).glob("0_*.py"):
        shutil.copy(migration, first_only / dialect / db.APP)
    assert len(asyncio.run(db.migrate(empty_database, root=first_only))) == 1
    asyncio.run(_seed_first_schema(empty_database))
    applied = asyncio.run(db.migrate(empty_database))
    assert [name.split("_")[-1] for name in applied] == ["lifecycle.py"]
    asyncio.run(_check_lifecycle_backfill(empty_database))
