"""Transactions that a cancelled request cannot tear apart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

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
