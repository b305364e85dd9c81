"""addToDnc over HTTP, row by row of the contract's section 4 table, on both databases: the
entry it adds (ACTIVE, from a voice call, requested when called, with its evidence), each
refusal in its order, one ACTIVE entry per number however many adds race, and the email."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from api.instants import utcnow
from api.settings import Settings
from api.store import database as db
from models import CallRecord, DncEntry, DncEntryStatus, UserRole
from tests.graphql.dnc.results import add, entry_of, moment, written
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import (
    Tenant,
    add_input,
    make_batch,
    make_call,
    make_tenant,
    make_user,
)
from tests.support.operations import ADD
from tests.support.smtp import SmtpSink


async def test_added(gql: GraphQLClient, tenant: Tenant, smtp: SmtpSink) -> None:
    call = tenant.calls[0]
    digits = call.phone_number[1:]
    spelled = f"+{digits[0]} {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
    result = await add(
        gql,
        tenant.member_token,
        add_input(tenant, phoneNumber=spelled, reason="COMPLAINT", note="Asked twice."),
    )
    assert_union(result, "AddToDncSuccess")
    assert (result["success"], result["statusCode"]) == (True, 200)
    entry = result["entry"]
    assert entry["phoneNumber"] == call.phone_number
    assert (entry["reason"], entry["note"]) == ("COMPLAINT", "Asked twice.")
    assert entry["addedBy"] == {
        "id": str(tenant.member.id),
        "email": tenant.member.email,
        "name": tenant.member.name,
        "role": "MEMBER",
        "active": True,
    }
    assert entry["batch"] == {"id": str(tenant.batch.id), "name": tenant.batch.name}
    assert entry["callRecord"]["requestUUID"] == str(call.request_uuid)
    assert entry["recordingUrl"] == call.recording_url
    assert entry["transcription"] == call.transcription
    assert await written() == (1, 1, 1)


async def test_added_entry_keeps_its_evidence_when_the_call_log_is_purged(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    result = await add(gql, tenant.admin_token, add_input(tenant))
    assert_union(result, "AddToDncSuccess")
    await CallRecord.filter(id=tenant.calls[0].id).delete()
    entry = await entry_of(gql, tenant.admin_token, tenant.calls[0].phone_number)
    assert entry is not None
    assert (entry["recordingUrl"], entry["transcription"], entry["callRecord"]) == (
        tenant.calls[0].recording_url,
        tenant.calls[0].transcription,
        None,
    )


async def test_added_entry_is_active_from_a_voice_call_requested_when_called(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    result = await add(gql, tenant.member_token, add_input(tenant))
    entry = assert_union(result, "AddToDncSuccess")["entry"]
    assert entry["channel"] == "VOICE_CALL"
    assert moment(entry["requestedAt"]) == datetime(2026, 11, 2, 15, 4, 5, tzinfo=UTC)
    assert entry["status"] == "ACTIVE"
    assert entry["expiresAt"] is None
    assert (entry["removedAt"], entry["removedBy"], entry["removalReason"]) == (None, None, None)
    assert await entry_of(gql, tenant.member_token, tenant.calls[0].phone_number) == entry


async def test_requested_at_is_now_when_the_call_has_no_time(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    await CallRecord.filter(id=tenant.calls[0].id).update(called_at=None)
    before = utcnow()
    result = await add(gql, tenant.admin_token, add_input(tenant))
    after = utcnow()
    entry = assert_union(result, "AddToDncSuccess")["entry"]
    assert before <= moment(entry["requestedAt"]) <= after


async def test_add_sends_email(gql: GraphQLClient, settings: Settings, smtp: SmtpSink) -> None:
    tenant = await make_tenant(settings)
    call = tenant.calls[0]
    result = await add(gql, tenant.member_token, add_input(tenant, call))
    assert_union(result, "AddToDncSuccess")
    messages = await smtp.wait_for(1)
    assert messages[0].recipients == [tenant.admin.email]


@pytest.mark.parametrize(
    "phone_number",
    ["", "   ", "not a number", "+1 212 555 12a4", "12345", "+1 212 555 12345", "+999 1234 5678"],
)
async def test_phone_number_invalid(gql: GraphQLClient, tenant: Tenant, phone_number: str) -> None:
    result = await add(gql, tenant.admin_token, add_input(tenant, phoneNumber=phone_number))
    assert_union(result, "ValidationError")
    assert (result["success"], result["statusCode"]) == (False, 400)
    assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "phoneNumber")
    assert result["message"]
    assert await written() == (0, 0, 0)


async def test_note_over_its_bound(gql: GraphQLClient, tenant: Tenant) -> None:
    result = await add(gql, tenant.admin_token, add_input(tenant, note="x" * 2001))
    assert_union(result, "ValidationError")
    assert (result["statusCode"], result["code"], result["field"]) == (
        400,
        "VALIDATION_FAILED",
        "note",
    )
    assert await written() == (0, 0, 0)
    result = await add(gql, tenant.admin_token, add_input(tenant, note="nul \x00 byte"))
    assert (result["__typename"], result["field"]) == ("ValidationError", "note")
    assert await written() == (0, 0, 0)
    result = await add(gql, tenant.admin_token, add_input(tenant, note="x" * 2000))
    assert_union(result, "AddToDncSuccess")


async def test_already_on_the_list(gql: GraphQLClient, tenant: Tenant) -> None:
    first = await add(gql, tenant.admin_token, add_input(tenant))
    again = await add(
        gql,
        tenant.member_token,
        add_input(tenant, tenant.calls[1], phoneNumber="00" + tenant.calls[0].phone_number[1:]),
    )
    assert_union(again, "AlreadyOnDncError")
    assert (again["success"], again["statusCode"], again["code"]) == (False, 400, "ALREADY_ON_DNC")
    assert again["entry"] == first["entry"]
    assert await written() == (1, 1, 1)


async def test_batch_missing_or_another_organizations(
    gql: GraphQLClient, tenant: Tenant, other: Tenant
) -> None:
    missing = await add(gql, tenant.admin_token, add_input(tenant, batchId=str(uuid.uuid4())))
    foreign = await add(
        gql,
        tenant.admin_token,
        add_input(
            tenant, batchId=str(other.batch.id), requestUUID=str(other.calls[0].request_uuid)
        ),
    )
    malformed = await add(gql, tenant.admin_token, add_input(tenant, batchId="batch-1"))
    for result in (missing, foreign, malformed):
        assert_union(result, "NotFoundError")
        assert (result["success"], result["statusCode"], result["code"]) == (
            False,
            404,
            "BATCH_NOT_FOUND",
        )
    assert missing == foreign == malformed
    assert await written() == (0, 0, 0)


async def test_owner_missing(gql: GraphQLClient, tenant: Tenant) -> None:
    orphan = await make_batch(tenant.organization, owner=None, name="Owner deleted")
    call = await make_call(orphan)
    result = await add(
        gql,
        tenant.admin_token,
        add_input(tenant, call, batchId=str(orphan.id)),
    )
    assert_union(result, "NotFoundError")
    assert (result["statusCode"], result["code"]) == (404, "USER_NOT_FOUND")
    assert await written() == (0, 0, 0)


async def test_call_record_not_in_that_batch(gql: GraphQLClient, tenant: Tenant) -> None:
    second = await make_batch(tenant.organization, tenant.admin, name="Other batch")
    elsewhere = await make_call(second)
    for request_uuid in (uuid.uuid4(), elsewhere.request_uuid):
        result = await add(
            gql, tenant.admin_token, add_input(tenant, requestUUID=str(request_uuid))
        )
        assert_union(result, "NotFoundError")
        assert (result["statusCode"], result["code"]) == (404, "CALL_RECORD_NOT_FOUND")
    assert await written() == (0, 0, 0)


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"input": {"batchId": "b", "requestUUID": str(uuid.uuid4())}}, "phoneNumber"),
        ({"input": {"phoneNumber": "12125550100", "batchId": "b", "requestUUID": "nope"}}, "UUID"),
        (
            {
                "input": {
                    "phoneNumber": 12125550100,
                    "batchId": "b",
                    "requestUUID": str(uuid.uuid4()),
                }
            },
            "String",
        ),
        (
            {
                "input": {
                    "phoneNumber": "1",
                    "batchId": "b",
                    "requestUUID": str(uuid.uuid4()),
                    "reason": "ANGRY",
                }
            },
            "DncReason",
        ),
    ],
)
async def test_missing_field_or_wrong_type_is_a_graphql_validation_error(
    gql: GraphQLClient, tenant: Tenant, variables: dict[str, Any], fragment: str
) -> None:
    response = await gql(ADD, variables, token=tenant.admin_token)
    assert response.body.get("data") is None
    assert len(response.errors) == 1
    assert fragment in response.errors[0]["message"]
    assert response.error_codes() != ["INTERNAL_SERVER_ERROR"]
    assert await written() == (0, 0, 0)


async def test_first_applicable_case_wins(gql: GraphQLClient, tenant: Tenant) -> None:
    """Order: phone number, note, batch, owner, call record, duplicate."""
    await add(gql, tenant.admin_token, add_input(tenant))
    orphan = await make_batch(tenant.organization, owner=None)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"phoneNumber": "bad", "note": "x" * 3000, "batchId": str(uuid.uuid4())}, "phoneNumber"),
        ({"note": "x" * 3000, "batchId": str(uuid.uuid4())}, "note"),
        ({"batchId": str(uuid.uuid4()), "requestUUID": str(uuid.uuid4())}, "BATCH_NOT_FOUND"),
        ({"batchId": str(orphan.id), "requestUUID": str(uuid.uuid4())}, "USER_NOT_FOUND"),
        ({"requestUUID": str(uuid.uuid4())}, "CALL_RECORD_NOT_FOUND"),
    ]
    for changes, expected in cases:
        result = await add(gql, tenant.admin_token, add_input(tenant, **changes))
        assert expected in (result.get("field"), result.get("code")), (changes, result)
    assert await written() == (1, 1, 1)


async def test_cross_tenant_add_is_answered_as_if_nothing_existed(
    gql: GraphQLClient, tenant: Tenant, other: Tenant
) -> None:
    on_a = await add(gql, tenant.admin_token, add_input(tenant))
    assert_union(on_a, "AddToDncSuccess")
    # B's own list is separate: the same number is new there.
    on_b = await add(
        gql,
        other.admin_token,
        add_input(other, other.calls[0], phoneNumber=tenant.calls[0].phone_number),
    )
    assert_union(on_b, "AddToDncSuccess")
    assert on_b["entry"]["id"] != on_a["entry"]["id"]


async def test_unexpected_failure_is_masked_logged_and_writes_nothing(
    gql: GraphQLClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    conn = db.connection()
    await conn.execute_script("ALTER TABLE email_outbox RENAME TO email_outbox_away")
    try:
        with caplog.at_level(logging.ERROR, logger="api.graphql"):
            response = await gql(
                ADD,
                add_input(tenant),
                token=tenant.admin_token,
                headers={"X-Request-ID": "req-boom-1"},
            )
    finally:
        await conn.execute_script("ALTER TABLE email_outbox_away RENAME TO email_outbox")
    assert response.status == 200
    assert response.error_codes() == ["INTERNAL_SERVER_ERROR"]
    message = response.errors[0]["message"]
    assert message == "Internal server error."
    assert response.headers["x-request-id"] == "req-boom-1"
    logged = [r for r in caplog.records if r.name == "api.graphql" and r.exc_info]
    assert logged, "the unexpected error must be logged with its traceback"
    assert await written() == (0, 0, 0)


async def test_twenty_concurrent_adds_of_one_number(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpSink, dialect: str
) -> None:
    second_admin = await make_user(tenant.organization, role=UserRole.ADMIN)
    results = await asyncio.gather(
        *(
            add(
                gql,
                tenant.admin_token,
                add_input(
                    tenant,
                    tenant.calls[i % len(tenant.calls)],
                    phoneNumber=tenant.calls[0].phone_number,
                ),
            )
            for i in range(20)
        )
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["AddToDncSuccess"] + ["AlreadyOnDncError"] * 19
    winner = next(r for r in results if r["__typename"] == "AddToDncSuccess")
    assert {r["entry"]["id"] for r in results} == {winner["entry"]["id"]}
    assert await DncEntry.all().count() == 1
    received = await smtp.wait_for(2)
    await asyncio.sleep(0.5)  # let any wrongly duplicated email arrive before counting
    assert sorted(m.recipients[0] for m in smtp.messages()) == sorted(
        [tenant.admin.email, second_admin.email]
    )
    assert len(received) == 2


async def test_the_database_itself_keeps_one_active_entry_per_number_and_organization(
    tenant: Tenant, other: Tenant
) -> None:
    """Not only a check in the service: a second ACTIVE row is refused by the schema."""

    def entry(organization_id: uuid.UUID, status: DncEntryStatus) -> DncEntry:
        now = datetime.now(UTC)
        return DncEntry(
            id=uuid.uuid4(),
            organization_id=organization_id,
            phone_number="+12125550100",
            created_at=now,
            requested_at=now,
            status=status,
        )

    await entry(tenant.organization.id, DncEntryStatus.ACTIVE).save()
    await entry(other.organization.id, DncEntryStatus.ACTIVE).save()
    await entry(tenant.organization.id, DncEntryStatus.REMOVED).save()
    await entry(tenant.organization.id, DncEntryStatus.EXPIRED).save()
    with pytest.raises(IntegrityError):
        await entry(tenant.organization.id, DncEntryStatus.ACTIVE).save()
    assert await DncEntry.all().count() == 4


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expiresAt": "9999-12-31T23:00:00-10:00"}, "expiresAt"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
        ({"note": "lone \ud800 surrogate"}, "note"),
        ({"note": "nul \x00 byte"}, "note"),
    ],
)
async def test_unstorable_values_are_validation_errors(
    gql: GraphQLClient, tenant: Tenant, changes: dict[str, Any], field: str
) -> None:
    result = await add(gql, tenant.admin_token, add_input(tenant, **changes))
    assert_union(result, "ValidationError")
    assert (result["statusCode"], result["field"]) == (400, field)
    assert await written() == (0, 0, 0)
