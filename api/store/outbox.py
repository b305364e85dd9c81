"""The email outbox's statements: rows written for the organization's admins in the
transaction that caused them, and leases claimed by deliverers.

On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several processes claim side by side; SQLite
serializes writers, so one UPDATE is already atomic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.store.database import connection, is_postgres
from api.store.rows import new_row
from api.store.statement import Statement
from api.store.users import admin_emails
from models import EmailOutbox, OutboxStatus

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


async def enqueue(
    *,
    conn: BaseDBAsyncClient,
    organization_id: uuid.UUID,
    dnc_entry_id: uuid.UUID | None,
    recipients: Iterable[str],
    subject: str,
    text: str,
    html: str,
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
            subject=subject,
            body_text=text,
            body_html=html,
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
    subject: str,
    text: str,
    html: str,
    now: datetime,
) -> int:
    """One row per active ADMIN of the organization, so one refused address holds back no other."""
    sql = Statement(conn)
    organization = sql(organization_id)
    admins = admin_emails(sql, organization)
    if sql.postgres:
        # The rows written as the admins are read: one statement, not two.
        at = sql(now)
        written = await sql.rows(
            "INSERT INTO email_outbox (id, organization_id, dnc_entry_id, recipient, subject,"  # noqa: S608
            " body_text, body_html, status, attempts, next_attempt_at, created_at)"
            f" SELECT gen_random_uuid(), {organization}, {sql(dnc_entry_id)}, email,"
            f" {sql(subject)}, {sql(text)}, {sql(html)},"
            f" {sql(OutboxStatus.PENDING.value)}, 0, {at}, {at} FROM ({admins}) AS admin"
            " RETURNING id"
        )
        return len(written)
    return await enqueue(
        conn=conn,
        organization_id=organization_id,
        dnc_entry_id=dnc_entry_id,
        recipients=sorted(str(row["email"]) for row in await sql.rows(admins)),
        subject=subject,
        text=text,
        html=html,
        now=now,
    )


async def claim(*, now: datetime, locked_until: datetime, limit: int) -> list[uuid.UUID]:
    """Lease up to `limit` due rows until `locked_until`; their ids."""
    db = connection()
    # execute_query_dict: Tortoise's execute_query drops the rows of an UPDATE ... RETURNING.
    if is_postgres(db):
        rows = await db.execute_query_dict(_CLAIM["postgres"], [locked_until, now, limit])
    else:
        rows = await db.execute_query_dict(_CLAIM["sqlite"], [locked_until, now, now, limit])
    return [uuid.UUID(str(row["id"])) for row in rows]
