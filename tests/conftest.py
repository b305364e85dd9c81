"""Shared fixtures: a real database of each dialect, the real app over HTTP, a real SMTP server.

Every test that touches the database runs twice, `[sqlite]` and `[postgres]`. Without a
reachable PostgreSQL the second half is skipped with the reason, unless DNC_REQUIRE_POSTGRES=1
(CI), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from api.store import database as db
from tests.support.client import GraphQLClient
from tests.support.smtp import SmtpSink

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
POSTGRES_ADMIN_URL = os.environ.get(
    "DNC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("DNC_REQUIRE_POSTGRES", "") not in {"", "0", "false"}
FAST_PATH = Settings.from_env(
    {"GRAPHQL_FAST_PATH": os.environ.get("GRAPHQL_FAST_PATH", "")}
).graphql_fast_path
TABLES = [
    "email_outbox",
    "dnc_event",
    "dnc_entry",
    "call_record",
    "batch",
    "app_user",
    "organization",
]


async def _postgres_admin() -> asyncpg.Connection:
    return await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""

    async def probe() -> None:
        conn = await _postgres_admin()
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} unreachable: {error}"
    return None


def new_postgres_database(prefix: str = "dnc_test") -> str:
    """Create an empty database and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await _postgres_admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await _postgres_admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"{reason} (DNC_REQUIRE_POSTGRES is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of each dialect, brought to the current schema by migrations alone."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'dnc.sqlite3'}"
        asyncio.run(db.migrate(url))
        yield url
        return
    require_postgres()
    url = new_postgres_database()
    try:
        asyncio.run(db.migrate(url))
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def dialect(database_url: str) -> str:
    return db.dialect_of(database_url)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on a free local port, collecting what it receives."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


def make_settings(database_url: str, smtp_port: int | None, **changes: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "smtp_host": "127.0.0.1" if smtp_port else None,
        "smtp_port": smtp_port or 25,
        "smtp_timeout": 5,
        "mail_from": "dnc@test.example",
        "outbox_poll_seconds": 0.2,
        "outbox_retry_base_seconds": 0.2,
        "db_pool_size": 25,
        # CI runs the suite a second time with GRAPHQL_FAST_PATH=false (stock strawberry).
        "graphql_fast_path": FAST_PATH,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp.port)


async def _truncate() -> None:
    conn = db.connection()
    if conn.schema_generator.DIALECT == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    else:
        for table in TABLES:
            await conn.execute_script(f"DELETE FROM {table}")  # noqa: S608


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    """The real application with its lifespan (ORM and deliverer), on an emptied database."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await _truncate()
        yield application


@pytest.fixture
async def http(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[str, str]:
    """An RSA (private PEM, public PEM) pair for the session's RS256 tests."""
    from tests.support.tokens import rsa_pems  # here: tests.support.tokens imports this module

    return rsa_pems()


@pytest.fixture(scope="session")
def ec_keys() -> tuple[str, str]:
    """A P-256 (private PEM, public PEM) pair for the session's ES256 tests."""
    from tests.support.tokens import ec_pems

    return ec_pems()
