"""Database set-up: the Tortoise configuration and aerich migrations, one folder per dialect."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.models import Model
from tortoise.transactions import in_transaction

T = TypeVar("T")
M = TypeVar("M", bound=Model)
log = logging.getLogger(__name__)

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
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


_unfinished: set[asyncio.Task[Any]] = set()


async def atomic(work: Callable[[BaseDBAsyncClient], Awaitable[T]]) -> T:
    """`work` in one transaction that a cancellation cannot tear apart.

    graphql-core cancels the siblings of a failed field and the time budget cancels the
    whole request; a cancellation landing inside Tortoise's transaction can leave a pooled
    connection (or SQLite's lock) held for good. So the transaction runs in a task of its
    own: a cancelled caller stops waiting, the transaction still commits or rolls back.
    """

    async def run() -> T:
        async with in_transaction() as conn:
            return await work(conn)

    task = asyncio.ensure_future(run())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        _unfinished.add(task)
        task.add_done_callback(_finished_late)
        raise


def _finished_late(task: asyncio.Task[Any]) -> None:
    _unfinished.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("a transaction whose caller was cut off failed: %r", task.exception())


def new_row(model: type[M], **values: Any) -> M:
    """A row to insert, built without __init__'s per-field checks; the values come from
    validated input. Its id is ours, as __init__ records.

    The defaults of the fields not given are Tortoise's own (`construct` worked them out once
    for the model): working them out for each row took a third of a second per 10,000.
    """
    blank, generated, fields = _blank(model)
    if not values.keys() <= fields:  # a relation given as an object: Tortoise's full path
        row = model.construct(**values)
    else:
        row = model.__new__(model)
        state = row.__dict__
        state.update(blank)
        state["_await_when_save"] = {}
        for name, make in generated:
            if name not in values:
                state[name] = make()
        state.update(values)
    row._custom_generated_pk = True
    return row


@cache
def _blank(
    model: type[Model],
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...], frozenset[str]]:
    """A model's fresh row as `construct` leaves it, the fields whose default is made anew
    for each row, and the fields that are stored as they are given (no relation objects)."""
    meta = model._meta
    blank = dict(model.construct().__dict__)
    generated = tuple(
        (name, meta.fields_map[name].default)
        for name in meta.fields - meta.fetch_fields
        if callable(meta.fields_map[name].default)
    )
    return blank, generated, frozenset(meta.fields - meta.fetch_fields)


def as_uuid(value: object) -> uuid.UUID:
    """A UUID column's value as read: text on SQLite, asyncpg's own UUID type on PostgreSQL."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def connection() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def is_postgres(client: BaseDBAsyncClient) -> bool:
    """Whether `client` speaks PostgreSQL (else SQLite): hand-written SQL differs a little."""
    return bool(client.schema_generator.DIALECT == "postgres")


@dataclass
class Statement:
    """A hand-written statement's parameters, with the placeholders of `client`'s dialect.

    For the hot reads (every request's user, every add's call), where building the query
    through the ORM costs more than running it. Placeholders are numbered on both dialects,
    so one may be used more than once.
    """

    client: BaseDBAsyncClient
    params: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.postgres = is_postgres(self.client)

    def __call__(self, value: object) -> str:
        """The placeholder of a new parameter (SQLite stores ids as text)."""
        if not self.postgres and isinstance(value, uuid.UUID):
            value = str(value)
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else f"?{len(self.params)}"

    async def rows(self, text: str) -> Sequence[Mapping[str, Any]]:
        """Run `text`, a SELECT written with this statement's placeholders; its rows by
        column name."""
        if self.postgres:
            # asyncpg itself: Tortoise's wrapping (exception translation, debug logging,
            # sniffing the verb) costs a fifth of a short read.
            async with self.client.acquire_connection() as conn:
                self.client.log.debug("%s: %s", text, self.params)  # Tortoise's SQL log
                rows: Sequence[Mapping[str, Any]] = await conn.fetch(text, *self.params)
                return rows
        _, rows = await self.client.execute_query(text, self.params)
        return rows


PING_SECONDS = 2.0

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
