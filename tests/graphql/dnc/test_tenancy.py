"""Each organization's list is its own: another organization's users see none of it through
any DNC operation (pages, filters, dncEntry, dncCheck, history, the log), cannot remove from
it, and adding the same numbers makes entries of their own."""

from __future__ import annotations

from api.settings import Settings
from models import DncEntry, DncEntryStatus
from tests.graphql.dnc.results import (
    add_many,
    add_number,
    audit,
    audit_nodes,
    check,
    history,
    ids_of,
    list_entries,
    remove,
)
from tests.support.client import GraphQLClient, assert_union
from tests.support.entries import add_entries, number, spelled
from tests.support.factories import Tenant, make_call, make_tenant
from tests.support.operations import ENTRY


async def test_another_organization_sees_none_of_the_list(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await make_tenant(settings, name="Org A")
    stranger = await make_tenant(settings, name="Org B")
    numbers = ["+12125550100", "+442079460958"]
    await add_entries(owner, 2, numbers=numbers, batch=owner.batch)
    mine = await add_entries(stranger, 1, numbers=["+13125550123"])

    listed = await list_entries(gql, stranger.member_token)
    filtered = await list_entries(
        gql, stranger.admin_token, filter={"phoneNumberContains": "2125550100"}
    )
    entry = await gql(ENTRY, {"phoneNumber": numbers[0]}, token=stranger.admin_token)
    checked = await check(gql, stranger.member_token, [*numbers, "+13125550123"])
    owner_view = await list_entries(gql, owner.member_token)

    assert ids_of(listed) == [str(mine[0].id)]
    assert listed["totalCount"] == 1
    assert filtered["totalCount"] == 0
    assert filtered["edges"] == []
    assert entry.data == {"dncEntry": None}
    assert checked == {"blocked": ["+13125550123"], "invalid": [], "checked": 3}
    assert owner_view["totalCount"] == 2


async def test_another_organizations_user_with_no_entries_sees_total_count_0(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await make_tenant(settings, name="Org A")
    stranger = await make_tenant(settings, name="Org B")
    await add_entries(owner, 3, batch=owner.batch)
    call = await make_call(owner.batch)
    await add_entries(owner, 1, numbers=[call.phone_number])

    page = await list_entries(gql, stranger.member_token)
    checked = await check(gql, stranger.member_token, [call.phone_number])

    assert page["totalCount"] == 0
    assert page["edges"] == []
    assert checked["blocked"] == []


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
