"""What "on the list" means: an ACTIVE entry whose expiry has not passed (in SQL and for the
ORM: `api.store.conditions`; for a row in hand: `status_at`).

An ACTIVE row whose `expires_at` has passed already reads as EXPIRED everywhere; the worker
(and any write that meets it first) then stores EXPIRED and appends the EXPIRED event, dated
when the entry expired, so history never depends on when the sweep ran.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.dnc.events import record
from api.instants import utcnow
from api.store.conditions import active_q, expiry_due_q
from api.store.transactions import atomic
from models import DncAction, DncEntry, DncEntryStatus, DncEvent


def status_at(status: DncEntryStatus, expires_at: datetime | None, now: datetime) -> DncEntryStatus:
    """The effective status of a row stored as `status`, at `now`."""
    if status is DncEntryStatus.ACTIVE and expires_at is not None and expires_at <= now:
        return DncEntryStatus.EXPIRED
    return status


async def active_entry(*, organization_id: uuid.UUID, phone_number: str) -> DncEntry | None:
    """The organization's ACTIVE entry for an E.164 number: the one that blocks calls."""
    return (
        await DncEntry.filter(active_q(utcnow()))
        .filter(organization_id=organization_id, phone_number=phone_number)
        .first()
    )


async def expire_stale(
    conn: BaseDBAsyncClient,
    *,
    now: datetime,
    organization_id: uuid.UUID | None = None,
    phone_numbers: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[DncEvent]:
    """Store EXPIRED on ACTIVE rows whose time has passed, with their EXPIRED events.

    The conditional update makes each expiry happen once, whoever gets there first.
    """
    query = DncEntry.filter(expiry_due_q(now)).using_db(conn)
    if organization_id is not None:
        query = query.filter(organization_id=organization_id)
    if phone_numbers is not None:
        query = query.filter(phone_number__in=list(phone_numbers))
    query = query.order_by("phone_number", "id")  # one lock order for concurrent writers
    if limit is not None:
        query = query.limit(limit)
    events = []
    for row in await query:
        changed = (
            await DncEntry.filter(id=row.id, status=DncEntryStatus.ACTIVE)
            .using_db(conn)
            .update(status=DncEntryStatus.EXPIRED)
        )
        if changed:
            assert row.expires_at is not None
            events.append(
                record(
                    entry=row,
                    action=DncAction.EXPIRED,
                    at=row.expires_at,
                    actor_id=None,
                    channel=None,
                    reason=None,
                )
            )
    if events:
        await DncEvent.bulk_create(events, using_db=conn)
    return events


async def expire_due(
    *,
    organization_id: uuid.UUID | None = None,
    phone_numbers: Sequence[str] | None = None,
    limit: int = 1000,
) -> list[DncEvent]:
    """Expire what is due (everything, or one organization's, or some numbers') now."""
    return await atomic(
        lambda conn: expire_stale(
            conn,
            now=utcnow(),
            organization_id=organization_id,
            phone_numbers=phone_numbers,
            limit=limit,
        )
    )
