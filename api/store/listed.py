"""Which of many numbers are on an organization's list: the scrub's one statement."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime

from api.store.conditions import active_at, in_organization
from api.store.database import connection, is_postgres

# One array parameter whatever the list's size: asyncpg caps a statement's parameters.
_NUMBERS = {
    "postgres": ("$1", "ANY($2::text[])", "$3"),
    "sqlite": ("?", "(SELECT value FROM json_each(?))", "?"),
}


async def listed_numbers(
    *, organization_id: uuid.UUID, numbers: Collection[str], now: datetime
) -> set[str]:
    """The E.164 numbers among `numbers` that have an ACTIVE entry at `now`."""
    db = connection()
    postgres = is_postgres(db)
    organization, wanted, at = _NUMBERS["postgres" if postgres else "sqlite"]
    text = (
        f"SELECT e.phone_number FROM dnc_entry e WHERE {in_organization(organization)}"  # noqa: S608
        f" AND e.phone_number {'=' if postgres else 'IN'} {wanted} AND {active_at(at)}"
    )
    params: list[object] = (
        [organization_id, list(numbers), now]
        if postgres
        else [str(organization_id), json.dumps(list(numbers)), now]
    )
    _, rows = await db.execute_query(text, params)
    return {row["phone_number"] for row in rows}
