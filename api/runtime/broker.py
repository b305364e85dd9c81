"""Live events: each committed change reaches the subscribers of its organization.

On PostgreSQL every API process LISTENs on one channel and a change is announced with
NOTIFY, so a subscriber connected to any process sees changes made through any other. On
SQLite (one process per database) the fan-out is in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

import asyncpg

from api.settings import Settings
from api.store import notify
from api.store.rows import as_uuid
from models import DncEvent

log = logging.getLogger(__name__)

CHANNEL = "dnc_events"
QUEUE_SIZE = 25_000  # more than one change can announce (a 10,000-number bulk, its expiries)
_IDS_PER_NOTIFY = 100  # keeps each payload far below PostgreSQL's 8,000-byte limit
RECONNECT_SECONDS = 1.0


class Subscription:
    """One subscriber's queue; `overflowed` when it fell too far behind and was cut off."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[DncEvent | None] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, event: DncEvent) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A subscriber this far behind is ended rather than silently skipping events.
            self.overflowed = True
            self.close()

    def close(self) -> None:
        """End the subscription: the consumer reads None after what is queued."""
        if self.queue.full():
            self.queue.get_nowait()  # room for the end marker
        self.queue.put_nowait(None)


class EventBroker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = defaultdict(set)
        self._listener: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._notified: asyncio.Queue[tuple[uuid.UUID, list[uuid.UUID]]] = asyncio.Queue()
        self._listening = asyncio.Event()

    @property
    def uses_notify(self) -> bool:
        return notify.available(self.settings.database_url)

    async def start(self) -> None:
        if self.uses_notify:
            self._listener = asyncio.create_task(self._listen_forever(), name="dnc-events-listen")
            self._dispatcher = asyncio.create_task(self._dispatch(), name="dnc-events-dispatch")

    async def stop(self) -> None:
        for task in (self._listener, self._dispatcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._listener = self._dispatcher = None
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.close()

    async def wait_listening(self, within: float = 5.0) -> None:
        """Until this process receives notifications (immediately on SQLite)."""
        if self.uses_notify:
            await asyncio.wait_for(self._listening.wait(), within)

    @contextlib.asynccontextmanager
    async def subscribe(self, organization_id: uuid.UUID) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._subscriptions[organization_id].add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions[organization_id].discard(subscription)
            if not self._subscriptions[organization_id]:
                del self._subscriptions[organization_id]

    async def publish(self, events: Sequence[DncEvent]) -> None:
        """Announce committed events (call after the commit)."""
        by_organization: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for event in events:
            by_organization[as_uuid(event.organization_id)].append(as_uuid(event.id))
        payloads: list[str] = []
        for organization_id, ids in by_organization.items():
            if not self.uses_notify:
                await self._deliver(organization_id, ids)
                continue
            payloads.extend(
                json.dumps(
                    {
                        "o": str(organization_id),
                        "e": [str(i) for i in ids[start : start + _IDS_PER_NOTIFY]],
                    }
                )
                for start in range(0, len(ids), _IDS_PER_NOTIFY)
            )
        if payloads:
            await notify.send(CHANNEL, payloads)

    async def _deliver(self, organization_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
        if not self._subscriptions.get(organization_id):
            return
        rows = await DncEvent.filter(id__in=list(ids), organization_id=organization_id).order_by(
            "at", "id"
        )
        for subscription in list(self._subscriptions.get(organization_id, ())):
            for row in rows:
                subscription.offer(row)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            organization_id = uuid.UUID(message["o"])
            ids = [uuid.UUID(i) for i in message["e"]]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed %s notification", CHANNEL)
            return
        self._notified.put_nowait((organization_id, ids))

    async def _dispatch(self) -> None:
        """Deliver notifications one at a time, so subscribers see commit order."""
        while True:
            organization_id, ids = await self._notified.get()
            try:
                await self._deliver(organization_id, ids)
            except Exception:
                log.exception("delivering %d events to subscribers failed", len(ids))

    async def _listen_forever(self) -> None:
        """Hold a LISTEN connection; reconnect when the database goes away and comes back."""
        while True:
            try:
                conn = await notify.listener(self.settings.database_url)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("event listener cannot connect (%s); retrying", error)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _conn, closed=closed: closed.set())
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
                self._listening.set()
                await closed.wait()
                log.warning("event listener connection lost; reconnecting")
            finally:
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(RECONNECT_SECONDS)
