"""The command on a fresh database of each kind, and one server per kind for the package."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.platform.importer import import_document
from api.store import database as db
from tests.cli.database import in_database
from tests.cli.demo import Served, parse_demo
from tests.support.platform import platform_document
from tests.support.processes import DIALECTS, Cli, empty_database, serving


@pytest.fixture(params=DIALECTS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    """The command on a fresh, empty database."""
    with empty_database(request.param, tmp_path) as url:
        yield Cli(url, tmp_path)


@pytest.fixture
def migrated(cli: Cli) -> Cli:
    asyncio.run(db.migrate(cli.database_url))
    return cli


@pytest.fixture
def imported(migrated: Cli) -> Cli:
    """The command on a database holding `platform_document`."""
    in_database(migrated.database_url, lambda: import_document(platform_document()))
    return migrated


@pytest.fixture(scope="package", params=DIALECTS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server per dialect, started on an empty database, then the demo loaded beside it."""
    folder = tmp_path_factory.mktemp(f"served-{request.param}")
    with empty_database(request.param, folder) as url:
        cli = Cli(url, folder)
        with serving(cli) as server:
            yield Served(cli, server, parse_demo(cli.ok("demo")))
