"""The admin email under SMTP faults (contract section 5): a server that never answers, one that
fails an attempt (451, 554 at DATA, hanging up mid-message), one that keeps failing. Each time
the entry stands, the email waits with its attempts and last error, and it goes out once the
server is back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from api.instants import utcnow
from api.mail.delivery import deliver_due
from api.settings import Settings
from models import OutboxStatus
from tests.conftest import make_settings
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
)
from tests.support.app import serve
from tests.support.client import GraphQLClient
from tests.support.factories import make_tenant
from tests.support.smtp import SilentServer, SmtpSink, free_port

# Delays the tests can watch without waiting long: a one-second SMTP timeout, then two seconds
# before the retry.
SMTP_TIMEOUT = 1
RETRY_BASE = 2.0


def never() -> bool:
    return False


# --- a server that never answers -----------------------------------------------------------


async def test_a_server_that_never_answers_times_out_and_the_email_waits(
    database_url: str,
) -> None:
    port = free_port()
    settings = make_settings(
        database_url, port, smtp_timeout=SMTP_TIMEOUT, outbox_retry_base_seconds=RETRY_BASE
    )
    async with serve(settings, emptied=True) as http:
        gql = GraphQLClient(http)
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


# --- a server that fails an attempt --------------------------------------------------------

# A sink's switch, and what the failed attempt's last error says.
FAILED_ATTEMPTS = [
    pytest.param("temporary_failure", "451", id="451-try-again-later"),
    # Only a refused recipient is permanent; a 5xx at DATA is usually our configuration.
    pytest.param("refuse_data", "554", id="554-message-refused"),
    pytest.param("cut_off_in_data", "disconnected", id="hang-up-mid-message"),
]


@pytest.mark.parametrize(("fault", "last_error"), FAILED_ATTEMPTS)
async def test_a_failed_attempt_is_retried_and_delivered_once(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink, fault: str, last_error: str
) -> None:
    tenant = await make_tenant(settings)
    setattr(smtp, fault, True)

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    [row] = await wait_for_rows(entry["id"], failed_once, f"a first attempt failing ({fault})")
    await assert_entry_stands(gql, tenant, entry)
    assert last_error in (row.last_error or "").lower(), row.last_error
    if fault == "cut_off_in_data":
        assert smtp.cut_off >= 1  # the message had started to arrive
    assert smtp.messages() == []
    setattr(smtp, fault, False)
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
