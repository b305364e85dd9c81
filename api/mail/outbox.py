"""The email outbox: rows written with the change that caused them, claimed by deliverers.

A claim is a lease: the row is SENDING until `locked_until`; a deliverer that dies mid-send
leaves it to be claimed again when the lease runs out (at-least-once; the stable Message-ID
lets receivers drop a duplicate). On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several
processes claim side by side; SQLite serializes writers, so one UPDATE is already atomic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.functions import Count

from api.db import Statement, connection, is_postgres, new_row
from api.instants import utcnow
from api.mail.messages import EmailMessage
from models import EmailOutbox, OutboxStatus, UserRole

_CLAIM = {
    "postgres": """
        UPDATE email_outbox SET status = 'SENDING', locked_until = $1, attempts = attempts + 1
        WHERE id IN (
            SELECT id FROM email_outbox
            WHERE (status = 'PENDING' AND next_attempt_at <= $2)
               OR (status = 'SENDING' AND locked_until <= $2)
            ORDER BY next_attempt_at
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id
    """,
    "sqlite": """
        UPDATE email_outbox SET status = 'SENDING', locked_until = ?, attempts = attempts + 1
        WHERE id IN (
            SELECT id FROM email_outbox
            WHERE (status = 'PENDING' AND next_attempt_at <= ?)
               OR (status = 'SENDING' AND locked_until <= ?)
            ORDER BY next_attempt_at
            LIMIT ?
        )
        RETURNING id
    """,
}
BACKOFF_CAP_SECONDS = 15 * 60


async def enqueue(
    *,
    conn: BaseDBAsyncClient,
    organization_id: uuid.UUID,
    dnc_entry_id: uuid.UUID | None,
    recipients: Iterable[str],
    message: EmailMessage,
    now: datetime,
) -> int:
    """Write one row per recipient inside the caller's transaction; returns how many."""
    rows = [
        new_row(
            EmailOutbox,
            id=uuid.uuid4(),
            organization_id=organization_id,
            dnc_entry_id=dnc_entry_id,
            recipient=recipient,
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for recipient in recipients
    ]
    if rows:
        await EmailOutbox.bulk_create(rows, using_db=conn)
    return len(rows)


async def enqueue_for_admins(
    *,
    conn: BaseDBAsyncClient,
    organization_id: uuid.UUID,
    dnc_entry_id: uuid.UUID | None,
    message: EmailMessage,
    now: datetime,
) -> int:
    """One row per active ADMIN of the organization, so one refused address holds back no other."""
    sql = Statement(conn)
    organization = sql(organization_id)
    admins = (
        f"SELECT DISTINCT email FROM app_user WHERE organization_id = {organization}"  # noqa: S608
        f" AND role = {sql(UserRole.ADMIN.value)} AND active = {sql(True)}"
    )
    if sql.postgres:
        # The rows written as the admins are read: one statement, not two.
        at = sql(now)
        written = await sql.rows(
            "INSERT INTO email_outbox (id, organization_id, dnc_entry_id, recipient, subject,"  # noqa: S608
            " body_text, body_html, status, attempts, next_attempt_at, created_at)"
            f" SELECT gen_random_uuid(), {organization}, {sql(dnc_entry_id)}, email,"
            f" {sql(message.subject)}, {sql(message.text)}, {sql(message.html)},"
            f" {sql(OutboxStatus.PENDING.value)}, 0, {at}, {at} FROM ({admins}) AS admin"
            " RETURNING id"
        )
        return len(written)
    return await enqueue(
        conn=conn,
        organization_id=organization_id,
        dnc_entry_id=dnc_entry_id,
        recipients=sorted(str(row["email"]) for row in await sql.rows(admins)),
        message=message,
        now=now,
    )


async def claim_due(*, limit: int, lease_seconds: int) -> list[EmailOutbox]:
    """Lease up to `limit` rows that are due (new, retrying, or abandoned by a dead deliverer)."""
    db = connection()
    now = utcnow()
    locked_until = now + timedelta(seconds=lease_seconds)
    # execute_query_dict: Tortoise's execute_query drops the rows of an UPDATE ... RETURNING.
    if is_postgres(db):
        rows = await db.execute_query_dict(_CLAIM["postgres"], [locked_until, now, limit])
    else:
        rows = await db.execute_query_dict(_CLAIM["sqlite"], [locked_until, now, now, limit])
    ids = [uuid.UUID(str(row["id"])) for row in rows]
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
