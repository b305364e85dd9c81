"""Entries that expire, over HTTP: expiresAt must be in the future; an entry stops blocking the
moment its time passes (read as EXPIRED before the sweep stores it), its EXPIRED event dated
then and recorded once; the number can be added again."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.instants import utcnow
from models import DncAction, DncChannel, DncEntryStatus, DncEvent
from tests.graphql.dnc.results import (
    WAIT_SECONDS,
    actions,
    add,
    add_many,
    add_number,
    audit_nodes,
    blocked,
    entry_nodes,
    entry_of,
    history,
    iso,
    moment,
    written,
)
from tests.support.client import GraphQLClient, assert_union
from tests.support.entries import make_entry, number, stored
from tests.support.factories import Tenant, add_input


async def wait_until_unblocked(gql: GraphQLClient, token: str, phone_number: str) -> None:
    """Poll dncCheck until the number no longer blocks; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while await blocked(gql, token, [phone_number]):
        assert time.monotonic() < deadline, f"{phone_number} still blocked"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(0)], ids=["past", "now"])
async def test_expires_at_not_in_the_future_is_refused(
    gql: GraphQLClient, tenant: Tenant, offset: timedelta
) -> None:
    result = await add(gql, tenant.admin_token, add_input(tenant, expiresAt=iso(utcnow() + offset)))
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


@pytest.mark.parametrize("via", ["addToDnc", "addManyToDnc"])
async def test_entry_expires_when_its_time_passes(
    gql: GraphQLClient, tenant: Tenant, via: str
) -> None:
    phone_number = tenant.calls[0].phone_number
    expires_at = utcnow() + timedelta(seconds=1.5)
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
    assert utcnow() >= expires_at
    assert await entry_of(gql, tenant.member_token, phone_number) is None
    expired = await entry_nodes(gql, tenant.admin_token, filter={"status": "EXPIRED"})
    assert [(n["id"], n["status"]) for n in expired] == [(first_id, "EXPIRED")]
    assert await entry_nodes(gql, tenant.admin_token) == []

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
    expires_at = utcnow() - timedelta(hours=1, microseconds=123)
    row = await make_entry(
        tenant.organization.id,
        phone_number,
        created_at=expires_at - timedelta(days=30),
        expires_at=expires_at,
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
