"""The outbox while an email waits (contract section 5): its state in view to an operator
(attempts, last error, `/metrics`), and the lease that keeps one row to one deliverer: a stopped
process leaves its email to the next, a killed deliverer's claim runs out and the email is sent
again with its Message-ID, an overtaken deliverer cannot settle the row."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.instants import utcnow
from api.mail import outbox
from api.settings import Settings
from api.store import database as db
from models import DncEntry, EmailOutbox, OutboxStatus, UserRole
from tests.conftest import _truncate, make_settings
from tests.mail.emails import (
    add_ok,
    all_in,
    assert_entry_stands,
    assert_message_id,
    failed_once,
    make_due_now,
    outbox_rows,
    running_sink,
    wait_for_rows,
    wait_until,
)
from tests.support.app import serve
from tests.support.client import GraphQLClient
from tests.support.factories import make_tenant, make_user
from tests.support.processes import Cli, started
from tests.support.smtp import SmtpSink, free_port


@pytest.fixture
def settings(database_url: str, smtp: SmtpSink) -> Settings:
    """The `app` fixture's, with a long retry delay: a failed row waits while it is looked at,
    and only an expired lease can make it due."""
    return make_settings(database_url, smtp.port, outbox_retry_base_seconds=600)


@dataclass
class Metrics:
    """The outbox as `/metrics` shows it to an operator."""

    depth: dict[str, float]
    attempts: dict[str, float]


async def scrape(http: httpx.AsyncClient) -> Metrics:
    response = await http.get("/metrics")
    assert response.status_code == 200
    metrics = Metrics(depth={}, attempts={"sent": 0.0, "failed": 0.0})
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "dnc_email_outbox_depth":
                metrics.depth[sample.labels["status"]] = sample.value
            elif sample.name == "dnc_email_delivery_attempts_total":
                metrics.attempts[sample.labels["outcome"]] = sample.value
    return metrics


# --- what an operator sees -----------------------------------------------------------------


async def test_attempts_and_last_error_are_visible_to_an_operator(
    app: Any, gql: GraphQLClient, settings: Settings, smtp: SmtpSink, caplog: Any
) -> None:
    caplog.set_level(logging.WARNING, logger="api.mail.delivery")
    smtp.temporary_failure = True
    tenant = await make_tenant(settings)
    refused = await make_user(tenant.organization, role=UserRole.ADMIN)
    smtp.refused_recipients.add(refused.email)
    before = await scrape(gql.http)

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    rows = await wait_for_rows(
        entry["id"],
        lambda rows: {row.status for row in rows} == {OutboxStatus.PENDING, OutboxStatus.FAILED},
        "one email waiting to be retried, one refused for good",
    )
    await assert_entry_stands(gql, tenant, entry)
    by_recipient = {row.recipient: row for row in rows}
    waiting, failed = by_recipient[tenant.admin.email], by_recipient[refused.email]
    assert (waiting.attempts, failed.attempts) == (1, 1)
    assert "451" in (waiting.last_error or "")
    assert "try again later" in (waiting.last_error or "")
    assert "550" in (failed.last_error or "")
    assert waiting.next_attempt_at >= waiting.created_at + timedelta(seconds=600)

    failing = await scrape(gql.http)
    assert failing.depth == {"pending": 1, "sending": 0, "sent": 0, "failed": 1}
    assert failing.attempts["failed"] - before.attempts["failed"] == 2
    assert failing.attempts["sent"] == before.attempts["sent"]
    warnings = [r.getMessage() for r in caplog.records if str(waiting.id) in r.getMessage()]
    assert len(warnings) == 1, warnings
    for needle in (tenant.admin.email, "attempt 1", "will retry", "451"):
        assert needle in warnings[0]

    smtp.temporary_failure = False
    await make_due_now(waiting)
    app.state.worker.wake()
    await wait_for_rows(
        entry["id"],
        lambda rows: {row.status for row in rows} == {OutboxStatus.SENT, OutboxStatus.FAILED},
        "the waiting email sent",
    )
    delivered = await scrape(gql.http)
    assert delivered.depth == {"pending": 0, "sending": 0, "sent": 1, "failed": 1}
    assert delivered.attempts["sent"] - before.attempts["sent"] == 1
    assert delivered.attempts["failed"] - before.attempts["failed"] == 2
    [received] = smtp.messages()
    assert received.recipients == [tenant.admin.email]


# --- leases --------------------------------------------------------------------------------


async def test_pending_email_of_a_stopped_process_is_delivered_by_the_next(
    database_url: str,
) -> None:
    port = free_port()  # nothing listens here until the second process starts
    settings = make_settings(database_url, port)
    async with serve(settings, emptied=True) as http:
        tenant = await make_tenant(settings)
        entry = await add_ok(GraphQLClient(http), tenant.member_token, tenant.calls[0])
        await wait_for_rows(entry["id"], failed_once, "a failed first attempt")

    # Between the processes: the row is queued, not held by the stopped process's lease.
    await db.init_orm(database_url)
    try:
        [left] = await outbox_rows(entry["id"])
    finally:
        await db.close_orm()
    assert (left.status, left.locked_until, left.sent_at) == (OutboxStatus.PENDING, None, None)

    async with running_sink(port) as sink, serve(settings):
        [received] = await sink.wait_for(1)
        [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email sent")
    assert received.recipients == [tenant.admin.email]
    assert entry["phoneNumber"] in received.message["Subject"]
    assert_message_id(received, row)


async def test_expired_sending_lease_is_claimed_again(
    app: Any, gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    smtp.temporary_failure = True
    tenant = await make_tenant(settings)
    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])
    [row] = await wait_for_rows(entry["id"], failed_once, "a failed first attempt")
    smtp.temporary_failure = False
    now = datetime.now(UTC)

    # A deliverer holding a live lease is not interfered with.
    await EmailOutbox.filter(id=row.id).update(
        status=OutboxStatus.SENDING, locked_until=now + timedelta(minutes=5)
    )
    assert await app.state.worker.deliver_due() == 0
    assert smtp.messages() == []

    # The deliverer was killed mid-send: its lease ran out.
    await EmailOutbox.filter(id=row.id).update(locked_until=now - timedelta(minutes=1))
    app.state.worker.wake()
    [received] = await smtp.wait_for(1)
    [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email sent")
    assert received.recipients == [tenant.admin.email]
    assert_message_id(received, row)


async def test_a_deliverer_whose_lease_was_taken_over_cannot_record_an_outcome(
    gql: GraphQLClient, settings: Settings, app: Any
) -> None:
    """Two deliverers never both settle one row: the second claim's lease wins."""
    tenant = await make_tenant(settings)
    await app.state.worker.stop()  # claim by hand below
    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])
    [first] = await outbox.claim_due(limit=1, lease_seconds=0)
    [second] = await outbox.claim_due(limit=1, lease_seconds=60)
    assert first.id == second.id
    await outbox.mark_sent(first)
    [row] = await outbox_rows(entry["id"])
    assert row.status == OutboxStatus.SENDING
    await outbox.mark_sent(second)
    [row] = await outbox_rows(entry["id"])
    assert row.status == OutboxStatus.SENT


async def test_an_email_whose_deliverer_is_killed_mid_send_is_sent_again_with_its_message_id(
    database_url: str, smtp: SmtpSink, tmp_path: Path
) -> None:
    lease_seconds = 2
    settings = make_settings(database_url, smtp.port)
    smtp.hold_data_reply = True  # the server stores the message, then keeps its "250" back

    await db.init_orm(database_url)
    try:
        await _truncate()
        tenant = await make_tenant(settings)
        async with (
            started(
                Cli(database_url, tmp_path),
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(smtp.port),
                SMTP_TIMEOUT="30",  # the doomed deliverer waits for the reply until it is killed
                MAIL_FROM=settings.mail_from,
                OUTBOX_LEASE_SECONDS=str(lease_seconds),
            ) as served,
            httpx.AsyncClient(base_url=served.base_url, timeout=10) as http,
        ):
            entry = await add_ok(GraphQLClient(http), tenant.member_token, tenant.calls[0])

            async def in_flight() -> bool:
                return smtp.data_held.is_set()

            await wait_until(in_flight, "the served deliverer to be in the middle of DATA")
            served.process.send_signal(signal.SIGKILL)
            assert await served.process.wait() == -signal.SIGKILL

        # The dead deliverer's claim stands until its lease ends; nothing says it was sent.
        [held] = await outbox_rows(entry["id"])
        assert (held.status, held.attempts, held.sent_at) == (OutboxStatus.SENDING, 1, None)
        assert held.locked_until is not None
        assert held.locked_until <= utcnow() + timedelta(seconds=lease_seconds)
        assert await DncEntry.filter(id=entry["id"]).exists()
    finally:
        await db.close_orm()

    smtp.hold_data_reply = False
    smtp.data_released.set()
    async with serve(settings) as http:
        [row] = await wait_for_rows(
            entry["id"], all_in(OutboxStatus.SENT), "the email sent by the next deliverer"
        )
        await assert_entry_stands(GraphQLClient(http), tenant, entry)
    # At least once: the copy the server kept from the killed deliverer, and the resend.
    copies = smtp.messages()
    assert len(copies) == 2
    for received in copies:
        assert received.recipients == [tenant.admin.email]
        assert_message_id(received, row)
    assert row.sent_at is not None
    assert row.sent_at >= held.locked_until
    assert row.attempts == 2
    assert row.last_error is None
