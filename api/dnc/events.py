"""The append-only event log: one ADDED, REMOVED or EXPIRED event per change of the list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from api.dnc.errors import InvalidArgument
from api.dnc.pages import Position, bound
from api.store.keyset import Page, keyset_page
from api.store.rows import new_row
from models import DncAction, DncChannel, DncEntry, DncEvent


@dataclass(frozen=True)
class Change:
    """A committed change: the entry as it now is and the events to announce."""

    entry: DncEntry
    events: list[DncEvent]


def record(
    *,
    entry: DncEntry,
    action: DncAction,
    at: datetime,
    actor_id: uuid.UUID | None,
    channel: DncChannel | None,
    reason: str | None,
) -> DncEvent:
    """An event of `entry`, to be saved in the transaction of the change it records."""
    return new_row(
        DncEvent,
        id=uuid.uuid4(),
        organization_id=entry.organization_id,
        entry_id=entry.id,
        phone_number=entry.phone_number,
        action=action,
        at=at,
        actor_id=actor_id,
        channel=channel,
        reason=reason,
    )


async def history(*, organization_id: uuid.UUID, phone_number: str) -> list[DncEvent]:
    """Every event of one number, oldest first."""
    return list(
        await DncEvent.filter(organization_id=organization_id, phone_number=phone_number).order_by(
            "at", "id"
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    action: DncAction | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _audit_condition(organization_id: uuid.UUID, where: AuditFilter) -> Q:
    conditions = [Q(organization_id=organization_id)]
    if where.action is not None:
        conditions.append(Q(action=where.action))
    if where.actor_id is not None:
        try:
            conditions.append(Q(actor_id=uuid.UUID(where.actor_id)))
        except ValueError:
            raise InvalidArgument("`filter.actorId` is not a valid id.") from None
    if where.since is not None:
        conditions.append(Q(at__gte=bound(where.since, "since")))
    if where.until is not None:
        conditions.append(Q(at__lt=bound(where.until, "until")))
    return Q(*conditions, join_type=Q.AND)


async def audit_page(
    *, organization_id: uuid.UUID, where: AuditFilter, first: int, after: Position | None
) -> Page[DncEvent]:
    """A page of the organization's events, newest first (at, then id)."""
    condition = _audit_condition(organization_id, where)
    position = None if after is None else (after.at, after.id)
    return await keyset_page(DncEvent, condition, time_field="at", first=first, after=position)
