"""The email outbox: rows written with the change that caused them, claimed by deliverers.

A claim is a lease: the row is SENDING until `locked_until`; a deliverer that dies mid-send
leaves it to be claimed again when the lease runs out (at-least-once; the stable Message-ID
lets receivers drop a duplicate).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.functions import Count

from api.instants import utcnow
from api.mail.messages import EmailMessage
from api.store import outbox as store
from models import EmailOutbox, OutboxStatus

BACKOFF_CAP_SECONDS = 15 * 60


async def enqueue_for_admins(
    *,
    conn: BaseDBAsyncClient,
    organization_id: uuid.UUID,
    dnc_entry_id: uuid.UUID | None,
    message: EmailMessage,
    now: datetime,
) -> int:
    """`message` to every active ADMIN of the organization, in the caller's transaction."""
    return await store.enqueue_for_admins(
        conn=conn,
        organization_id=organization_id,
        dnc_entry_id=dnc_entry_id,
        subject=message.subject,
        text=message.text,
        html=message.html,
        now=now,
    )


async def claim_due(*, limit: int, lease_seconds: int) -> list[EmailOutbox]:
    """Lease up to `limit` rows that are due (new, retrying, or abandoned by a dead deliverer)."""
    now = utcnow()
    ids = await store.claim(
        now=now, locked_until=now + timedelta(seconds=lease_seconds), limit=limit
    )
    if not ids:
        return []
    return list(await EmailOutbox.filter(id__in=ids).order_by("next_attempt_at"))


def _still_ours(row: EmailOutbox) -> dict[str, object]:
    """Conditions that hold while our claim does: `locked_until` doubles as the claim's token,
    so a deliverer whose lease ran out (and was claimed again) cannot overwrite the outcome."""
    return {"id": row.id, "status": OutboxStatus.SENDING, "locked_until": row.locked_until}


async def release(rows: list[EmailOutbox]) -> None:
    """Hand claimed rows that were not attempted back to the queue (a deliverer stopping)."""
    for row in rows:
        await EmailOutbox.filter(**_still_ours(row)).update(
            status=OutboxStatus.PENDING, locked_until=None, attempts=F("attempts") - 1
        )


async def mark_sent(row: EmailOutbox) -> None:
    await EmailOutbox.filter(**_still_ours(row)).update(
        status=OutboxStatus.SENT, sent_at=utcnow(), locked_until=None, last_error=None
    )


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Exponential, capped: base, 2 x base, 4 x base, ... up to 15 minutes between attempts."""
    exponent = min(max(attempts - 1, 0), 20)
    return timedelta(seconds=min(base_seconds * 2**exponent, BACKOFF_CAP_SECONDS))


async def mark_failed(
    row: EmailOutbox, *, error: str, permanent: bool, retry_base_seconds: float
) -> None:
    """Schedule the next attempt, or park the row as FAILED when the server refused it for good."""
    await EmailOutbox.filter(**_still_ours(row)).update(
        status=OutboxStatus.FAILED if permanent else OutboxStatus.PENDING,
        next_attempt_at=utcnow() + backoff(row.attempts, retry_base_seconds),
        locked_until=None,
        last_error=error[:2000],
    )


async def depth() -> dict[OutboxStatus, int]:
    """How many rows are in each state (the operator's view of mail that is not going out)."""
    counts = dict.fromkeys(OutboxStatus, 0)
    rows = await EmailOutbox.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    for status, n in rows:
        counts[OutboxStatus(status)] = n
    return counts
