"""Delivery of the admin email (contract section 5): it waits out an SMTP outage and goes out
once the server is back; a refused address does not hold back the others; without an SMTP host
it is logged. The add itself never waits for the mail server, and only a new entry writes an
email. A failed attempt's retry: tests/mail/test_smtp_faults.py."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from api.settings import Settings
from models import EmailOutbox, OutboxStatus, UserRole
from tests.conftest import make_settings
from tests.mail.emails import (
    add,
    add_ok,
    all_in,
    assert_entry_stands,
    assert_message_id,
    failed_once,
    outbox_rows,
    running_sink,
    wait_for_rows,
)
from tests.support.app import serve
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import (
    Tenant,
    make_batch,
    make_call,
    make_organization,
    make_tenant,
    make_user,
)
from tests.support.smtp import SmtpSink


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
    await assert_entry_stands(gql, tenant, entry)


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


async def test_without_smtp_host_the_email_is_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, None)
    caplog.set_level(logging.INFO, logger="api.mail")
    async with serve(settings, emptied=True) as http:
        gql = GraphQLClient(http)
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
