"""Reading the list: pages of entries, one number, and scrubbing a campaign list."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from api.db import connection
from api.dnc.phone import MAX_INPUT_LENGTH, scrub_candidates
from api.dnc.state import status_condition
from api.errors import BadUserInput
from api.instants import utcnow
from api.pagination import Page, Position, bound, keyset_page
from models import DncChannel, DncEntry, DncEntryStatus, DncReason

_BLOCKED_SQL = {
    "postgres": "SELECT phone_number FROM dnc_entry"
    " WHERE organization_id = $1 AND phone_number = ANY($2::text[])"
    " AND status = 'ACTIVE' AND (expires_at IS NULL OR expires_at > $3)",
    "sqlite": "SELECT phone_number FROM dnc_entry"
    " WHERE organization_id = ? AND phone_number IN (SELECT value FROM json_each(?))"
    " AND status = 'ACTIVE' AND (expires_at IS NULL OR expires_at > ?)",
}


@dataclass(frozen=True)
class EntryFilter:
    status: DncEntryStatus | None = DncEntryStatus.ACTIVE
    channel: DncChannel | None = None
    reason: DncReason | None = None
    batch_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    phone_number_contains: str | None = None


def _filtered(organization_id: uuid.UUID, where: EntryFilter, now: datetime) -> Q:
    conditions = [Q(organization_id=organization_id)]
    if where.status is not None:
        conditions.append(status_condition(where.status, now))
    if where.channel is not None:
        conditions.append(Q(channel=where.channel))
    if where.reason is not None:
        conditions.append(Q(reason=where.reason))
    if where.batch_id is not None:
        try:
            conditions.append(Q(batch_id=uuid.UUID(where.batch_id)))
        except ValueError:
            raise BadUserInput("`filter.batchId` is not a valid id.") from None
    if where.created_after is not None:
        conditions.append(Q(created_at__gt=bound(where.created_after, "createdAfter")))
    if where.created_before is not None:
        conditions.append(Q(created_at__lt=bound(where.created_before, "createdBefore")))
    if where.phone_number_contains is not None:
        digits = "".join(c for c in where.phone_number_contains if c.isascii() and c.isdigit())
        if not 1 <= len(digits) <= 15 or len(where.phone_number_contains) > MAX_INPUT_LENGTH:
            raise BadUserInput("`filter.phoneNumberContains` must contain 1 to 15 digits.")
        conditions.append(Q(phone_number__contains=digits))
    return Q(*conditions, join_type=Q.AND)


async def list_entries(
    *, organization_id: uuid.UUID, where: EntryFilter, first: int, after: Position | None
) -> Page[DncEntry]:
    """A page of entries, newest first (createdAt, then id), starting after `after`."""
    condition = _filtered(organization_id, where, utcnow())
    return await keyset_page(DncEntry, condition, time_field="created_at", first=first, after=after)


@dataclass(frozen=True)
class CheckResult:
    blocked: list[str]
    invalid: list[str]
    checked: int


async def check_numbers(*, organization_id: uuid.UUID, numbers: Sequence[str]) -> CheckResult:
    """Which of `numbers` (as given, in input order) are on the list, and which are unreadable.

    One query with one array parameter, whatever the list's size (asyncpg caps parameters).
    """
    candidates = [scrub_candidates(raw) for raw in numbers]
    wanted: set[str] = set()
    for group in candidates:
        if group is not None:
            wanted.update(group)
    on_list: set[str] = set()
    if wanted:
        db = connection()
        now = utcnow()
        if db.schema_generator.DIALECT == "postgres":
            _, rows = await db.execute_query(
                _BLOCKED_SQL["postgres"], [organization_id, list(wanted), now]
            )
        else:
            _, rows = await db.execute_query(
                _BLOCKED_SQL["sqlite"], [str(organization_id), json.dumps(list(wanted)), now]
            )
        on_list = {row["phone_number"] for row in rows}
    blocked = (
        [
            raw
            for raw, group in zip(numbers, candidates, strict=True)
            if group is not None and not on_list.isdisjoint(group)
        ]
        if on_list
        else []
    )
    invalid = [raw for raw, group in zip(numbers, candidates, strict=True) if group is None]
    return CheckResult(blocked=blocked, invalid=invalid, checked=len(numbers))
