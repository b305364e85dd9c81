"""dncEntries' filter over HTTP: reason, batch, createdAfter/createdBefore (strict, any
offset), phoneNumberContains, status and channel; all must hold; a bad value is refused."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest

from api.settings import Settings
from models import DncChannel, DncReason
from tests.graphql.dnc.results import (
    add_many,
    add_number,
    assert_bad_user_input,
    entry_nodes,
    ids_of,
    list_entries,
    remove,
    walk,
)
from tests.support.client import GraphQLClient
from tests.support.entries import START_AT, add_entries, lapsed_entry, newest_first, number
from tests.support.factories import Tenant, make_batch, make_tenant
from tests.support.operations import ENTRIES


async def filtered_ids(gql: GraphQLClient, tenant: Tenant, filter: dict[str, Any]) -> list[str]:
    return [node["id"] for node in await entry_nodes(gql, tenant.member_token, filter=filter)]


async def test_filter_by_reason(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    complaints = await add_entries(tenant, 3, reason=DncReason.COMPLAINT)
    await add_entries(tenant, 2, reason=DncReason.WRONG_NUMBER, start=START_AT + timedelta(hours=1))
    await add_entries(tenant, 2, reason=None, start=START_AT + timedelta(hours=2))

    page = await list_entries(gql, tenant.member_token, first=2, filter={"reason": "COMPLAINT"})

    assert ids_of(page) == newest_first(complaints)[:2]
    assert page["totalCount"] == 3  # the filter's count, not the page's
    assert {edge["node"]["reason"] for edge in page["edges"]} == {"COMPLAINT"}
    assert await filtered_ids(gql, tenant, {"reason": "LEGAL_REQUEST"}) == []


async def test_filter_by_own_batch(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    other_batch = await make_batch(tenant.organization, tenant.admin, name="Spring campaign")
    in_first = await add_entries(tenant, 3, batch=tenant.batch)
    in_other = await add_entries(tenant, 2, batch=other_batch, start=START_AT + timedelta(hours=1))
    await add_entries(tenant, 2, batch=None, start=START_AT + timedelta(hours=2))

    assert await filtered_ids(gql, tenant, {"batchId": str(tenant.batch.id)}) == newest_first(
        in_first
    )
    assert await filtered_ids(gql, tenant, {"batchId": str(other_batch.id)}) == newest_first(
        in_other
    )


async def test_filter_by_another_organizations_batch_is_an_empty_page(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    other = await make_tenant(settings, name="Other Org")
    await add_entries(tenant, 2, batch=tenant.batch)
    await add_entries(other, 2, batch=other.batch)

    page = await list_entries(gql, tenant.member_token, filter={"batchId": str(other.batch.id)})

    assert page["edges"] == []
    assert page["totalCount"] == 0
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("batch_id", ["not-a-uuid", "12345", "0" * 33, ""])
async def test_filter_by_malformed_batch_id_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, batch_id: str
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 1, batch=tenant.batch)

    response = await gql(ENTRIES, {"filter": {"batchId": batch_id}}, token=tenant.member_token)

    assert_bad_user_input(response)


async def test_filter_by_created_after_and_before_is_strict(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 5, step=timedelta(minutes=10))
    at = [row.created_at for row in entries]
    ids = [str(row.id) for row in entries]

    after = await filtered_ids(gql, tenant, {"createdAfter": at[1].isoformat()})
    before = await filtered_ids(gql, tenant, {"createdBefore": at[3].isoformat()})
    between = await filtered_ids(
        gql, tenant, {"createdAfter": at[1].isoformat(), "createdBefore": at[3].isoformat()}
    )

    assert after == [ids[4], ids[3], ids[2]]
    assert before == [ids[2], ids[1], ids[0]]
    assert between == [ids[2]]
    assert await filtered_ids(gql, tenant, {"createdAfter": at[4].isoformat()}) == []


async def test_created_bounds_with_another_utc_offset_mean_the_same_instant(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 5, step=timedelta(minutes=10))
    ids = [str(row.id) for row in entries]
    plus_five = timezone(timedelta(hours=5))
    minus_eight = timezone(timedelta(hours=-8))

    after = entries[1].created_at.astimezone(plus_five).isoformat()
    before = entries[3].created_at.astimezone(minus_eight).isoformat()

    assert await filtered_ids(gql, tenant, {"createdAfter": after}) == [ids[4], ids[3], ids[2]]
    assert await filtered_ids(gql, tenant, {"createdBefore": before}) == [ids[2], ids[1], ids[0]]


@pytest.mark.parametrize("bound", ["createdAfter", "createdBefore"])
async def test_created_bound_without_offset_is_utc(
    gql: GraphQLClient, settings: Settings, bound: str
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 3, step=timedelta(minutes=10))
    naive = entries[1].created_at.replace(tzinfo=None).isoformat()

    response = await gql(ENTRIES, {"filter": {bound: naive}}, token=tenant.member_token)

    expected = entries[2:] if bound == "createdAfter" else entries[:1]
    assert ids_of(response.data["dncEntries"]) == newest_first(expected)


PHONE_NUMBERS = ["+12125550100", "+12125550199", "+13125550123", "+442079460958", "+33142685300"]


@pytest.mark.parametrize(
    ("contains", "expected"),
    [
        pytest.param("555-01", ["+12125550100", "+12125550199", "+13125550123"], id="dashes"),
        pytest.param("55501", ["+12125550100", "+12125550199", "+13125550123"], id="digits"),
        pytest.param("0958", ["+442079460958"], id="at-the-end"),
        pytest.param("+44", ["+442079460958"], id="country-code"),
        pytest.param("(212) 555", ["+12125550100", "+12125550199"], id="parentheses"),
        pytest.param("2125550100", ["+12125550100"], id="whole-national-number"),
        pytest.param("+1 212 555 0100", ["+12125550100"], id="whole-number-spaced"),
        pytest.param("0", PHONE_NUMBERS, id="one-digit"),
        pytest.param("999999", [], id="no-match"),
    ],
)
async def test_filter_by_phone_number_contains_matches_digits_anywhere(
    gql: GraphQLClient, settings: Settings, contains: str, expected: list[str]
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, len(PHONE_NUMBERS), numbers=PHONE_NUMBERS)

    page = await list_entries(
        gql, tenant.member_token, first=500, filter={"phoneNumberContains": contains}
    )

    assert sorted(edge["node"]["phoneNumber"] for edge in page["edges"]) == sorted(expected)
    assert page["totalCount"] == len(expected)


# "\u0665" is the Arabic-Indic five: a digit to Python, but not one of E.164's ASCII digits.
@pytest.mark.parametrize("contains", ["abc", "---", "+", "()", "\u0665\u0665\u0665", "", "1" * 16])
async def test_filter_by_phone_number_contains_without_digits_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, contains: str
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 2, numbers=PHONE_NUMBERS[:2])

    response = await gql(
        ENTRIES, {"filter": {"phoneNumberContains": contains}}, token=tenant.member_token
    )

    assert_bad_user_input(response)


async def test_combined_filters_must_all_hold(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    other_batch = await make_batch(tenant.organization, tenant.admin, name="Other")
    hour = timedelta(hours=1)
    wanted = await add_entries(
        tenant,
        2,
        reason=DncReason.COMPLAINT,
        batch=tenant.batch,
        start=START_AT + 2 * hour,
        numbers=["+12125550100", "+12125550101"],
    )
    # Each decoy misses exactly one condition.
    decoys = [
        (DncReason.OTHER, tenant.batch, START_AT + 2 * hour, "+12125550102"),  # wrong reason
        (DncReason.COMPLAINT, other_batch, START_AT + 2 * hour, "+12125550103"),  # wrong batch
        (DncReason.COMPLAINT, tenant.batch, START_AT, "+12125550104"),  # too early
        (DncReason.COMPLAINT, tenant.batch, START_AT + 4 * hour, "+12125550105"),  # too late
        (DncReason.COMPLAINT, tenant.batch, START_AT + 2 * hour, "+13125550106"),  # other digits
    ]
    for reason, batch, start, phone_number in decoys:
        await add_entries(
            tenant, 1, reason=reason, batch=batch, start=start, numbers=[phone_number]
        )

    ids = await filtered_ids(
        gql,
        tenant,
        {
            "reason": "COMPLAINT",
            "batchId": str(tenant.batch.id),
            "createdAfter": (START_AT + hour).isoformat(),
            "createdBefore": (START_AT + 3 * hour).isoformat(),
            "phoneNumberContains": "212-555",
        },
    )

    assert ids == newest_first(wanted)


async def test_walking_a_filtered_list(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    complaints = await add_entries(tenant, 11, reason=DncReason.COMPLAINT, step=timedelta(0))
    await add_entries(tenant, 9, reason=DncReason.OTHER, step=timedelta(0))

    pages = await walk(gql, tenant.member_token, first=4, filter={"reason": "COMPLAINT"})

    assert [entry_id for page in pages for entry_id in ids_of(page)] == newest_first(complaints)
    assert {page["totalCount"] for page in pages} == {11}


@pytest.mark.parametrize("bound", ["createdAfter", "createdBefore"])
async def test_an_instant_out_of_range_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, bound: str
) -> None:
    tenant = await make_tenant(settings)

    response = await gql(
        ENTRIES, {"filter": {bound: "0001-01-01T00:00:00+01:00"}}, token=tenant.member_token
    )

    assert_bad_user_input(response)


async def test_entries_filter_by_status_and_channel(gql: GraphQLClient, tenant: Tenant) -> None:
    """No status means ACTIVE (an entry whose expiry passed is EXPIRED); null means all."""
    active_call = await add_number(gql, tenant, number(1))
    removed_call = await add_number(gql, tenant, number(2))
    await remove(gql, tenant.admin_token, number(2))
    bulk = await add_many(gql, tenant.admin_token, [{"phoneNumber": number(3)}], channel="WEB")
    active_web = bulk["items"][0]["entry"]["id"]
    lapsed = await lapsed_entry(tenant, number(4), DncChannel.WEB)
    expired = str(lapsed.id)

    def ids(nodes: list[dict[str, Any]]) -> set[str]:
        return {node["id"] for node in nodes}

    token = tenant.member_token
    active = {active_call, active_web}
    assert ids(await entry_nodes(gql, token)) == active
    assert ids(await entry_nodes(gql, token, filter={})) == active
    assert ids(await entry_nodes(gql, token, filter={"status": "ACTIVE"})) == active
    every = await entry_nodes(gql, token, filter={"status": None})
    assert {(n["id"], n["status"]) for n in every} == {
        (active_call, "ACTIVE"),
        (removed_call, "REMOVED"),
        (active_web, "ACTIVE"),
        (expired, "EXPIRED"),
    }
    assert ids(await entry_nodes(gql, token, filter={"status": "EXPIRED"})) == {expired}
    assert ids(await entry_nodes(gql, token, filter={"status": "REMOVED"})) == {removed_call}
    assert ids(await entry_nodes(gql, token, filter={"channel": "WEB"})) == {active_web}
    assert ids(await entry_nodes(gql, token, filter={"channel": "WEB", "status": None})) == {
        active_web,
        expired,
    }
    voice = await entry_nodes(gql, token, filter={"channel": "VOICE_CALL", "status": None})
    assert ids(voice) == {active_call, removed_call}
    assert await entry_nodes(gql, token, filter={"channel": "SMS", "status": None}) == []
