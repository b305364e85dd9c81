"""Database set-up: the Tortoise configuration, aerich migrations (one folder per dialect),
the connection, and whether the database answers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE

log = logging.getLogger(__name__)

MIGRATIONS_ROOT = Path(__file__).resolve().parents[2] / "migrations"
APP = "models"
MODEL_MODULES = ["models", "aerich.models"]


def dialect_of(database_url: str) -> str:
    """`sqlite` or `postgres`: aerich writes SQL for one dialect, so each has its own folder."""
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in {"postgres", "postgresql", "asyncpg"}:
        return "postgres"
    raise ValueError(f"unsupported database URL scheme: {scheme!r}")


def migrations_location(database_url: str, root: Path = MIGRATIONS_ROOT) -> Path:
    return root / dialect_of(database_url)


def _with_defaults(database_url: str, pool_size: int) -> str:
    """Add the connection options we rely on unless the URL sets them itself."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    if dialect_of(database_url) == "sqlite":
        query.setdefault("busy_timeout", "10000")
    else:
        query.setdefault("maxsize", str(pool_size))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(database_url: str, pool_size: int = 10) -> dict[str, Any]:
    return {
        "connections": {"default": _with_defaults(database_url, pool_size)},
        "apps": {APP: {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _forget_cached_sql() -> None:
    """Tortoise caches each model's SQL per connection name, not per dialect.

    A process that opens another database under the same name (the test suite runs SQLite,
    then PostgreSQL) would otherwise send one dialect's SQL to the other.
    """
    EXECUTOR_CACHE.clear()


async def migrate(
    database_url: str, pool_size: int = 10, root: Path = MIGRATIONS_ROOT
) -> list[str]:
    """Apply pending migrations (from `root`: the project's, unless a test replays history)."""
    _forget_cached_sql()
    config = tortoise_config(database_url, pool_size)
    command = Command(
        tortoise_config=config, app=APP, location=str(migrations_location(database_url, root))
    )
    await command.init()
    try:
        return await command.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Return a pooled connection as it is (asyncpg has already rolled back any transaction).

    asyncpg's default reset (unlock advisory locks, close cursors, UNLISTEN, RESET ALL) is one
    more round trip per query outside a transaction, and the service leaves none of that state
    on pooled connections: it takes no advisory locks, sets nothing, and LISTENs on a
    connection of its own.
    """


async def init_orm(database_url: str, pool_size: int = 10) -> None:
    """Open the ORM for this process; requests in other tasks see it (global fallback)."""
    _forget_cached_sql()
    config = tortoise_config(database_url, pool_size)
    if dialect_of(database_url) == "postgres":
        connection = expand_db_url(config["connections"]["default"])
        connection["credentials"]["reset"] = _keep_session
        config["connections"]["default"] = connection
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def close_orm() -> None:
    await Tortoise.close_connections()


def connection() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def is_postgres(client: BaseDBAsyncClient) -> bool:
    """Whether `client` speaks PostgreSQL (else SQLite): hand-written SQL differs a little."""
    return bool(client.schema_generator.DIALECT == "postgres")


PING_SECONDS = 2.0
UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, timed out; Tortoise's DBConnectionError is one too
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,  # the server is stopping or restarting
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,  # the server is starting
    asyncpg.TooManyConnectionsError,
)


def is_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) means the database cannot be reached right now."""
    for _ in range(5):
        if error is None:
            return False
        if isinstance(error, _UNAVAILABLE):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


async def ping() -> bool:
    """True while the database answers a trivial query, within a short deadline."""
    try:
        async with asyncio.timeout(PING_SECONDS):
            await connection().execute_query("SELECT 1")
    except Exception:
        return False
    return True


# A URL per dialect for generating migrations offline: no database is contacted.
OFFLINE_URLS = {"sqlite": "sqlite://:memory:", "postgres": "postgres://offline@127.0.0.1:1/offline"}


async def make_migration(dialect: str, name: str, root: Path = MIGRATIONS_ROOT) -> str:
    """Write the migration `name` for one dialect from the current models, without a database.

    Returns the file written, or "" when the models match the last migration. aerich keeps
    its diff state in class attributes, so call this once per process.
    """
    location = root / dialect
    command = Command(
        tortoise_config=tortoise_config(OFFLINE_URLS[dialect]), app=APP, location=str(location)
    )
    try:
        if not (location / APP).exists():
            await command.init_migrations(safe=True)
            return next(iter(sorted((location / APP).glob("0_*.py")))).name
        await command.init(offline=True)
        return await command.migrate(name=name, no_input=True, offline=True)
    finally:
        await Tortoise.close_connections()
