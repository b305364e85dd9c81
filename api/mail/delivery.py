"""Delivering the outbox: send every due row, record the outcome, retry with backoff."""

from __future__ import annotations

import logging
from collections.abc import Callable

from api.mail import outbox
from api.mail.smtp import DeliveryFailed, send
from api.metrics import DELIVERY_ATTEMPTS
from api.settings import Settings

log = logging.getLogger(__name__)

MAX_BATCH = 50


def batch_size(settings: Settings) -> int:
    """As many rows as can surely be sent (each up to SMTP_TIMEOUT) before their lease ends."""
    return max(1, min(MAX_BATCH, settings.outbox_lease_seconds // (settings.smtp_timeout + 1)))


async def deliver_due(settings: Settings, stopping: Callable[[], bool]) -> int:
    """Send every row that is due now, until `stopping()`; returns how many were sent.

    Rows claimed but not attempted when `stopping()` turns true go back to the queue.
    """
    sent = 0
    while not stopping() and (
        rows := await outbox.claim_due(
            limit=batch_size(settings), lease_seconds=settings.outbox_lease_seconds
        )
    ):
        for index, row in enumerate(rows):
            if stopping():
                await outbox.release(rows[index:])
                return sent
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
            else:
                DELIVERY_ATTEMPTS.labels(outcome="sent").inc()
                await outbox.mark_sent(row)
                sent += 1
    return sent
