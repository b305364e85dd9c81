"""The process's background loop: expire entries whose time has come, send due emails.

Every API process runs one. It also picks up whatever a stopped process left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.dnc.state import expire_due
from api.mail.delivery import deliver_due
from api.runtime.broker import EventBroker
from api.settings import Settings

log = logging.getLogger(__name__)


class Worker:
    """`wake()` after a commit makes delivery immediate; otherwise it polls."""

    def __init__(self, settings: Settings, broker: EventBroker) -> None:
        self.settings = settings
        self.broker = broker
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="dnc-worker")

    async def stop(self) -> None:
        """Finish the message being sent, hand back the other claimed rows, then stop.

        Past the grace period the loop is cancelled; a row cut off mid-send keeps its lease
        and is sent again by whichever process claims it next (at-least-once).
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

    async def expire_due(self) -> int:
        """Store EXPIRED on entries whose time has passed and announce the events."""
        expired = await expire_due()
        if expired:
            await self.broker.publish(expired)
        return len(expired)

    async def deliver_due(self) -> int:
        return await deliver_due(self.settings, lambda: self._stopping)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.expire_due()
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_seconds)
            self._wake.clear()
