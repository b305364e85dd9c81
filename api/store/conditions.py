"""The conditions every reader shares, each written once.

An entry's effective status at an instant: a row stored ACTIVE blocks calls until its
`expires_at` passes, and reads as EXPIRED from then on (the worker stores EXPIRED later). Pages,
`dncEntry`, the scrub, the export and the ORM's reads all use these, so they cannot disagree on
what "on the list" means. `api.dnc.state.status_at` is the same rule for a row in hand; a test
holds the three spellings (SQL, ORM, Python) to the same answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tortoise.expressions import Q

from models import DncEntryStatus


def in_organization(organization: str, alias: str = "e") -> str:
    """SQL: the row belongs to the organization bound as `organization` (a placeholder)."""
    return f"{alias}.organization_id = {organization}"


def active_at(now: str, alias: str = "e") -> str:
    """SQL: the entry blocks calls at the instant bound as `now`."""
    return (
        f"{alias}.status = 'ACTIVE' AND ({alias}.expires_at IS NULL OR {alias}.expires_at > {now})"
    )


def with_status(status: DncEntryStatus, now: Callable[[], str], alias: str = "e") -> str:
    """SQL: the entry's effective status at an instant is `status`; `now()` gives the
    instant's placeholder, asked for only when the condition needs it."""
    if status is DncEntryStatus.ACTIVE:
        return active_at(now(), alias)
    if status is DncEntryStatus.EXPIRED:
        return (
            f"({alias}.status = 'EXPIRED'"
            f" OR ({alias}.status = 'ACTIVE' AND {alias}.expires_at <= {now()}))"
        )
    return f"{alias}.status = 'REMOVED'"


def effective_status(now: str, alias: str = "e") -> str:
    """SQL: the entry's effective status at `now`, as a column."""
    return (
        f"CASE WHEN {alias}.status = 'ACTIVE' AND {alias}.expires_at <= {now} THEN 'EXPIRED'"
        f" ELSE {alias}.status END"
    )


def active_q(now: datetime) -> Q:
    """The ORM's spelling of `active_at`."""
    return Q(status=DncEntryStatus.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def expiry_due_q(now: datetime) -> Q:
    """Rows stored ACTIVE whose `expires_at` has passed at `now`: EXPIRED, not yet stored so."""
    return Q(status=DncEntryStatus.ACTIVE, expires_at__lte=now)
