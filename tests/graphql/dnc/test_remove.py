"""removeFromDnc over HTTP: a soft removal by any spelling of the number, with a required
reason, for admins only; what is not on this list is one not-found; a removed number stops
blocking and can be added again; the admins are emailed; removals racing adds keep one ACTIVE
entry and a log that replays in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from api.instants import utcnow
from models import DncAction, DncEntry, DncEntryStatus, DncEvent, EmailOutbox, User
from tests.graphql.dnc.results import (
    WAIT_SECONDS,
    actions,
    add,
    add_many,
    add_number,
    blocked,
    entry_nodes,
    entry_of,
    history,
    moment,
    remove,
    written,
)
from tests.support.client import GraphQLClient, assert_error_code, assert_union
from tests.support.entries import lapsed_entry, number, spelled, stored
from tests.support.factories import Tenant, add_input
from tests.support.operations import REMOVE
from tests.support.smtp import SmtpSink

# The removal's answer without the entry's batch or call record: the test holds call_record
# locked while the removal runs, and a removal that read it would wait for that lock too.
REMOVE_WITHOUT_CALL_RECORD = """
mutation Remove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on RemoveFromDncSuccess { entry { id status removedAt } }
  }
}
"""

LOCK_WAITERS = """
SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation
WHERE pg_class.relname = $1 AND NOT pg_locks.granted
"""


@pytest.mark.parametrize(
    "spelling",
    [lambda n: n, spelled, lambda n: "00" + n[1:], lambda n: n[1:]],
    ids=["e164", "formatted", "00-prefix", "no-plus"],
)
async def test_remove(gql: GraphQLClient, tenant: Tenant, spelling: Callable[[str], str]) -> None:
    phone_number = tenant.calls[0].phone_number
    entry_id = await add_number(gql, tenant, phone_number)
    before = utcnow()
    result = await remove(gql, tenant.admin_token, spelling(phone_number), "Opted back in.")
    after = utcnow()
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
    removed = await entry_nodes(gql, tenant.admin_token, filter={"status": "REMOVED"})
    assert [(n["id"], n["status"]) for n in removed] == [(entry_id, "REMOVED")]
    assert await entry_nodes(gql, tenant.admin_token) == []


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
    await lapsed_entry(tenant, lapsed)
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
            remove(gql, tenant.admin_token, phone_number, document=REMOVE_WITHOUT_CALL_RECORD),
            add(gql, tenant.admin_token, again),
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
            removed = await remove(
                gql, tenant.admin_token, phone_number, document=REMOVE_WITHOUT_CALL_RECORD
            )
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
