"""addManyToDnc over HTTP: an answer per entry in input order (added, already on the list,
invalid), one digest per admin per call, 10,000 entries at most, for admins only; overlapping
bulk adds add each number once and do not deadlock."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from api.instants import utcnow
from models import DncAction, DncEntry, DncEntryStatus, DncEvent, EmailOutbox, User
from tests.graphql.dnc.results import (
    WAIT_SECONDS,
    add_many,
    add_number,
    audit,
    blocked,
    entry_of,
    iso,
    moment,
    written,
)
from tests.support.client import GraphQLClient, assert_error_code
from tests.support.entries import number, spelled
from tests.support.factories import Tenant
from tests.support.operations import ADD_MANY, ENTRY_FIELDS
from tests.support.smtp import SmtpSink

# Each item's whole entry, to compare with what dncEntry reads back.
ADD_MANY_WITH_ENTRIES = (
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

# The counts and each item's status alone: 10,000 whole entries would only slow the test.
ADD_MANY_COUNTS = """
mutation AddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    success statusCode code field added alreadyOnDnc invalid
    items { status }
  }
}
"""


async def test_add_many_answers_each_entry_in_input_order(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    existing_number = number(10)
    existing_id = await add_number(gql, tenant, existing_number)
    requested_at = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    later = iso(utcnow() + timedelta(days=365))
    given = [
        {"phoneNumber": spelled(number(1)), "reason": "LEGAL_REQUEST", "note": "By letter."},
        {"phoneNumber": "00" + number(1)[1:]},
        {"phoneNumber": existing_number[1:]},
        {"phoneNumber": spelled(existing_number)},
        {"phoneNumber": "12345"},
        {"phoneNumber": number(3), "note": "n" * 2001},
        {"phoneNumber": number(4), "expiresAt": iso(utcnow() - timedelta(minutes=1))},
        {"phoneNumber": number(5), "requestedAt": iso(utcnow() + timedelta(hours=1))},
        {"phoneNumber": number(6), "requestedAt": iso(requested_at), "expiresAt": later},
    ]
    before = utcnow()
    result = await add_many(
        gql, tenant.admin_token, given, channel="SMS", document=ADD_MANY_WITH_ENTRIES
    )
    after = utcnow()
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
    assert first["addedBy"] == {
        "id": str(tenant.admin.id),
        "email": tenant.admin.email,
        "name": tenant.admin.name,
        "role": "ADMIN",
        "active": True,
    }
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


# --- concurrency -----------------------------------------------------------------------------


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
