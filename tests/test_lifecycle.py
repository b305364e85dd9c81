"""The list's whole lifecycle (contract part 2): entry state, removal, expiry, bulk adds, the
event log, and what stays consistent when they race, on both databases."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from api.settings import Settings
from models import (
    CallRecord,
    DncAction,
    DncChannel,
    DncEntry,
    DncEntryStatus,
    DncEvent,
    EmailOutbox,
    User,
    UserRole,
)
from tests.support.client import GraphQLClient, assert_error_code, assert_union
from tests.support.factories import Tenant, add_input, make_tenant, make_user, token_for
from tests.support.smtp import SmtpSink

ENTRY_FIELDS = """
fragment Entry on DncEntry {
  id phoneNumber reason note channel requestedAt expiresAt status createdAt
  removedAt removalReason
  addedBy { id }
  removedBy { id email }
}
"""

ADD = (
    """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { ...Entry } }
    ... on AlreadyOnDncError { code entry { ...Entry } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}
"""
    + ENTRY_FIELDS
)

REMOVE = (
    """
mutation Remove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on RemoveFromDncSuccess { entry { ...Entry } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}
"""
    + ENTRY_FIELDS
)

ADD_MANY = (
    """
mutation AddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    success statusCode message code field
    added alreadyOnDnc invalid
    items { phoneNumber status message entry { ...Entry } }
  }
}
"""
    + ENTRY_FIELDS
)

ADD_MANY_COUNTS = """
mutation AddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    success statusCode code field added alreadyOnDnc invalid
    items { status }
  }
}
"""

ENTRY = (
    """
query Entry($phoneNumber: String!) { dncEntry(phoneNumber: $phoneNumber) { ...Entry } }
"""
    + ENTRY_FIELDS
)

CHECK = """
query Check($phoneNumbers: [String!]!) { dncCheck(phoneNumbers: $phoneNumbers) { blocked } }
"""

ENTRIES = """
query Entries($filter: DncEntryFilter) {
  dncEntries(first: 500, filter: $filter) {
    totalCount
    edges { node { id phoneNumber status channel } }
  }
}
"""

EVENT_FIELDS = """
fragment Event on DncEvent {
  id action phoneNumber at channel reason
  actor { id }
  entry { id status }
}
"""

HISTORY = (
    """
query History($phoneNumber: String!) { dncHistory(phoneNumber: $phoneNumber) { ...Event } }
"""
    + EVENT_FIELDS
)

AUDIT = (
    """
query Audit($first: Int, $after: String, $filter: DncAuditFilter) {
  dncAuditLog(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...Event } }
  }
}
"""
    + EVENT_FIELDS
)

WAIT_SECONDS = 10.0

LOCK_WAITERS = """
SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation
WHERE pg_class.relname = $1 AND NOT pg_locks.granted
"""


# --- helpers -------------------------------------------------------------------------------


def number(i: int, area: str = "646") -> str:
    """A valid US number in E.164 form, distinct from the factories' call numbers."""
    return f"+1{area}555{i:04d}"


def spelled(e164: str) -> str:
    """Another spelling of a +1 number: "+1 (646) 555-0001"."""
    digits = e164[1:]
    return f"+{digits[0]} ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def iso(value: datetime) -> str:
    return value.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


async def add(gql: GraphQLClient, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(ADD, variables, token=token)).data["addToDnc"]
    return result


async def add_number(gql: GraphQLClient, tenant: Tenant, phone_number: str, **changes: Any) -> str:
    """Put `phone_number` on the tenant's list through addToDnc; the new entry's id."""
    result = await add(
        gql, tenant.admin_token, add_input(tenant, phoneNumber=phone_number, **changes)
    )
    entry_id: str = assert_union(result, "AddToDncSuccess")["entry"]["id"]
    return entry_id


async def remove(
    gql: GraphQLClient, token: str, phone_number: str, reason: str = "Consent given again."
) -> dict[str, Any]:
    response = await gql(
        REMOVE, {"input": {"phoneNumber": phone_number, "reason": reason}}, token=token
    )
    result: dict[str, Any] = response.data["removeFromDnc"]
    return result


async def add_many(
    gql: GraphQLClient,
    token: str,
    entries: list[dict[str, Any]],
    channel: str = "MANUAL",
    document: str = ADD_MANY,
) -> dict[str, Any]:
    response = await gql(document, {"input": {"channel": channel, "entries": entries}}, token=token)
    result: dict[str, Any] = response.data["addManyToDnc"]
    return result


async def blocked(gql: GraphQLClient, token: str, numbers: list[str]) -> list[str]:
    response = await gql(CHECK, {"phoneNumbers": numbers}, token=token)
    result: list[str] = response.data["dncCheck"]["blocked"]
    return result


async def entry_of(gql: GraphQLClient, token: str, phone_number: str) -> dict[str, Any] | None:
    response = await gql(ENTRY, {"phoneNumber": phone_number}, token=token)
    result: dict[str, Any] | None = response.data["dncEntry"]
    return result


async def history(gql: GraphQLClient, token: str, phone_number: str) -> list[dict[str, Any]]:
    response = await gql(HISTORY, {"phoneNumber": phone_number}, token=token)
    result: list[dict[str, Any]] = response.data["dncHistory"]
    return result


async def entries(
    gql: GraphQLClient, token: str, variables: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    connection = (await gql(ENTRIES, variables, token=token)).data["dncEntries"]
    nodes = [edge["node"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(nodes)
    return nodes


async def audit(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(AUDIT, variables, token=token)).data["dncAuditLog"]
    return result


async def audit_nodes(gql: GraphQLClient, token: str, **filter: Any) -> list[dict[str, Any]]:
    page = await audit(gql, token, first=500, filter=filter)
    assert page["totalCount"] == len(page["edges"])
    return [edge["node"] for edge in page["edges"]]


async def wait_until_unblocked(gql: GraphQLClient, token: str, phone_number: str) -> None:
    """Poll dncCheck until the number no longer blocks; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while await blocked(gql, token, [phone_number]):
        assert time.monotonic() < deadline, f"{phone_number} still blocked"
        await asyncio.sleep(0.1)


async def stored(phone_number: str, organization_id: uuid.UUID) -> list[DncEntry]:
    return list(
        await DncEntry.filter(organization_id=organization_id, phone_number=phone_number).order_by(
            "created_at"
        )
    )


async def written() -> tuple[int, int, int]:
    """Entries, events and outbox rows in the whole database."""
    return (
        await DncEntry.all().count(),
        await DncEvent.all().count(),
        await EmailOutbox.all().count(),
    )


def actions(events: list[dict[str, Any]]) -> list[str]:
    return [event["action"] for event in events]


@pytest.fixture
async def tenant(app: object, settings: Settings) -> Tenant:
    return await make_tenant(settings, "Tenant A")


@pytest.fixture
async def other(app: object, settings: Settings) -> Tenant:
    return await make_tenant(settings, "Tenant B")


@pytest.fixture
async def second_admin(tenant: Tenant) -> User:
    return await make_user(tenant.organization, role=UserRole.ADMIN)


# --- entry state and evidence (section 7) ---------------------------------------------------


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
    before = now()
    result = await add(gql, tenant.admin_token, add_input(tenant))
    after = now()
    entry = assert_union(result, "AddToDncSuccess")["entry"]
    assert before <= moment(entry["requestedAt"]) <= after


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(0)], ids=["past", "now"])
async def test_expires_at_not_in_the_future_is_refused(
    gql: GraphQLClient, tenant: Tenant, offset: timedelta
) -> None:
    result = await add(gql, tenant.admin_token, add_input(tenant, expiresAt=iso(now() + offset)))
    assert_union(result, "ValidationError")
    assert (result["success"], result["statusCode"]) == (False, 400)
    assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "expiresAt")
    assert await written() == (0, 0, 0)


async def test_expires_at_in_the_future_is_stored(gql: GraphQLClient, tenant: Tenant) -> None:
    expires_at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = await add(gql, tenant.admin_token, add_input(tenant, expiresAt=iso(expires_at)))
    entry = assert_union(result, "AddToDncSuccess")["entry"]
    assert moment(entry["expiresAt"]) == expires_at
    assert entry["status"] == "ACTIVE"
    (row,) = await stored(tenant.calls[0].phone_number, tenant.organization.id)
    assert row.expires_at == expires_at
    assert await blocked(gql, tenant.admin_token, [tenant.calls[0].phone_number]) == [
        tenant.calls[0].phone_number
    ]


# --- removeFromDnc --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [lambda n: n, spelled, lambda n: "00" + n[1:], lambda n: n[1:]],
    ids=["e164", "formatted", "00-prefix", "no-plus"],
)
async def test_remove(gql: GraphQLClient, tenant: Tenant, spelling: Callable[[str], str]) -> None:
    phone_number = tenant.calls[0].phone_number
    entry_id = await add_number(gql, tenant, phone_number)
    before = now()
    result = await remove(gql, tenant.admin_token, spelling(phone_number), "Opted back in.")
    after = now()
    assert_union(result, "RemoveFromDncSuccess")
    assert (result["success"], result["statusCode"]) == (True, 200)
    entry = result["entry"]
    assert (entry["id"], entry["phoneNumber"], entry["status"]) == (
        entry_id,
        phone_number,
        "REMOVED",
    )
    assert before <= moment(entry["removedAt"]) <= after
    assert entry["removedBy"] == {"id": str(tenant.admin.id), "email": tenant.admin.email}
    assert entry["removalReason"] == "Opted back in."
    # Soft: the row stays, listed under REMOVED.
    (row,) = await stored(phone_number, tenant.organization.id)
    assert (str(row.id), row.status) == (entry_id, DncEntryStatus.REMOVED)
    removed = await entries(gql, tenant.admin_token, {"filter": {"status": "REMOVED"}})
    assert [(n["id"], n["status"]) for n in removed] == [(entry_id, "REMOVED")]
    assert await entries(gql, tenant.admin_token) == []


async def test_remove_reason_at_its_bound(gql: GraphQLClient, tenant: Tenant) -> None:
    await add_number(gql, tenant, tenant.calls[0].phone_number)
    result = await remove(gql, tenant.admin_token, tenant.calls[0].phone_number, "r" * 2000)
    assert assert_union(result, "RemoveFromDncSuccess")["entry"]["removalReason"] == "r" * 2000


@pytest.mark.parametrize("reason", ["", "   ", "r" * 2001], ids=["empty", "blank", "too-long"])
async def test_remove_reason_invalid(gql: GraphQLClient, tenant: Tenant, reason: str) -> None:
    await add_number(gql, tenant, tenant.calls[0].phone_number)
    before = await written()
    result = await remove(gql, tenant.admin_token, tenant.calls[0].phone_number, reason)
    assert_union(result, "ValidationError")
    assert (result["success"], result["statusCode"]) == (False, 400)
    assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "reason")
    assert await written() == before
    (row,) = await stored(tenant.calls[0].phone_number, tenant.organization.id)
    assert row.status == DncEntryStatus.ACTIVE


@pytest.mark.parametrize("phone_number", ["", "not a number", "12345"])
async def test_remove_invalid_number(gql: GraphQLClient, tenant: Tenant, phone_number: str) -> None:
    result = await remove(gql, tenant.admin_token, phone_number)
    assert_union(result, "ValidationError")
    assert (result["statusCode"], result["code"], result["field"]) == (
        400,
        "VALIDATION_FAILED",
        "phoneNumber",
    )


async def test_remove_what_is_not_on_this_list_is_one_not_found(
    gql: GraphQLClient, tenant: Tenant, other: Tenant
) -> None:
    never = number(1)
    already_removed = number(2)
    foreign = number(3)
    lapsed = number(4)
    await add_number(gql, tenant, already_removed)
    assert_union(await remove(gql, tenant.admin_token, already_removed), "RemoveFromDncSuccess")
    await add_number(gql, other, foreign)
    await DncEntry.create(
        id=uuid.uuid4(),
        organization_id=tenant.organization.id,
        phone_number=lapsed,
        created_at=now() - timedelta(days=2),
        requested_at=now() - timedelta(days=2),
        expires_at=now() - timedelta(days=1),
        channel=DncChannel.MANUAL,
        status=DncEntryStatus.ACTIVE,
    )
    outbox_before = await EmailOutbox.all().count()
    results = [
        await remove(gql, tenant.admin_token, phone_number)
        for phone_number in (never, already_removed, foreign, lapsed)
    ]
    for result in results:
        assert_union(result, "NotFoundError")
        assert (result["success"], result["statusCode"], result["code"]) == (
            False,
            404,
            "ENTRY_NOT_FOUND",
        )
    assert all(result == results[0] for result in results), results
    # Nothing written (the sweep may record the lapsed entry's expiry meanwhile: that is all).
    assert await EmailOutbox.all().count() == outbox_before
    assert await DncEvent.filter(action=DncAction.REMOVED).count() == 1
    assert await DncEntry.filter(status=DncEntryStatus.REMOVED).count() == 1
    (foreign_row,) = await stored(foreign, other.organization.id)
    assert foreign_row.status == DncEntryStatus.ACTIVE


async def test_remove_is_for_admins_only(gql: GraphQLClient, tenant: Tenant) -> None:
    phone_number = tenant.calls[0].phone_number
    await add_number(gql, tenant, phone_number)
    before = await written()
    variables = {"input": {"phoneNumber": phone_number, "reason": "Because."}}
    forbidden = await gql(REMOVE, variables, token=tenant.member_token)
    assert_error_code(forbidden, "FORBIDDEN")
    assert forbidden.body.get("data") is None
    anonymous = await gql(REMOVE, variables)
    assert_error_code(anonymous, "UNAUTHENTICATED")
    assert await written() == before
    (row,) = await stored(phone_number, tenant.organization.id)
    assert row.status == DncEntryStatus.ACTIVE
    assert await blocked(gql, tenant.member_token, [phone_number]) == [phone_number]


# --- only ACTIVE entries block ---------------------------------------------------------------


async def test_removed_number_stops_blocking_and_can_be_added_again(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    phone_number = tenant.calls[0].phone_number
    first_id = await add_number(gql, tenant, phone_number, reason="COMPLAINT")
    assert_union(
        await remove(gql, tenant.admin_token, phone_number, "Wrong person."),
        "RemoveFromDncSuccess",
    )
    assert await blocked(gql, tenant.member_token, [phone_number, spelled(phone_number)]) == []
    assert await entry_of(gql, tenant.member_token, phone_number) is None

    again = await add(
        gql,
        tenant.member_token,
        add_input(tenant, tenant.calls[1], phoneNumber=spelled(phone_number)),
    )
    second = assert_union(again, "AddToDncSuccess")["entry"]
    assert second["id"] != first_id
    assert second["status"] == "ACTIVE"
    rows = await stored(phone_number, tenant.organization.id)
    assert [(str(r.id), r.status) for r in rows] == [
        (first_id, DncEntryStatus.REMOVED),
        (second["id"], DncEntryStatus.ACTIVE),
    ]
    assert await blocked(gql, tenant.member_token, [phone_number]) == [phone_number]
    assert (await entry_of(gql, tenant.member_token, phone_number) or {}).get("id") == second["id"]

    # Members may read the history; oldest first.
    events = await history(gql, tenant.member_token, spelled(phone_number))
    assert [
        (e["action"], e["actor"]["id"], e["channel"], e["reason"], e["entry"]["id"]) for e in events
    ] == [
        ("ADDED", str(tenant.admin.id), "VOICE_CALL", "COMPLAINT", first_id),
        ("REMOVED", str(tenant.admin.id), "VOICE_CALL", "Wrong person.", first_id),
        ("ADDED", str(tenant.member.id), "VOICE_CALL", None, second["id"]),
    ]
    assert {e["phoneNumber"] for e in events} == {phone_number}
    times = [moment(e["at"]) for e in events]
    assert times == sorted(times)


# --- expiry ----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["addToDnc", "addManyToDnc"])
async def test_entry_expires_when_its_time_passes(
    gql: GraphQLClient, tenant: Tenant, via: str
) -> None:
    phone_number = tenant.calls[0].phone_number
    expires_at = now() + timedelta(seconds=1.5)
    if via == "addToDnc":
        first_id = await add_number(gql, tenant, phone_number, expiresAt=iso(expires_at))
    else:
        result = await add_many(
            gql,
            tenant.admin_token,
            [{"phoneNumber": phone_number, "expiresAt": iso(expires_at)}],
            channel="WEB",
        )
        assert result["added"] == 1, result
        first_id = result["items"][0]["entry"]["id"]
    assert await blocked(gql, tenant.member_token, [phone_number]) == [phone_number]

    await wait_until_unblocked(gql, tenant.member_token, phone_number)
    assert now() >= expires_at
    assert await entry_of(gql, tenant.member_token, phone_number) is None
    expired = await entries(gql, tenant.admin_token, {"filter": {"status": "EXPIRED"}})
    assert [(n["id"], n["status"]) for n in expired] == [(first_id, "EXPIRED")]
    assert await entries(gql, tenant.admin_token) == []

    events = await history(gql, tenant.member_token, phone_number)
    assert actions(events) == ["ADDED", "EXPIRED"]
    assert moment(events[1]["at"]) == expires_at
    assert events[1]["actor"] is None
    assert events[1]["entry"] == {"id": first_id, "status": "EXPIRED"}

    again = await add(
        gql, tenant.admin_token, add_input(tenant, tenant.calls[1], phoneNumber=phone_number)
    )
    assert assert_union(again, "AddToDncSuccess")["entry"]["id"] != first_id
    rows = await stored(phone_number, tenant.organization.id)
    assert [r.status for r in rows] == [DncEntryStatus.EXPIRED, DncEntryStatus.ACTIVE]
    assert actions(await history(gql, tenant.member_token, phone_number)) == [
        "ADDED",
        "EXPIRED",
        "ADDED",
    ]


async def test_stale_active_row_reads_expired_and_its_expiry_is_recorded_once(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """A row the sweep has not reached yet: stored ACTIVE, its expiry already past."""
    phone_number = number(42)
    expires_at = now() - timedelta(hours=1, microseconds=123)
    row = await DncEntry.create(
        id=uuid.uuid4(),
        organization_id=tenant.organization.id,
        phone_number=phone_number,
        created_at=expires_at - timedelta(days=30),
        requested_at=expires_at - timedelta(days=30),
        expires_at=expires_at,
        channel=DncChannel.MANUAL,
        status=DncEntryStatus.ACTIVE,
        added_by_id=tenant.admin.id,
    )
    await DncEvent.create(
        id=uuid.uuid4(),
        organization_id=tenant.organization.id,
        entry_id=row.id,
        phone_number=phone_number,
        action=DncAction.ADDED,
        at=row.created_at,
        actor_id=tenant.admin.id,
        channel=DncChannel.MANUAL,
    )
    assert await blocked(gql, tenant.admin_token, [phone_number]) == []
    assert await entry_of(gql, tenant.admin_token, phone_number) is None

    first = await history(gql, tenant.admin_token, phone_number)
    second = await history(gql, tenant.admin_token, phone_number)
    concurrent = await asyncio.gather(
        *(history(gql, tenant.admin_token, phone_number) for _ in range(5))
    )
    assert actions(first) == ["ADDED", "EXPIRED"]
    assert moment(first[1]["at"]) == expires_at
    assert all(events == first for events in [second, *concurrent])
    assert await DncEvent.filter(entry_id=row.id, action=DncAction.EXPIRED).count() == 1
    logged = await audit_nodes(gql, tenant.admin_token, action="EXPIRED")
    assert [(e["phoneNumber"], e["entry"]["id"]) for e in logged] == [(phone_number, str(row.id))]
    await row.refresh_from_db()
    assert row.status == DncEntryStatus.EXPIRED


# --- addManyToDnc ----------------------------------------------------------------------------


async def test_add_many_answers_each_entry_in_input_order(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    existing_number = number(10)
    existing_id = await add_number(gql, tenant, existing_number)
    requested_at = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    later = iso(now() + timedelta(days=365))
    given = [
        {"phoneNumber": spelled(number(1)), "reason": "LEGAL_REQUEST", "note": "By letter."},
        {"phoneNumber": "00" + number(1)[1:]},
        {"phoneNumber": existing_number[1:]},
        {"phoneNumber": spelled(existing_number)},
        {"phoneNumber": "12345"},
        {"phoneNumber": number(3), "note": "n" * 2001},
        {"phoneNumber": number(4), "expiresAt": iso(now() - timedelta(minutes=1))},
        {"phoneNumber": number(5), "requestedAt": iso(now() + timedelta(hours=1))},
        {"phoneNumber": number(6), "requestedAt": iso(requested_at), "expiresAt": later},
    ]
    before = now()
    result = await add_many(gql, tenant.admin_token, given, channel="SMS")
    after = now()
    assert (result["success"], result["statusCode"], result["code"], result["field"]) == (
        True,
        200,
        None,
        None,
    )
    assert (result["added"], result["alreadyOnDnc"], result["invalid"]) == (2, 1, 4)
    items = result["items"]
    assert [item["phoneNumber"] for item in items] == [g["phoneNumber"] for g in given]
    assert [item["status"] for item in items] == [
        "ADDED",
        "ADDED",
        "ALREADY_ON_DNC",
        "ALREADY_ON_DNC",
        "INVALID",
        "INVALID",
        "INVALID",
        "INVALID",
        "ADDED",
    ]
    for item in items:
        if item["status"] == "INVALID":
            assert item["entry"] is None
            assert item["message"]
        else:
            assert item["entry"] is not None
            assert item["message"] is None
    assert "2,000" in items[5]["message"] or "2000" in items[5]["message"]

    first, duplicate, existing, existing_again, *_, dated = (item["entry"] for item in items)
    assert duplicate == first
    assert existing == existing_again
    assert existing["id"] == existing_id
    assert existing["channel"] == "VOICE_CALL"
    assert (first["phoneNumber"], first["channel"], first["status"]) == (number(1), "SMS", "ACTIVE")
    assert (first["reason"], first["note"]) == ("LEGAL_REQUEST", "By letter.")
    assert before <= moment(first["requestedAt"]) <= after
    assert first["addedBy"] == {"id": str(tenant.admin.id)}
    assert moment(dated["requestedAt"]) == requested_at
    assert moment(dated["expiresAt"]) == moment(later)

    # What was stored reads back the same.
    for entry in (first, dated):
        assert await entry_of(gql, tenant.member_token, entry["phoneNumber"]) == entry
    assert await blocked(gql, tenant.member_token, [number(n) for n in (1, 3, 4, 5, 6, 10)]) == [
        number(1),
        number(6),
        number(10),
    ]
    assert await DncEntry.filter(organization_id=tenant.organization.id).count() == 3
    added_events = await audit(gql, tenant.admin_token, filter={"action": "ADDED"})
    assert added_events["totalCount"] == 3
    bulk_events = [
        edge["node"] for edge in added_events["edges"] if edge["node"]["channel"] == "SMS"
    ]
    assert sorted((e["phoneNumber"], e["entry"]["id"]) for e in bulk_events) == [
        (number(1), first["id"]),
        (number(6), dated["id"]),
    ]
    assert {e["reason"] for e in bulk_events} == {"LEGAL_REQUEST", None}


async def test_add_many_sends_one_digest_per_admin_per_call(
    gql: GraphQLClient, tenant: Tenant, second_admin: User, smtp: SmtpSink
) -> None:
    five = [number(i) for i in range(5)]
    result = await add_many(gql, tenant.admin_token, [{"phoneNumber": n} for n in five], "EMAIL")
    assert result["added"] == 5
    nothing_new = await add_many(
        gql,
        tenant.admin_token,
        [{"phoneNumber": spelled(n)} for n in five] + [{"phoneNumber": "bad"}],
        "EMAIL",
    )
    assert (nothing_new["added"], nothing_new["alreadyOnDnc"], nothing_new["invalid"]) == (0, 5, 1)
    one = await add_many(gql, tenant.admin_token, [{"phoneNumber": number(7)}], "EMAIL")
    assert one["added"] == 1

    # Delivered oldest first: a digest for the call that added nothing would arrive before
    # the third call's, so the first four messages tell.
    received = (await smtp.wait_for(4, within=WAIT_SECONDS))[:4]
    admins = sorted([tenant.admin.email, second_admin.email])
    assert sorted(m.recipients[0] for m in received[:2]) == admins
    assert sorted(m.recipients[0] for m in received[2:]) == admins
    for message in received[:2]:
        assert re.search(r"\b5\b", str(message.message["Subject"])), message.message["Subject"]
        assert all(n in message.text() for n in five)
    for message in received[2:]:
        assert re.search(r"\b1\b", str(message.message["Subject"])), message.message["Subject"]
        assert number(7) in message.text()
    assert await EmailOutbox.all().count() == 4


async def test_add_many_refuses_more_than_ten_thousand_entries(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    given = [{"phoneNumber": number(i)} for i in range(10_000)]
    given.append({"phoneNumber": number(0, area="415")})
    result = await add_many(gql, tenant.admin_token, given, document=ADD_MANY_COUNTS)
    assert (result["success"], result["statusCode"], result["code"], result["field"]) == (
        False,
        400,
        "VALIDATION_FAILED",
        "entries",
    )
    assert (result["added"], result["items"]) == (0, [])
    assert await written() == (0, 0, 0)


async def test_add_many_takes_ten_thousand_entries_in_one_call(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    given = [{"phoneNumber": number(i)} for i in range(10_000)]
    result = await add_many(gql, tenant.admin_token, given, "IMPORT", document=ADD_MANY_COUNTS)
    assert (result["success"], result["added"], result["alreadyOnDnc"], result["invalid"]) == (
        True,
        10_000,
        0,
        0,
    )
    assert {item["status"] for item in result["items"]} == {"ADDED"}
    assert len(result["items"]) == 10_000
    assert await DncEntry.filter(status=DncEntryStatus.ACTIVE).count() == 10_000
    assert (await audit(gql, tenant.admin_token, first=1, filter={"action": "ADDED"}))[
        "totalCount"
    ] == 10_000
    # One digest for the one active admin, not 10,000 emails.
    assert await EmailOutbox.all().count() == 1


async def test_add_many_is_for_admins_only(gql: GraphQLClient, tenant: Tenant) -> None:
    variables = {"input": {"channel": "MANUAL", "entries": [{"phoneNumber": number(1)}]}}
    assert_error_code(await gql(ADD_MANY, variables, token=tenant.member_token), "FORBIDDEN")
    assert_error_code(await gql(ADD_MANY, variables), "UNAUTHENTICATED")
    assert await written() == (0, 0, 0)


# --- dncAuditLog -----------------------------------------------------------------------------


async def test_audit_log_pages_newest_first_without_gaps_or_repeats(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    # Seven events sharing one instant (one bulk call), then three more: ties break on id.
    await add_many(gql, tenant.admin_token, [{"phoneNumber": number(i)} for i in range(7)])
    await add_number(gql, tenant, tenant.calls[0].phone_number)
    await remove(gql, tenant.admin_token, number(3))
    await remove(gql, tenant.admin_token, tenant.calls[0].phone_number)

    seen: list[dict[str, Any]] = []
    after: str | None = None
    pages = 0
    while True:
        page = await audit(gql, tenant.admin_token, first=3, after=after)
        pages += 1
        assert page["totalCount"] == 10
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert [edge["cursor"] for edge in page["edges"]][-1:] == [page["pageInfo"]["endCursor"]]
        seen.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 4
    ids = [event["id"] for event in seen]
    assert len(ids) == len(set(ids)) == 10
    stored_ids = await DncEvent.filter(organization_id=tenant.organization.id).values_list(
        "id", flat=True
    )
    assert set(ids) == {str(i) for i in stored_ids}
    keys = [(moment(event["at"]), uuid.UUID(event["id"])) for event in seen]
    assert keys == sorted(keys, reverse=True)
    assert actions(seen)[:2] == ["REMOVED", "REMOVED"]


async def test_audit_log_filters(
    gql: GraphQLClient, tenant: Tenant, second_admin: User, settings: Settings
) -> None:
    second_token = token_for(second_admin, settings)
    await add_number(gql, tenant, number(1))
    result = await add_many(
        gql, second_token, [{"phoneNumber": number(2)}, {"phoneNumber": number(3)}]
    )
    assert result["added"] == 2
    await remove(gql, tenant.admin_token, number(1))

    everything = await audit_nodes(gql, tenant.admin_token)
    summary = [(e["action"], e["phoneNumber"], e["actor"]["id"]) for e in everything]
    admin, second = str(tenant.admin.id), str(second_admin.id)
    assert summary[0] == ("REMOVED", number(1), admin)
    assert sorted(summary[1:3]) == [("ADDED", number(2), second), ("ADDED", number(3), second)]
    assert summary[3:] == [("ADDED", number(1), admin)]
    added_at = moment(everything[-1]["at"])
    bulk_at = moment(everything[1]["at"])
    removed_at = moment(everything[0]["at"])
    assert added_at < bulk_at < removed_at

    def numbers(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted((e["action"], e["phoneNumber"]) for e in events)

    removed = await audit_nodes(gql, tenant.admin_token, action="REMOVED")
    assert numbers(removed) == [("REMOVED", number(1))]
    assert len(await audit_nodes(gql, tenant.admin_token, action="ADDED")) == 3
    assert await audit_nodes(gql, tenant.admin_token, action="EXPIRED") == []
    by_second = await audit_nodes(gql, tenant.admin_token, actorId=str(second_admin.id))
    assert numbers(by_second) == [("ADDED", number(2)), ("ADDED", number(3))]
    assert {e["actor"]["id"] for e in by_second} == {str(second_admin.id)}
    by_first = await audit_nodes(gql, tenant.admin_token, actorId=str(tenant.admin.id))
    assert numbers(by_first) == [("ADDED", number(1)), ("REMOVED", number(1))]
    nobody = await audit_nodes(gql, tenant.admin_token, actorId=str(uuid.uuid4()))
    assert nobody == []

    # since is inclusive, until exclusive, whatever offset the bound is written in.
    plus_two = timezone(timedelta(hours=2))
    since_bulk = await audit_nodes(gql, tenant.admin_token, since=iso(bulk_at.astimezone(plus_two)))
    assert numbers(since_bulk) == [
        ("ADDED", number(2)),
        ("ADDED", number(3)),
        ("REMOVED", number(1)),
    ]
    until_bulk = await audit_nodes(gql, tenant.admin_token, until=iso(bulk_at))
    assert numbers(until_bulk) == [("ADDED", number(1))]
    window = await audit_nodes(
        gql, tenant.admin_token, since=iso(bulk_at), until=iso(removed_at), action="ADDED"
    )
    assert numbers(window) == [("ADDED", number(2)), ("ADDED", number(3))]

    malformed = await gql(AUDIT, {"filter": {"actorId": "admin-1"}}, token=tenant.admin_token)
    assert_error_code(malformed, "BAD_USER_INPUT")


@pytest.mark.parametrize(
    "variables",
    [{"first": 0}, {"first": 501}, {"first": -1}, {"after": "not-a-cursor"}, {"after": "e30"}],
    ids=["first-0", "first-501", "first-negative", "after-garbage", "after-empty-json"],
)
async def test_audit_log_bad_arguments(
    gql: GraphQLClient, tenant: Tenant, variables: dict[str, Any]
) -> None:
    assert_error_code(await gql(AUDIT, variables, token=tenant.admin_token), "BAD_USER_INPUT")


async def test_audit_log_is_for_admins_only(gql: GraphQLClient, tenant: Tenant) -> None:
    await add_number(gql, tenant, number(1))
    assert_error_code(await gql(AUDIT, {}, token=tenant.member_token), "FORBIDDEN")
    assert_error_code(await gql(AUDIT, {}), "UNAUTHENTICATED")
    assert (await audit(gql, tenant.admin_token, first=None))["totalCount"] == 1


# --- dncHistory ------------------------------------------------------------------------------


async def test_history_of_a_number_never_listed_is_empty(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    await add_number(gql, tenant, number(1))
    assert await history(gql, tenant.member_token, number(2)) == []


@pytest.mark.parametrize("phone_number", ["", "abc", "12345"])
async def test_history_of_an_invalid_number_is_bad_user_input(
    gql: GraphQLClient, tenant: Tenant, phone_number: str
) -> None:
    response = await gql(HISTORY, {"phoneNumber": phone_number}, token=tenant.member_token)
    assert_error_code(response, "BAD_USER_INPUT")


async def test_history_needs_a_token(gql: GraphQLClient, tenant: Tenant) -> None:
    assert_error_code(await gql(HISTORY, {"phoneNumber": number(1)}), "UNAUTHENTICATED")


# --- dncEntries filters ----------------------------------------------------------------------


async def test_entries_filter_by_status_and_channel(gql: GraphQLClient, tenant: Tenant) -> None:
    active_call = await add_number(gql, tenant, number(1))
    removed_call = await add_number(gql, tenant, number(2))
    await remove(gql, tenant.admin_token, number(2))
    bulk = await add_many(gql, tenant.admin_token, [{"phoneNumber": number(3)}], channel="WEB")
    active_web = bulk["items"][0]["entry"]["id"]
    lapsed = await DncEntry.create(
        id=uuid.uuid4(),
        organization_id=tenant.organization.id,
        phone_number=number(4),
        created_at=now() - timedelta(days=2),
        requested_at=now() - timedelta(days=2),
        expires_at=now() - timedelta(days=1),
        channel=DncChannel.WEB,
        status=DncEntryStatus.ACTIVE,
    )
    expired = str(lapsed.id)

    def ids(nodes: list[dict[str, Any]]) -> set[str]:
        return {node["id"] for node in nodes}

    token = tenant.member_token
    active = {active_call, active_web}
    assert ids(await entries(gql, token)) == active
    assert ids(await entries(gql, token, {"filter": {}})) == active
    assert ids(await entries(gql, token, {"filter": {"status": "ACTIVE"}})) == active
    every = await entries(gql, token, {"filter": {"status": None}})
    assert {(n["id"], n["status"]) for n in every} == {
        (active_call, "ACTIVE"),
        (removed_call, "REMOVED"),
        (active_web, "ACTIVE"),
        (expired, "EXPIRED"),
    }
    assert ids(await entries(gql, token, {"filter": {"status": "EXPIRED"}})) == {expired}
    assert ids(await entries(gql, token, {"filter": {"status": "REMOVED"}})) == {removed_call}
    assert ids(await entries(gql, token, {"filter": {"channel": "WEB"}})) == {active_web}
    assert ids(await entries(gql, token, {"filter": {"channel": "WEB", "status": None}})) == {
        active_web,
        expired,
    }
    voice = await entries(gql, token, {"filter": {"channel": "VOICE_CALL", "status": None}})
    assert ids(voice) == {active_call, removed_call}
    assert await entries(gql, token, {"filter": {"channel": "SMS", "status": None}}) == []


# --- emails ----------------------------------------------------------------------------------


async def test_removal_emails_each_active_admin_with_the_reason(
    gql: GraphQLClient, tenant: Tenant, second_admin: User, smtp: SmtpSink
) -> None:
    phone_number = tenant.calls[0].phone_number
    await add_number(gql, tenant, phone_number)
    await smtp.wait_for(2, within=WAIT_SECONDS)
    reason = "Customer <b>x</b> consented again & asked us to call."
    assert_union(
        await remove(gql, tenant.admin_token, phone_number, reason), "RemoveFromDncSuccess"
    )
    received = (await smtp.wait_for(4, within=WAIT_SECONDS))[2:]
    assert sorted(m.recipients[0] for m in received) == sorted(
        [tenant.admin.email, second_admin.email]
    )
    for message in received:
        assert phone_number in str(message.message["Subject"])
        text = message.text()
        assert phone_number in text
        assert reason in text
        html = message.html()
        assert "<b>x</b>" not in html
        assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert await EmailOutbox.filter(dnc_entry_id__isnull=False).count() == 4


# --- tenancy ---------------------------------------------------------------------------------


async def test_another_organization_sees_nothing_of_this_list(
    gql: GraphQLClient, tenant: Tenant, other: Tenant
) -> None:
    by_call = tenant.calls[0].phone_number
    by_bulk = number(1)
    await add_number(gql, tenant, by_call)
    await add_many(gql, tenant.admin_token, [{"phoneNumber": by_bulk}])
    a_history = await history(gql, tenant.admin_token, by_call)

    foreign = await remove(gql, other.admin_token, by_call)
    missing = await remove(gql, other.admin_token, number(2))
    assert assert_union(foreign, "NotFoundError")["code"] == "ENTRY_NOT_FOUND"
    assert foreign == missing
    assert await history(gql, other.admin_token, by_call) == []
    assert await history(gql, other.member_token, by_bulk) == []
    b_log = await audit(gql, other.admin_token)
    assert (b_log["totalCount"], b_log["edges"]) == (0, [])

    result = await add_many(
        gql, other.admin_token, [{"phoneNumber": by_call}, {"phoneNumber": spelled(by_bulk)}]
    )
    assert (result["added"], result["alreadyOnDnc"]) == (2, 0)
    b_ids = {item["entry"]["id"] for item in result["items"]}
    b_rows = await DncEntry.filter(organization_id=other.organization.id)
    assert {str(row.id) for row in b_rows} == b_ids
    a_rows = await DncEntry.filter(organization_id=tenant.organization.id)
    assert {(row.phone_number, row.status) for row in a_rows} == {
        (by_call, DncEntryStatus.ACTIVE),
        (by_bulk, DncEntryStatus.ACTIVE),
    }
    assert not b_ids & {str(row.id) for row in a_rows}
    assert await history(gql, tenant.admin_token, by_call) == a_history
    b_events = await audit_nodes(gql, other.admin_token)
    assert {e["entry"]["id"] for e in b_events} == b_ids
    assert len(await audit_nodes(gql, tenant.admin_token)) == 2


# --- concurrency -----------------------------------------------------------------------------


def assert_consistent(events: list[dict[str, Any]], active_rows: int) -> None:
    """Replayed in order, the log alternates ADDED / (REMOVED | EXPIRED), entry by entry."""
    log = [(e["action"], e["at"], e["entry"]["id"][:8]) for e in events]
    current: str | None = None
    for event in events:
        if event["action"] == "ADDED":
            assert current is None, f"ADDED while {current} is listed: {log}"
            current = event["entry"]["id"]
        else:
            assert event["entry"]["id"] == current, f"{event['action']} of no listed entry: {log}"
            current = None
    assert (current is not None) == (active_rows == 1), (log, active_rows)


async def test_removal_racing_a_bulk_add_keeps_one_active_entry_and_a_consistent_log(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    phone_number = number(77)
    organization_id = tenant.organization.id

    async def put_back() -> dict[str, Any]:
        return await add_many(gql, tenant.admin_token, [{"phoneNumber": phone_number}])

    async def active_rows() -> int:
        return await DncEntry.filter(
            organization_id=organization_id,
            phone_number=phone_number,
            status=DncEntryStatus.ACTIVE,
        ).count()

    for _ in range(10):
        if not await active_rows():
            await put_back()
        removed, added = await asyncio.gather(
            remove(gql, tenant.admin_token, phone_number), put_back()
        )
        assert removed["__typename"] == "RemoveFromDncSuccess"
        assert added["added"] + added["alreadyOnDnc"] == 1, added
        assert await active_rows() <= 1
    events = await history(gql, tenant.admin_token, phone_number)
    assert_consistent(events, await active_rows())
    rows = await stored(phone_number, organization_id)
    assert actions(events).count("ADDED") == len(rows)
    assert actions(events).count("REMOVED") == 10
    assert [r.status for r in rows].count(DncEntryStatus.REMOVED) == 10


async def test_an_add_that_overlaps_a_removal_is_logged_after_it(
    gql: GraphQLClient, tenant: Tenant, database_url: str, dialect: str
) -> None:
    phone_number = number(78)
    old_id = await add_number(gql, tenant, phone_number)
    again = add_input(tenant, tenant.calls[1], phoneNumber=phone_number)
    if dialect == "sqlite":
        # One event loop, one connection: this interleaving is the one the two requests take.
        removed, added = await asyncio.gather(
            remove(gql, tenant.admin_token, phone_number), add(gql, tenant.admin_token, again)
        )
    else:
        # Hold the add on its call-record lookup (it has read the clock by then) while the
        # removal runs to its commit; the removal never reads call records.
        blocker = await asyncpg.connect(database_url)
        try:
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("LOCK TABLE call_record IN ACCESS EXCLUSIVE MODE")
            adding = asyncio.create_task(add(gql, tenant.admin_token, again))
            deadline = time.monotonic() + WAIT_SECONDS
            while not await blocker.fetchval(LOCK_WAITERS, "call_record"):
                assert time.monotonic() < deadline, "the add never reached the call records"
                await asyncio.sleep(0.01)
            removed = await remove(gql, tenant.admin_token, phone_number)
            await lock.rollback()
            added = await adding
        finally:
            await blocker.close()
    assert removed["__typename"] == "RemoveFromDncSuccess"
    new = assert_union(added, "AddToDncSuccess")["entry"]
    events = await history(gql, tenant.admin_token, phone_number)
    assert [(e["action"], e["entry"]["id"]) for e in events] == [
        ("ADDED", old_id),
        ("REMOVED", old_id),
        ("ADDED", new["id"]),
    ]
    assert moment(new["createdAt"]) >= moment(removed["entry"]["removedAt"])


async def test_overlapping_bulk_adds_add_each_number_once(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    low = [{"phoneNumber": number(i)} for i in range(200)]
    high = [{"phoneNumber": number(i)} for i in range(100, 300)]
    first, second = await asyncio.gather(
        add_many(gql, tenant.admin_token, low, document=ADD_MANY_COUNTS),
        add_many(gql, tenant.admin_token, high, document=ADD_MANY_COUNTS),
    )
    assert (first["success"], second["success"]) == (True, True), (first, second)
    assert first["added"] + second["added"] == 300
    assert first["alreadyOnDnc"] + second["alreadyOnDnc"] == 100
    phone_numbers = await DncEntry.filter(organization_id=tenant.organization.id).values_list(
        "phone_number", flat=True
    )
    assert sorted(phone_numbers) == [number(i) for i in range(300)]
    assert await DncEntry.filter(status=DncEntryStatus.ACTIVE).count() == 300
    assert await DncEvent.filter(action=DncAction.ADDED).count() == 300
    assert await DncEvent.all().count() == 300


async def test_twenty_concurrent_removals_of_one_number(gql: GraphQLClient, tenant: Tenant) -> None:
    phone_number = tenant.calls[0].phone_number
    entry_id = await add_number(gql, tenant, phone_number)
    results = await asyncio.gather(
        *(remove(gql, tenant.admin_token, phone_number, f"Attempt {i}") for i in range(20))
    )
    kinds = sorted(result["__typename"] for result in results)
    assert kinds == ["NotFoundError"] * 19 + ["RemoveFromDncSuccess"]
    assert {r["code"] for r in results if r["__typename"] == "NotFoundError"} == {"ENTRY_NOT_FOUND"}
    winner = next(r for r in results if r["__typename"] == "RemoveFromDncSuccess")
    assert winner["entry"]["id"] == entry_id
    removed = await DncEvent.filter(entry_id=entry_id, action=DncAction.REMOVED)
    assert [event.reason for event in removed] == [winner["entry"]["removalReason"]]
    (row,) = await stored(phone_number, tenant.organization.id)
    assert row.removal_reason == winner["entry"]["removalReason"]
    # One removal email for the one active admin, on top of the addition's.
    assert await EmailOutbox.filter(dnc_entry_id=row.id).count() == 2


async def test_an_out_of_range_instant_makes_only_its_item_invalid(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    result = await add_many(
        gql,
        tenant.admin_token,
        [
            {"phoneNumber": number(901), "expiresAt": "9999-12-31T23:00:00-10:00"},
            {"phoneNumber": number(902), "requestedAt": "0001-01-01T00:00:00+05:00"},
            {"phoneNumber": number(903)},
        ],
    )
    assert [item["status"] for item in result["items"]] == ["INVALID", "INVALID", "ADDED"]
    assert (result["added"], result["invalid"]) == (1, 2)


async def test_bulk_adds_of_the_same_numbers_in_other_orders_do_not_deadlock(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """PostgreSQL would deadlock two inserts taking the unique index's locks in other orders."""
    numbers = [number(1000 + i) for i in range(600)]
    orders = [numbers, numbers[::-1], numbers[1::2] + numbers[::2]]
    results = await asyncio.gather(
        *(
            add_many(gql, tenant.admin_token, [{"phoneNumber": n} for n in order])
            for order in orders
        )
    )
    assert sum(result["added"] for result in results) == len(numbers)
    assert all(result["success"] for result in results)
    assert await DncEntry.filter(status="ACTIVE").count() == len(numbers)
