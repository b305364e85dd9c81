"""What each admin receives when a number is added (contract section 5): a message of their own
naming everything about the entry, with user-supplied values escaped and unable to add headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from html import escape

from api.settings import Settings
from models import OutboxStatus, UserRole
from tests.mail.emails import (
    add_ok,
    all_in,
    assert_message_id,
    message_to,
    outbox_rows,
    wait_for_rows,
)
from tests.support.client import GraphQLClient
from tests.support.factories import make_batch, make_call, make_tenant, make_user
from tests.support.smtp import SmtpSink


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
