"""Hand-written statements: one way to send one, with either dialect's placeholders."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.store.database import is_postgres


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
