"""Delivering the outbox: send every due row, record the outcome, retry with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from api.mail import outbox
from api.mail.smtp import DeliveryFailed, send
from api.metrics import DELIVERY_ATTEMPTS
from api.settings import Settings
from models import EmailOutbox

log = logging.getLogger(__name__)

MAX_BATCH = 50


def batch_size(settings: Settings) -> int:
    """As many rows as can surely be sent (each up to SMTP_TIMEOUT, `smtp_concurrency` at a
    time) before their lease ends."""
    rounds = settings.outbox_lease_seconds // (settings.smtp_timeout + 1)
    return max(1, min(MAX_BATCH, rounds * settings.smtp_concurrency))


async def deliver_due(settings: Settings, stopping: Callable[[], bool]) -> int:
    """Send every row that is due now, until `stopping()`; returns how many were sent.

    Up to `smtp_concurrency` messages are in flight at once: each is its own SMTP session, so
    one slow recipient server does not hold back the queue. Rows claimed but not attempted
    when `stopping()` turns true go back to the queue.
    """
    sent = 0
    slots = asyncio.Semaphore(settings.smtp_concurrency)
    while not stopping() and (
        rows := await outbox.claim_due(
            limit=batch_size(settings), lease_seconds=settings.outbox_lease_seconds
        )
    ):

        async def attempt(row: EmailOutbox) -> bool | None:
            async with slots:
                return None if stopping() else await _deliver(row, settings)

        outcomes = await asyncio.gather(*(attempt(row) for row in rows))
        sent += sum(1 for outcome in outcomes if outcome)
        unattempted = [row for row, outcome in zip(rows, outcomes, strict=True) if outcome is None]
        if unattempted:
            await outbox.release(unattempted)
            return sent
    return sent


async def _deliver(row: EmailOutbox, settings: Settings) -> bool:
    """One attempt at one row, its outcome recorded; True when the message was accepted."""
    try:
        await send(row, settings)
    except DeliveryFailed as failure:
        DELIVERY_ATTEMPTS.labels(outcome="failed").inc()
        log.warning(
            "email %s to %s not delivered (attempt %d, %s): %s",
            row.id,
            row.recipient,
            row.attempts,
            "permanent" if failure.permanent else "will retry",
            failure,
        )
        await outbox.mark_failed(
            row,
            error=str(failure),
            permanent=failure.permanent,
            retry_base_seconds=settings.outbox_retry_base_seconds,
        )
        return False
    DELIVERY_ATTEMPTS.labels(outcome="sent").inc()
    await outbox.mark_sent(row)
    return True
