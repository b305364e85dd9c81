"""What a command left in the database, read through the ORM from the test's own process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from api.store import database as db
from models import Batch, CallRecord, Organization, User

PLATFORM_MODELS = (Organization, User, Batch, CallRecord)
NO_ROWS = {model.__name__: 0 for model in PLATFORM_MODELS}
T = TypeVar("T")


def in_database(database_url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await db.init_orm(database_url)
        try:
            return await work()
        finally:
            await db.close_orm()

    return asyncio.run(run())


def snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every platform row, by model, in id order: equal snapshots mean nothing was written."""

    async def read() -> dict[str, list[dict[str, Any]]]:
        rows = {}
        for model in PLATFORM_MODELS:
            values = await model.all().values()
            rows[model.__name__] = sorted(values, key=lambda row: str(row["id"]))
        return rows

    return in_database(database_url, read)


def row_counts(database_url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(database_url).items()}


def rows_by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(row["id"]): row for row in rows}


def migration_names(database_url: str) -> list[str]:
    return sorted(
        path.name for path in (db.migrations_location(database_url) / "models").glob("*.py")
    )
