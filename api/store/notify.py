"""PostgreSQL's NOTIFY: announcing committed changes to every API process, and the connection
each process LISTENs on."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from api.store.database import connection, dialect_of


def available(database_url: str) -> bool:
    """Whether the database can announce changes to other processes (PostgreSQL can; SQLite,
    one process per file, cannot and needs not)."""
    return dialect_of(database_url) == "postgres"


async def send(channel: str, payloads: Sequence[str]) -> None:
    """Every notice in one statement (a bulk add of 10,000 numbers makes 100 of them)."""
    await connection().execute_query(
        "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
        [channel, list(payloads)],
    )


async def listener(database_url: str) -> asyncpg.Connection:
    """A connection of its own (not the pool's) to LISTEN on."""
    return await asyncpg.connect(_asyncpg_dsn(database_url))


_POOL_OPTIONS = {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime"}


def _asyncpg_dsn(database_url: str) -> str:
    """asyncpg's DSN: Tortoise's pool options are not connection options; the rest (ssl) stays."""
    parts = urlsplit(database_url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _POOL_OPTIONS])
    return urlunsplit(parts._replace(scheme="postgresql", query=query))
