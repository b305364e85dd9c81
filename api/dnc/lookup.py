"""Scrubbing a campaign list against the DNC list."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from api.db import connection, is_postgres
from api.dnc.phone import scrub_candidates
from api.instants import utcnow

_BLOCKED_SQL = {
    "postgres": "SELECT phone_number FROM dnc_entry"
    " WHERE organization_id = $1 AND phone_number = ANY($2::text[])"
    " AND status = 'ACTIVE' AND (expires_at IS NULL OR expires_at > $3)",
    "sqlite": "SELECT phone_number FROM dnc_entry"
    " WHERE organization_id = ? AND phone_number IN (SELECT value FROM json_each(?))"
    " AND status = 'ACTIVE' AND (expires_at IS NULL OR expires_at > ?)",
}


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
        if is_postgres(db):
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
