"""The background deliverer: sends due outbox rows after commit, and after any restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.mail import outbox
from api.mail.smtp import DeliveryFailed, send
from api.metrics import DELIVERY_ATTEMPTS
from api.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 50


class Deliverer:
    """One loop per process; `wake()` after a commit makes delivery immediate."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-deliverer")

    async def stop(self) -> None:
        """Finish the message being sent, hand back the other claimed rows, then stop.

        Past the grace period the loop is cancelled; a row cut off mid-send keeps its lease
        and is sent again by whichever deliverer claims it next (at-least-once).
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        grace = self.settings.smtp_timeout + 2
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_seconds)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Send every row that is due now; returns how many were sent."""
        sent = 0
        while not self._stopping and (
            rows := await outbox.claim_due(
                limit=BATCH_SIZE, lease_seconds=self.settings.outbox_lease_seconds
            )
        ):
            for index, row in enumerate(rows):
                if self._stopping:
                    await outbox.release(rows[index:])
                    return sent
                try:
                    await send(row, self.settings)
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
                        retry_base_seconds=self.settings.outbox_retry_base_seconds,
                    )
                else:
                    DELIVERY_ATTEMPTS.labels(outcome="sent").inc()
                    await outbox.mark_sent(row)
                    sent += 1
        return sent
