"""The admin email (contract section 5): what the admins receive over a real SMTP server, and
how the outbox gets it there despite SMTP outages, refusals and restarts."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from html import escape
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from api.mail import outbox
from api.settings import Settings
from api.store import database as db
from models import CallRecord, EmailOutbox, OutboxStatus, UserRole
from tests.conftest import _truncate, make_settings
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import (
    Tenant,
    make_batch,
    make_call,
    make_organization,
    make_tenant,
    make_user,
)
from tests.support.smtp import Received, SmtpSink, free_port

T = TypeVar("T")

ADD = """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { id phoneNumber createdAt } }
    ... on AlreadyOnDncError { code }
    ... on NotFoundError { code }
    ... on ValidationError { code field }
  }
}
"""

ENTRY = """
query Entry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id phoneNumber }
}
"""

WAIT_SECONDS = 10.0


# --- helpers -------------------------------------------------------------------------------


async def add(
    gql: GraphQLClient,
    token: str,
    call: CallRecord,
    *,
    batch_id: uuid.UUID | str | None = None,
    phone_number: str | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Call addToDnc for `call` (its own batch and number unless overridden); the result."""
    variables: dict[str, Any] = {
        "phoneNumber": phone_number or call.phone_number,
        "batchId": str(batch_id or call.batch_id),
        "requestUUID": str(call.request_uuid),
        "reason": reason,
        "note": note,
    }
    response = await gql(ADD, {"input": variables}, token=token)
    result: dict[str, Any] = response.data["addToDnc"]
    return result


async def add_ok(
    gql: GraphQLClient, token: str, call: CallRecord, **changes: Any
) -> dict[str, Any]:
    """addToDnc that must succeed; the new entry."""
    result = await add(gql, token, call, **changes)
    entry: dict[str, Any] = assert_union(result, "AddToDncSuccess")["entry"]
    return entry


async def wait_until(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_SECONDS}s waiting for {what}")
        await asyncio.sleep(0.05)


async def outbox_rows(entry_id: str) -> list[EmailOutbox]:
    return list(await EmailOutbox.filter(dnc_entry_id=entry_id).order_by("recipient"))


async def wait_for_rows(
    entry_id: str, condition: Callable[[list[EmailOutbox]], bool], what: str
) -> list[EmailOutbox]:
    """The entry's outbox rows, once `condition` holds for them."""

    async def probe() -> list[EmailOutbox] | None:
        rows = await outbox_rows(entry_id)
        return rows if rows and condition(rows) else None

    return await wait_until(probe, what)


def all_in(status: OutboxStatus) -> Callable[[list[EmailOutbox]], bool]:
    return lambda rows: all(row.status == status for row in rows)


def failed_once(rows: list[EmailOutbox]) -> bool:
    """Every row was tried, failed, and waits for its next attempt."""
    return all(
        row.status == OutboxStatus.PENDING and row.attempts >= 1 and row.last_error for row in rows
    )


def message_to(messages: list[Received], recipient: str) -> Received:
    matching = [m for m in messages if m.recipients == [recipient]]
    assert len(matching) == 1, [m.recipients for m in messages]
    return matching[0]


def assert_message_id(received: Received, row: EmailOutbox) -> None:
    assert received.message["Message-ID"] == f"<{row.id}@dnc-api>"


@asynccontextmanager
async def running_app(
    settings: Settings, *, truncate: bool = False
) -> AsyncIterator[tuple[Starlette, GraphQLClient]]:
    """A real app with its lifespan (ORM and deliverer), built by hand for its own settings."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        if truncate:
            await _truncate()
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as http:
            yield application, GraphQLClient(http)


@asynccontextmanager
async def running_sink(port: int) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink(port=port)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# --- content -------------------------------------------------------------------------------


async def test_each_active_admin_gets_their_own_message(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    second_admin = await make_user(tenant.organization, role=UserRole.ADMIN)

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    rows = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "both emails sent")
    admins = sorted([tenant.admin.email, second_admin.email])
    assert [row.recipient for row in rows] == admins
    messages = smtp.messages()
    assert len(messages) == len(admins)
    for row in rows:
        assert_message_id(message_to(messages, row.recipient), row)


async def test_message_names_everything_about_the_entry(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    batch = await make_batch(tenant.organization, tenant.admin, name="Spring Renewals 2026")
    call = await make_call(
        batch,
        recording_url="https://rec.example.com/calls/7f3a.mp3",
        transcription="Take me off your list, I never want another call.",
    )
    note = "Caller was polite but firm."

    entry = await add_ok(gql, tenant.member_token, call, reason="COMPLAINT", note=note)

    [received] = await smtp.wait_for(1)
    [row] = await outbox_rows(entry["id"])
    number = entry["phoneNumber"]
    created_at = datetime.fromisoformat(entry["createdAt"]).astimezone(UTC)
    assert received.recipients == [tenant.admin.email]
    assert received.sender == settings.mail_from
    assert parseaddr(received.message["From"])[1] == settings.mail_from
    assert number in received.message["Subject"]
    assert_message_id(received, row)
    expected = [
        number,
        "COMPLAINT",
        note,
        str(batch.id),
        "Spring Renewals 2026",
        str(call.request_uuid),
        tenant.member.email,
        created_at.strftime("%Y-%m-%d"),
        created_at.strftime("%H:%M:%S"),
        "https://rec.example.com/calls/7f3a.mp3",
        "Take me off your list, I never want another call.",
    ]
    text, html = received.text(), received.html()
    assert [value for value in expected if value not in text] == []
    assert [value for value in expected if escape(value) not in html] == []


# --- escaping ------------------------------------------------------------------------------


async def test_html_body_escapes_user_supplied_values(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    batch = await make_batch(tenant.organization, tenant.admin, name="<i>Batch</i>")
    transcription = "<script>alert(1)</script><b>x</b>"
    recording_url = "https://rec.example.com/a.mp3?id=1&sig=<x>"
    call = await make_call(batch, transcription=transcription, recording_url=recording_url)
    note = '<img src=x onerror="alert(2)">'

    await add_ok(gql, tenant.member_token, call, note=note)

    [received] = await smtp.wait_for(1)
    html = received.html()
    for raw in ("<script", "<b>x", "<i>Batch", "<img", "sig=<x>"):
        assert raw not in html
    for value in (transcription, recording_url, note, "<i>Batch</i>"):
        assert escape(value) in html
    assert transcription in received.text()


async def test_note_cannot_inject_headers(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    note = "hello\r\nBcc: victim@evil.example\r\nSubject: pwned"

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0], note=note)

    await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email sent")
    [received] = smtp.messages()
    assert received.recipients == [tenant.admin.email]
    message = received.message
    assert message["Bcc"] is None
    assert message.get_all("Subject") == [message["Subject"]]
    assert entry["phoneNumber"] in message["Subject"]
    assert "pwned" not in message["Subject"]
    headers = " ".join(f"{name}: {value}" for name, value in message.items())
    assert "victim@evil.example" not in headers
    assert "Bcc: victim@evil.example" in received.text()


# --- delivery ------------------------------------------------------------------------------


async def test_smtp_down_keeps_the_email_until_the_server_is_back(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    smtp.stop()

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    [row] = await wait_for_rows(entry["id"], failed_once, "a failed first attempt")
    assert row.sent_at is None
    async with running_sink(smtp.port) as revived:
        [received] = await revived.wait_for(1)
        [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email sent")
    assert received.recipients == [tenant.admin.email]
    assert_message_id(received, row)
    assert row.last_error is None


async def test_temporary_failure_is_retried_and_delivered_once(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    smtp.temporary_failure = True

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    [row] = await wait_for_rows(entry["id"], failed_once, "a 451 on the first attempt")
    assert "451" in (row.last_error or "")
    assert smtp.messages() == []
    smtp.temporary_failure = False
    [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the retry sent")
    [received] = smtp.messages()
    assert received.recipients == [tenant.admin.email]
    assert_message_id(received, row)
    assert row.attempts >= 2


async def test_mutation_succeeds_and_queues_while_smtp_fails(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    smtp.temporary_failure = True

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    # The outbox row is committed with the entry, before the response.
    [row] = await outbox_rows(entry["id"])
    assert row.recipient == tenant.admin.email
    assert row.status != OutboxStatus.SENT
    found = await gql(ENTRY, {"phoneNumber": entry["phoneNumber"]}, token=tenant.member_token)
    assert found.data["dncEntry"] == {"id": entry["id"], "phoneNumber": entry["phoneNumber"]}


async def test_refused_address_does_not_hold_back_the_others(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    refused = await make_user(tenant.organization, role=UserRole.ADMIN)
    smtp.refused_recipients.add(refused.email)

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    rows = await wait_for_rows(
        entry["id"],
        lambda rows: {row.status for row in rows} == {OutboxStatus.SENT, OutboxStatus.FAILED},
        "one email sent, one failed",
    )
    by_recipient = {row.recipient: row for row in rows}
    assert by_recipient[tenant.admin.email].status == OutboxStatus.SENT
    failed = by_recipient[refused.email]
    assert failed.status == OutboxStatus.FAILED
    assert "550" in (failed.last_error or "")
    [received] = smtp.messages()
    assert received.recipients == [tenant.admin.email]


async def test_pending_email_of_a_stopped_process_is_delivered_by_the_next(
    database_url: str,
) -> None:
    port = free_port()  # nothing listens here until the second process starts
    settings = make_settings(database_url, port)
    async with running_app(settings, truncate=True) as (_, gql):
        tenant = await make_tenant(settings)
        entry = await add_ok(gql, tenant.member_token, tenant.calls[0])
        await wait_for_rows(entry["id"], failed_once, "a failed first attempt")

    # Between the processes: the row is queued, not held by the stopped process's lease.
    await db.init_orm(database_url)
    try:
        [left] = await outbox_rows(entry["id"])
    finally:
        await db.close_orm()
    assert (left.status, left.locked_until, left.sent_at) == (OutboxStatus.PENDING, None, None)

    async with running_sink(port) as sink, running_app(settings):
        [received] = await sink.wait_for(1)
        [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email sent")
    assert received.recipients == [tenant.admin.email]
    assert entry["phoneNumber"] in received.message["Subject"]
    assert_message_id(received, row)


async def test_expired_sending_lease_is_claimed_again(database_url: str, smtp: SmtpSink) -> None:
    # A long retry delay: after the first failure only an expired lease can make the row due.
    settings = make_settings(database_url, smtp.port, outbox_retry_base_seconds=600)
    smtp.temporary_failure = True
    async with running_app(settings, truncate=True) as (app, gql):
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


async def test_without_smtp_host_the_email_is_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, None)
    caplog.set_level(logging.INFO, logger="api.mail")
    async with running_app(settings, truncate=True) as (_, gql):
        tenant = await make_tenant(settings)
        entry = await add_ok(gql, tenant.member_token, tenant.calls[0], note="logged note")
        [row] = await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the email logged")
    assert row.sent_at is not None
    logged = [r.getMessage() for r in caplog.records if tenant.admin.email in r.getMessage()]
    assert len(logged) == 1, logged
    assert entry["phoneNumber"] in logged[0]
    assert "logged note" in logged[0]
    assert str(tenant.calls[0].request_uuid) in logged[0]


# --- failed adds ---------------------------------------------------------------------------


async def _unknown_batch(gql: GraphQLClient, tenant: Tenant) -> dict[str, Any]:
    return await add(gql, tenant.member_token, tenant.calls[0], batch_id=uuid.uuid4())


async def _other_organizations_batch(gql: GraphQLClient, tenant: Tenant) -> dict[str, Any]:
    other = await make_organization("Other Org")
    call = await make_call(await make_batch(other, await make_user(other, role=UserRole.ADMIN)))
    return await add(gql, tenant.member_token, call)


async def _batch_without_owner(gql: GraphQLClient, tenant: Tenant) -> dict[str, Any]:
    call = await make_call(await make_batch(tenant.organization, None))
    return await add(gql, tenant.member_token, call)


async def _unknown_call(gql: GraphQLClient, tenant: Tenant) -> dict[str, Any]:
    call = await make_call(await make_batch(tenant.organization, tenant.admin))
    return await add(gql, tenant.member_token, call, batch_id=tenant.batch.id)


async def _invalid_number(gql: GraphQLClient, tenant: Tenant) -> dict[str, Any]:
    return await add(gql, tenant.member_token, tenant.calls[0], phone_number="12")


@pytest.mark.parametrize(
    ("attempt", "typename"),
    [
        (_unknown_batch, "NotFoundError"),
        (_other_organizations_batch, "NotFoundError"),
        (_batch_without_owner, "NotFoundError"),
        (_unknown_call, "NotFoundError"),
        (_invalid_number, "ValidationError"),
    ],
    ids=["unknown-batch", "other-org-batch", "owner-missing", "unknown-call", "invalid-number"],
)
async def test_failed_add_writes_no_outbox_row(
    gql: GraphQLClient,
    settings: Settings,
    smtp: SmtpSink,
    attempt: Callable[[GraphQLClient, Tenant], Awaitable[dict[str, Any]]],
    typename: str,
) -> None:
    tenant = await make_tenant(settings)

    assert_union(await attempt(gql, tenant), typename)

    assert await EmailOutbox.all().count() == 0


async def test_duplicate_add_writes_no_second_email(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    first = await add_ok(gql, tenant.member_token, tenant.calls[0])
    await wait_for_rows(first["id"], all_in(OutboxStatus.SENT), "the first email sent")

    again = await add(gql, tenant.admin_token, tenant.calls[1], phone_number=first["phoneNumber"])

    assert_union(again, "AlreadyOnDncError")
    assert await EmailOutbox.all().count() == 1
    assert len(smtp.messages()) == 1


async def test_a_refusal_of_the_message_itself_is_retried_not_dropped(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    """Only a refused recipient is permanent; a 5xx at DATA is usually our configuration."""
    tenant = await make_tenant(settings)
    smtp.refuse_data = True

    entry = await add_ok(gql, tenant.member_token, tenant.calls[0])

    [row] = await wait_for_rows(entry["id"], failed_once, "a 554 at DATA")
    assert "554" in (row.last_error or "")
    smtp.refuse_data = False
    await wait_for_rows(entry["id"], all_in(OutboxStatus.SENT), "the retry sent")
    assert len(smtp.messages()) == 1


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
