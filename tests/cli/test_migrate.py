"""`dnc-api migrate` and `dnc-api makemigrations --check`."""

from __future__ import annotations

from pathlib import Path

from tests.cli.database import NO_ROWS, migration_names, row_counts
from tests.support.processes import Cli


def test_migrate_applies_the_migrations_then_is_up_to_date(cli: Cli) -> None:
    names = migration_names(cli.database_url)
    assert names
    assert cli.ok("migrate").strip() == f"applied: {', '.join(names)}"
    assert row_counts(cli.database_url) == NO_ROWS

    assert cli.ok("migrate").strip() == "database is up to date"


def test_makemigrations_check_finds_no_changes_and_writes_nothing(
    tmp_path: Path, repo_root: Path
) -> None:
    migrations = repo_root / "migrations"
    before = sorted(p.relative_to(repo_root) for p in migrations.rglob("*.py"))
    cli = Cli(f"sqlite://{tmp_path / 'dnc.sqlite3'}", tmp_path)

    out = cli.ok("makemigrations", "--check")

    assert out.splitlines() == ["sqlite: no changes", "postgres: no changes"]
    assert sorted(p.relative_to(repo_root) for p in migrations.rglob("*.py")) == before
