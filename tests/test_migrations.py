"""Migrations: each dialect reaches the current schema from empty; model drift is caught."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import db
from tests.conftest import drop_postgres_database, new_postgres_database, require_postgres

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


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    require_postgres()
    url = new_postgres_database("dnc_migrations")
    try:
        yield url
    finally:
        drop_postgres_database(url)


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
def test_a_model_change_without_migration_is_detected(dialect: str, tmp_path: Path) -> None:
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
        from api import db
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
        env={"PYTHONPATH": f"{tmp_path}:{Path(__file__).resolve().parent.parent}", "PATH": ""},
    )
    written = result.stdout.strip()
    assert written.endswith("_drift.py"), result.stdout + result.stderr
    assert "drift" in (root / dialect / db.APP / written).read_text()
