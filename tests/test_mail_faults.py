"""The admin email under SMTP faults (contract section 5): a server that never answers, one that
hangs up in the middle of a message, one that keeps failing, and a deliverer killed while
sending. Each time the entry stands, the email waits with its state in view (attempts, last
error, `/metrics`), and it goes out once the server is back."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.instants import utcnow
from api.mail.delivery import deliver_due
from api.settings import Settings
from api.store import database as db
from models import DncEntry, EmailOutbox, OutboxStatus, UserRole
from tests.conftest import TEST_SECRET, _truncate, make_settings
from tests.support.client import GraphQLClient
from tests.support.factories import Tenant, make_tenant, make_user
from tests.support.smtp import SilentServer, SmtpSink, free_port
from tests.test_email import (
    ENTRY,
    add_ok,
    all_in,
    assert_message_id,
    failed_once,
    outbox_rows,
    running_app,
    running_sink,
    wait_for_rows,
    wait_until,
)

# Delays the tests can watch without waiting long: a one-second SMTP timeout, then two seconds
# before the retry.
SMTP_TIMEOUT = 1
RETRY_BASE = 2.0


def never() -> bool:
    return False


async def assert_entry_stands(gql: GraphQLClient, tenant: Tenant, entry: dict[str, Any]) -> None:
    """The number is on the list, whatever the mail server does."""
    found = await gql(ENTRY, {"phoneNumber": entry["phoneNumber"]}, token=tenant.member_token)
    assert found.data["dncEntry"] == {"id": entry["id"], "phoneNumber": entry["phoneNumber"]}


async def make_due_now(row: EmailOutbox) -> None:
    """The retry delay has passed (without waiting for it)."""
    await EmailOutbox.filter(id=row.id).update(next_attempt_at=utcnow() - timedelta(seconds=1))


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


# --- a server that never answers -----------------------------------------------------------


async def test_a_server_that_never_answers_times_out_and_the_email_waits(
    database_url: str,
) -> None:
    port = free_port()
    settings = make_settings(
        database_url, port, smtp_timeout=SMTP_TIMEOUT, outbox_retry_base_seconds=RETRY_BASE
    )
    async with running_app(settings, truncate=True) as (_, gql):
        tenant = await make_tenant(settings)
        async with SilentServer(port) as silent:
            entry = await add_ok(gql, tenant.member_token, tenant.calls[0])
            [row] = await wait_for_rows(entry["id"], failed_once, "a timed-out first attempt")
            seen_at = utcnow()
            await assert_entry_stands(gql, tenant, entry)
        assert silent.connections == row.attempts == 1
        assert (row.status, row.locked_until, row.sent_at) == (OutboxStatus.PENDING, None, None)
        assert "timed out" in (row.last_error or "").lower(), row.last_error
        assert f"127.0.0.1:{port}" in (row.last_error or "")
        # The attempt gave up after SMTP_TIMEOUT; the next one waits for the retry delay.
        earliest = row.created_at + timedelta(seconds=SMTP_TIMEOUT + RETRY_BASE)
        assert earliest <= row.next_attempt_at <= seen_at + timedelta(seconds=RETRY_BASE)

        async with running_sink(port) as sink:
            [received] = await sink.wait_for(1)
            [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email sent")
            assert len(sink.messages()) == 1
    assert received.recipients == [tenant.admin.email]
    assert_message_id(received, row)
    assert row.attempts == 2
    assert row.last_error is None


# --- a server that hangs up in the middle of a message -------------------------------------


async def test_a_server_hanging_up_mid_message_is_retried_and_delivered_once(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    smtp.cut_off_in_data = True

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    [row] = await wait_for_rows(entry["id"], failed_once, "an attempt cut off in DATA")
    await assert_entry_stands(gql, tenant, entry)
    assert "disconnected" in (row.last_error or "").lower(), row.last_error
    assert smtp.cut_off >= 1
    assert smtp.messages() == []
    smtp.cut_off_in_data = False
    [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the retry sent")
    [received] = smtp.messages()
    assert received.recipients == [tenant.admin.email]
    assert_message_id(received, row)
    assert row.attempts >= 2
    assert row.last_error is None


# --- backoff -------------------------------------------------------------------------------


async def test_retry_delays_double_up_to_a_cap_of_fifteen_minutes(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink, app: Any
) -> None:
    """This test is the deliverer: it runs delivery passes itself and moves the clock of the
    row (its `next_attempt_at`) instead of waiting out each delay."""
    await app.state.worker.stop()
    schedule = replace(settings, outbox_retry_base_seconds=60)
    tenant = await make_tenant(settings)
    smtp.stop()
    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])
    await assert_entry_stands(gql, tenant, entry)

    delays = [60, 120, 240, 480, 900, 900]
    for attempt, delay in enumerate(delays, start=1):
        before = utcnow()
        assert await deliver_due(schedule, never) == 0
        after = utcnow()
        [row] = await outbox_rows(entry["id"])
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
        assert "connection refused" in (row.last_error or "").lower(), row.last_error
        wait = timedelta(seconds=delay)
        assert before + wait <= row.next_attempt_at <= after + wait, (attempt, delay)
        # Not due before its time: a pass leaves it alone.
        assert await deliver_due(schedule, never) == 0
        [unchanged] = await outbox_rows(entry["id"])
        assert (unchanged.attempts, unchanged.next_attempt_at) == (attempt, row.next_attempt_at)
        await make_due_now(row)

    async with running_sink(smtp.port) as revived:
        assert await deliver_due(schedule, never) == 1
        [received] = revived.messages()
    [row] = await outbox_rows(entry["id"])
    assert (row.status, row.attempts) == (OutboxStatus.SENT, len(delays) + 1)
    assert row.last_error is None
    assert_message_id(received, row)


# --- what an operator sees -----------------------------------------------------------------


async def test_attempts_and_last_error_are_visible_to_an_operator(
    database_url: str, smtp: SmtpSink, caplog: Any
) -> None:
    # A long retry delay keeps the failed row waiting while it is looked at.
    settings = make_settings(database_url, smtp.port, outbox_retry_base_seconds=600)
    caplog.set_level(logging.WARNING, logger="api.mail.delivery")
    smtp.temporary_failure = True
    async with running_app(settings, truncate=True) as (app, gql):
        tenant = await make_tenant(settings)
        refused = await make_user(tenant.organization, role=UserRole.ADMIN)
        smtp.refused_recipients.add(refused.email)
        before = await scrape(gql.http)

        entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

        rows = await wait_for_rows(
            entry["id"],
            lambda rows: (
                {row.status for row in rows} == {OutboxStatus.PENDING, OutboxStatus.FAILED}
            ),
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


# --- a deliverer killed while sending ------------------------------------------------------

CONFIG_PREFIXES = ("APP_ENV", "DATABASE_URL", "JWT_", "SMTP_", "MAIL_FROM", "OUTBOX_", "DB_")


@dataclass
class Served:
    process: asyncio.subprocess.Process
    gql: GraphQLClient
    log: Path


@asynccontextmanager
async def serving(folder: Path, **config: str) -> AsyncIterator[Served]:
    """`dnc-api serve` in its own process (real uvicorn, real worker) until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    env |= {"JWT_SECRET": TEST_SECRET, **config}
    log = folder / f"serve-{port}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "api.cli", "serve", "--port", str(port)),
            cwd=folder,
            env=env,
            stdout=output,
            stderr=output,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                assert process.returncode is None, log.read_text()
                with suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"serve did not start:\n{log.read_text()}"
                await asyncio.sleep(0.1)
            yield Served(process, GraphQLClient(http), log)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


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
        async with serving(
            tmp_path,
            DATABASE_URL=database_url,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp.port),
            SMTP_TIMEOUT="30",  # the doomed deliverer waits for the reply until it is killed
            MAIL_FROM=settings.mail_from,
            OUTBOX_LEASE_SECONDS=str(lease_seconds),
        ) as served:
            entry = await add_ok(served.gql, tenant.member_token, tenant.calls[0])

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
    async with running_app(settings) as (_, gql):
        [row] = await wait_for_rows(
            entry["id"], all_in(OutboxStatus.SENT), "the email sent by the next deliverer"
        )
        await assert_entry_stands(gql, tenant, entry)
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
